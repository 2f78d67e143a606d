// Servers: filters in the URL, keyset pages of 50 (a page costs the same with 10,000 servers),
// live state from the event stream, several selected for a bulk action with a stagger, and
// creation from a blueprint that shows where the server was placed.
import {useMemo, useState} from 'preact/hooks';
import {useLocation} from 'preact-iso';
import {api, listAll, listPage} from '../api/client';
import {useJobStream} from '../api/jobs';
import {liveServers} from '../api/live';
import {useResource} from '../api/resource';
import type {Blueprint, CreateServerResponse, Host, JobRefs, Server} from '../api/types';
import {Badge, Confirm, ErrorBox, Field, ListView, PageHeader, useAction, valueOf} from '../components/ui';
import {usePaging} from './paging';

const states = ['running', 'starting', 'stopped', 'stopping', 'crashed', 'crash_loop', 'hung', 'missing'];

// The server as loaded, or as the live stream last told.
export function live(server: Server): Server {
  const newer = server.id ? liveServers.value.get(server.id) : undefined;
  return newer && (newer.statusAt ?? '') >= (server.statusAt ?? '') ? {...server, ...newer} : server;
}

export function useNames<T extends {id?: string; name?: string}>(path: string, key: string) {
  const all = useResource(() => listAll<T>(path, key), [path], [key as 'hosts' | 'blueprints']);
  return useMemo(() => {
    const names = new Map<string, string>();
    for (const item of all.data ?? []) if (item.id) names.set(item.id, item.name ?? item.id);
    return {list: all.data ?? [], names};
  }, [all.data]);
}

export function ServersPage() {
  const {query} = useLocation();
  const paging = usePaging();
  const filters = {actual_state: query.actual_state, host_id: query.host_id, blueprint_id: query.blueprint_id, q: query.q};
  const servers = useResource((signal) => listPage<Server>('/servers', 'servers', {...filters, limit: '50', page_token: paging.token}, signal),
                              [JSON.stringify(filters), paging.token], ['servers']);
  const hosts = useNames<Host>('/hosts', 'hosts');
  const blueprints = useNames<Blueprint>('/blueprints', 'blueprints');
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [creating, setCreating] = useState(false);
  const [search, setSearch] = useState(query.q ?? '');
  const rows = (servers.data?.items ?? []).map(live);
  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  return (
    <section>
      <PageHeader title="Servers">
        <button type="button" onClick={() => setCreating(!creating)} aria-expanded={creating}>New server</button>
      </PageHeader>
      {creating && <CreateServer blueprints={blueprints.list} />}
      <form class="filters" role="search" onSubmit={(event) => {
        event.preventDefault();
        paging.filter({q: search});
      }}>
        <Field label="Name starts with">
          <input type="search" name="q" value={search} onInput={(event) => setSearch(valueOf(event))} />
        </Field>
        <Field label="State">
          <select name="actual_state" value={query.actual_state ?? ''} onChange={(event) => paging.filter({actual_state: valueOf(event)})}>
            <option value="">any</option>
            {states.map((state) => <option value={state}>{state.replace('_', ' ')}</option>)}
          </select>
        </Field>
        <Field label="Host">
          <select name="host_id" value={query.host_id ?? ''} onChange={(event) => paging.filter({host_id: valueOf(event)})}>
            <option value="">any</option>
            {hosts.list.map((host) => <option value={host.id}>{host.name}</option>)}
          </select>
        </Field>
        <Field label="Blueprint">
          <select name="blueprint_id" value={query.blueprint_id ?? ''} onChange={(event) => paging.filter({blueprint_id: valueOf(event)})}>
            <option value="">any</option>
            {blueprints.list.map((blueprint) => <option value={blueprint.id}>{blueprint.name}</option>)}
          </select>
        </Field>
        <button type="submit" class="secondary">Search</button>
      </form>
      <BulkBar selected={selected} onDone={() => setSelected(new Set())} />
      {/* The rows are the page's items as the live updates have them (`rows`). */}
      <ListView list={servers} what="servers" empty={<>No servers match. {!query.q && !query.actual_state && !query.host_id && !query.blueprint_id && 'Create one from a blueprint with “New server”.'}</>} paging={paging}>{() => (
        <div class="table-wrap">
          <table class="servers">
            <thead><tr>
              <th><input type="checkbox" aria-label="Select every server on this page"
                         checked={rows.length > 0 && rows.every((server) => selected.has(server.id ?? ''))}
                         onChange={(event) => setSelected(event.currentTarget.checked ? new Set(rows.map((server) => server.id ?? '')) : new Set())} /></th>
              <th>Name</th><th>State</th><th>Map</th><th>Players</th><th>Host:port</th><th>Blueprint</th>
            </tr></thead>
            <tbody>
              {rows.map((server) => {
                const game = server.status?.game;
                return (
                  <tr key={server.id}>
                    <td><input type="checkbox" aria-label={`Select ${server.name}`} checked={selected.has(server.id ?? '')}
                               onChange={() => toggle(server.id ?? '')} /></td>
                    <td><a href={`/servers/${server.id}`}>{server.name}</a></td>
                    <td><Badge state={server.actualState || (server.hostId ? 'unknown' : 'unplaced')} />
                      {server.desiredState && server.desiredState !== server.actualState && server.actualState !== 'crash_loop' &&
                        <span class="muted"> → {server.desiredState}</span>}</td>
                    <td>{game?.map ?? ''}</td>
                    <td>{game ? `${game.players ?? 0}/${game.maxPlayers ?? 0}` : ''}</td>
                    <td>{server.hostId ? <><a href={`/hosts/${server.hostId}`}>{hosts.names.get(server.hostId) ?? server.hostId}</a>:{server.port}</> : <span class="muted">not placed</span>}</td>
                    <td><a href={`/blueprints/${server.blueprintId}`}>{blueprints.names.get(server.blueprintId ?? '') ?? server.blueprintId}</a></td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}</ListView>
    </section>
  );
}

function BulkBar({selected, onDone}: {selected: Set<string>; onDone: () => void}) {
  const [stagger, setStagger] = useState('5');
  const [confirm, setConfirm] = useState<string>();
  const [queued, setQueued] = useState<number>();
  const bulk = useAction(async (action: string) => {
    const refs = await api<JobRefs>('/servers/bulk', {body: {action, serverIds: [...selected], stagger: `${Number(stagger) || 0}s`}});
    setQueued(refs.jobIds?.length ?? 0);
    onDone();
  });
  if (!selected.size) {
    return queued !== undefined ? <p class="ok" role="status">{queued} {queued === 1 ? 'job' : 'jobs'} queued. <a href="/jobs">Follow {queued === 1 ? 'it' : 'them'}</a>.</p> : null;
  }
  return (
    <div class="bulk" role="region" aria-label="Bulk actions">
      <span>{selected.size} selected</span>
      <Field label="Stagger (seconds)">
        <input type="number" min={0} max={3600} value={stagger} onInput={(event) => setStagger(valueOf(event))} />
      </Field>
      <button type="button" onClick={() => bulk.go('start')} disabled={bulk.busy}>Start</button>
      <button type="button" class="secondary" onClick={() => setConfirm('stop')} disabled={bulk.busy}>Stop</button>
      <button type="button" class="secondary" onClick={() => setConfirm('restart')} disabled={bulk.busy}>Restart</button>
      <ErrorBox error={bulk.error} />
      <Confirm open={!!confirm} title={`${confirm === 'stop' ? 'Stop' : 'Restart'} ${selected.size} servers?`}
               action={confirm === 'stop' ? 'Stop them' : 'Restart them'} onCancel={() => setConfirm(undefined)}
               onConfirm={() => {
                 const action = confirm!;
                 setConfirm(undefined);
                 bulk.go(action);
               }}>
        <p>Players on them are disconnected. Each starts {stagger || 0} s after the one before.</p>
      </Confirm>
    </div>
  );
}

function CreateServer({blueprints}: {blueprints: Blueprint[]}) {
  const [name, setName] = useState('');
  const [blueprintId, setBlueprintId] = useState('');
  const [start, setStart] = useState(true);
  const [created, setCreated] = useState<CreateServerResponse>();
  const follow = useJobStream(created?.jobId);
  const create = useAction(async () => {
    setCreated(await api<CreateServerResponse>('/servers', {
      body: {name, blueprintId: blueprintId || blueprints[0]?.id, desiredState: start ? 'running' : 'stopped'}}));
  });
  if (!blueprints.length) {
    return <div class="card"><p>A server is made from a blueprint. <a href="/blueprints/new">Create a blueprint</a> first.</p></div>;
  }
  const placed = follow.events.filter((event) => event.kind === 'step' && String(event.data).startsWith('placed on')).pop();
  return (
    <div class="card">
      {created ? (
        <div role="status" aria-live="polite">
          <p>Server <a href={`/servers/${created.server?.id}`}>{created.server?.name}</a> created.</p>
          <p>{placed ? `It was ${String(placed.data)}.` : follow.done ? '' : 'Placing it on a host…'}</p>
          {follow.done && <p class={follow.job?.state === 'succeeded' ? 'ok' : 'error'}>
            {follow.job?.state === 'succeeded' ? (start ? 'It is starting.' : 'It is ready.') : `The job ${follow.job?.state}: ${follow.job?.error?.message ?? ''}`}
          </p>}
          <button type="button" class="secondary" onClick={() => {
            setCreated(undefined);
            setName('');
          }}>Create another</button>
        </div>
      ) : (
        <form class="inline-form" onSubmit={(event) => {
          event.preventDefault();
          create.go();
        }}>
          <Field label="Name" error={create.error?.field === 'name' ? create.error.message : undefined}>
            <input name="server-name" required value={name} onInput={(event) => setName(valueOf(event))} placeholder="vs1" />
          </Field>
          <Field label="Blueprint">
            <select name="server-blueprint" value={blueprintId} onChange={(event) => setBlueprintId(valueOf(event))}>
              {blueprints.map((blueprint) => <option value={blueprint.id}>{blueprint.name}</option>)}
            </select>
          </Field>
          <label class="check"><input type="checkbox" checked={start} onChange={(event) => setStart(event.currentTarget.checked)} /> Start it</label>
          <button type="submit" disabled={create.busy}>Create server</button>
          {create.error && create.error.field !== 'name' && <ErrorBox error={create.error} />}
        </form>
      )}
    </div>
  );
}
