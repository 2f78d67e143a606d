// Blueprints: the list, and an editor with the API's validation messages beside the fields,
// YAML import and export (the file of `l4d2ctl blueprints apply/export`, read and written by
// the controller), and the servers that use it.
import {useEffect, useState} from 'preact/hooks';
import {useLocation, useRoute} from 'preact-iso';
import {api, listAll, listPage} from '../api/client';
import {useResource} from '../api/resource';
import type {Blueprint, BlueprintInput, InstanceSpec, Overlay, Server} from '../api/types';
import {Badge, Confirm, CopyButton, ErrorBox, Field, ListView, Loading, PageHeader, useAction, valueOf} from '../components/ui';
import {usePaging} from './paging';

export function BlueprintsPage() {
  const {query} = useLocation();
  const paging = usePaging();
  const list = useResource((signal) => listPage<Blueprint>('/blueprints', 'blueprints', {q: query.q, limit: '50', page_token: paging.token}, signal),
                           [query.q, paging.token], ['blueprints']);
  const [importing, setImporting] = useState(false);
  return (
    <section>
      <PageHeader title="Blueprints">
        <button type="button" class="secondary" onClick={() => setImporting(!importing)} aria-expanded={importing}>Import YAML</button>
        <a class="button" href="/blueprints/new">New blueprint</a>
      </PageHeader>
      {importing && <ImportYaml />}
      <ListView list={list} what="blueprints" empty="No blueprints yet. A blueprint holds a server's settings and overlays; servers are made from one." paging={paging}>{(items) => (
        <div class="table-wrap">
          <table>
            <thead><tr><th>Name</th><th>Mode</th><th>Map</th><th>Max players</th><th>Overlays</th><th>Servers</th></tr></thead>
            <tbody>{items.map((blueprint) => (
              <tr>
                <td><a href={`/blueprints/${blueprint.id}`}>{blueprint.name}</a></td>
                <td>{blueprint.settings?.gameMode || 'coop'}</td>
                <td>{blueprint.settings?.startMap || 'c1m1_hotel'}</td>
                <td>{blueprint.settings?.maxPlayers || 8}</td>
                <td>{blueprint.overlays?.length ?? 0}</td>
                <td><a href={`/servers?blueprint_id=${blueprint.id}`}>servers</a></td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}</ListView>
    </section>
  );
}

function ImportYaml() {
  const {route} = useLocation();
  const [text, setText] = useState('');
  const apply = useAction(async () => {
    const blueprint = await api<Blueprint>('/blueprints/yaml', {body: {yaml: text}});
    route(`/blueprints/${blueprint.id}`);
  });
  return (
    <form class="card" onSubmit={(event) => {
      event.preventDefault();
      apply.go();
    }}>
      <Field label="Blueprint file (YAML)" hint="As `l4d2ctl blueprints export` writes it; a blueprint of the same name is updated.">
        <textarea name="yaml" rows={10} required value={text} onInput={(event) => setText(valueOf(event))} spellcheck={false} />
      </Field>
      <Field label="Or read a file">
        <input type="file" accept=".yaml,.yml,text/yaml" onChange={async (event) => {
          const file = event.currentTarget.files?.[0];
          if (file) setText(await file.text());
        }} />
      </Field>
      <ErrorBox error={apply.error} />
      <button type="submit" disabled={apply.busy}>Import</button>
    </form>
  );
}

interface Row {
  name: string;
  value: string;
}

const modes = ['MODE_ON_FAILURE', 'MODE_NEVER', 'MODE_ALWAYS'];

export function BlueprintPage() {
  const {params} = useRoute();
  const {route} = useLocation();
  const isNew = params.id === 'new';
  const loaded = useResource((signal) => isNew ? Promise.resolve(undefined) : api<Blueprint>(`/blueprints/${params.id}`, {signal}), [params.id]);
  const overlays = useResource(() => listAll<Overlay>('/overlays', 'overlays'), [], ['overlays']);
  const users = useResource((signal) => isNew ? Promise.resolve({items: [] as Server[]}) :
                                        listPage<Server>('/servers', 'servers', {blueprint_id: params.id, limit: '100'}, signal),
                            [params.id], ['servers']);
  const [name, setName] = useState('');
  const [spec, setSpec] = useState<InstanceSpec>({});
  const [cvars, setCvars] = useState<Row[]>([]);
  const [args, setArgs] = useState<Row[]>([]);
  const [layers, setLayers] = useState<{overlayId: string; execServerCfg: boolean}[]>([]);
  const [saved, setSaved] = useState(false);
  const [yaml, setYaml] = useState<string>();
  const [confirmDelete, setConfirmDelete] = useState(false);
  useEffect(() => {
    const blueprint = loaded.data;
    if (!blueprint) return;
    setName(blueprint.name ?? '');
    setSpec(blueprint.settings ?? {});
    setCvars((blueprint.settings?.cvars ?? []).map((cvar) => ({name: cvar.name ?? '', value: cvar.value ?? ''})));
    setArgs((blueprint.settings?.launchArguments ?? []).map((arg) => ({name: arg.name ?? '', value: arg.value ?? ''})));
    setLayers((blueprint.overlays ?? []).map((layer) => ({overlayId: layer.overlayId ?? '', execServerCfg: !!layer.execServerCfg})));
  }, [loaded.data]);
  const save = useAction(async () => {
    const settings: InstanceSpec = {
      ...spec,
      cvars: cvars.filter((row) => row.name).map((row) => ({name: row.name, value: row.value})),
      launchArguments: args.filter((row) => row.name).map((row) => ({name: row.name, value: row.value || undefined})),
    };
    const body: BlueprintInput = {name, settings, overlays: layers.filter((layer) => layer.overlayId)};
    const result = isNew ? await api<Blueprint>('/blueprints', {body})
                         : await api<Blueprint>(`/blueprints/${params.id}`, {method: 'PUT', body});
    setSaved(true);
    if (isNew) route(`/blueprints/${result.id}`, true);
  });
  const remove = useAction(async () => {
    await api(`/blueprints/${params.id}`, {method: 'DELETE'});
    route('/blueprints');
  });
  const exportYaml = useAction(async () => {
    setYaml((await api<{yaml?: string}>(`/blueprints/${params.id}/yaml`)).yaml ?? '');
  });
  if (!isNew && !loaded.data) {
    return <section><PageHeader title="Blueprint" /><ErrorBox error={loaded.error} />{!loaded.error && <Loading what="the blueprint" />}</section>;
  }
  // The API names the field it refuses ("settings.maxPlayers: ..."): show it there.
  const errorFor = (...fields: string[]) => {
    const field = save.error?.field ?? '';
    return fields.some((name) => field === name || field.startsWith(name + '[') || field.startsWith(name + '.'))
        ? save.error!.message : undefined;
  };
  const known = ['name', 'settings.hostname', 'settings.startMap', 'settings.maxPlayers', 'settings.gameMode', 'settings.cvars',
                 'settings.launchArguments', 'settings.resources', 'settings.restart', 'overlays'];
  const otherError = save.error && !known.some((field) => errorFor(field)) ? save.error : undefined;
  const set = (changes: Partial<InstanceSpec>) => {
    setSaved(false);
    setSpec({...spec, ...changes});
  };
  return (
    <section>
      <PageHeader title={isNew ? 'New blueprint' : `Blueprint ${loaded.data?.name}`}>
        {!isNew && <button type="button" class="secondary" onClick={() => exportYaml.go()}>Export YAML</button>}
        {!isNew && <button type="button" class="danger" onClick={() => setConfirmDelete(true)}>Delete</button>}
      </PageHeader>
      <ErrorBox error={remove.error ?? exportYaml.error} />
      {yaml !== undefined && (
        <div class="card">
          <div class="actions"><CopyButton text={yaml} /><button type="button" class="secondary" onClick={() => setYaml(undefined)}>Close</button></div>
          <pre class="yaml" tabIndex={0} aria-label="Blueprint as YAML">{yaml}</pre>
        </div>
      )}
      <form class="editor" onSubmit={(event) => {
        event.preventDefault();
        save.go();
      }}>
        <fieldset>
          <legend>Game</legend>
          <Field label="Name" error={errorFor('name')}>
            <input name="name" required value={name} onInput={(event) => { setSaved(false); setName(valueOf(event)); }} />
          </Field>
          <Field label="Server name in the browser (hostname)" error={errorFor('settings.hostname')} hint="Empty: left4me <server name>">
            <input name="hostname" value={spec.hostname ?? ''} onInput={(event) => set({hostname: valueOf(event) || undefined})} />
          </Field>
          <Field label="Start map" error={errorFor('settings.startMap')} hint="Empty: c1m1_hotel">
            <input name="startMap" value={spec.startMap ?? ''} onInput={(event) => set({startMap: valueOf(event) || undefined})} />
          </Field>
          <Field label="Game mode" error={errorFor('settings.gameMode')} hint="coop, versus, survival, realism, scavenge…">
            <input name="gameMode" value={spec.gameMode ?? ''} onInput={(event) => set({gameMode: valueOf(event) || undefined})} />
          </Field>
          <Field label="Max players" error={errorFor('settings.maxPlayers')}>
            <input name="maxPlayers" type="number" value={spec.maxPlayers ?? ''}
                   onInput={(event) => set({maxPlayers: valueOf(event) === '' ? undefined : Number(valueOf(event))})} />
          </Field>
        </fieldset>
        <Pairs legend="Console variables (cvars)" rows={cvars} error={errorFor('settings.cvars')} namePlaceholder="sv_alltalk"
               onChange={(rows) => { setSaved(false); setCvars(rows); }} />
        <Pairs legend="Launch arguments" rows={args} error={errorFor('settings.launchArguments')} namePlaceholder="-tickrate"
               onChange={(rows) => { setSaved(false); setArgs(rows); }} />
        <fieldset>
          <legend>Overlays (highest priority first)</legend>
          {errorFor('overlays') && <p class="field-error" role="alert">{errorFor('overlays')}</p>}
          {layers.map((layer, index) => (
            <div class="row">
              <select aria-label={`Overlay ${index + 1}`} value={layer.overlayId} onChange={(event) => {
                const next = [...layers];
                next[index] = {...layer, overlayId: valueOf(event)};
                setLayers(next);
              }}>
                <option value="">choose…</option>
                {(overlays.data ?? []).map((overlay) => <option value={overlay.id}>{overlay.ref}{overlay.global ? ' (global)' : ''}</option>)}
              </select>
              <label class="check"><input type="checkbox" checked={layer.execServerCfg} onChange={(event) => {
                const next = [...layers];
                next[index] = {...layer, execServerCfg: event.currentTarget.checked};
                setLayers(next);
              }} /> run its server.cfg</label>
              <button type="button" class="secondary" aria-label={`Move overlay ${index + 1} up`} disabled={index === 0} onClick={() => {
                const next = [...layers];
                [next[index - 1], next[index]] = [next[index], next[index - 1]];
                setLayers(next);
              }}>↑</button>
              <button type="button" class="secondary" aria-label={`Remove overlay ${index + 1}`}
                      onClick={() => setLayers(layers.filter((_, other) => other !== index))}>Remove</button>
            </div>
          ))}
          <button type="button" class="secondary" onClick={() => setLayers([...layers, {overlayId: '', execServerCfg: false}])}>Add overlay</button>
        </fieldset>
        <fieldset>
          <legend>Limits and restarts</legend>
          <Field label="Memory limit (MiB)" error={errorFor('settings.resources')} hint="Empty: no limit beyond the host's">
            <input name="memoryMax" type="number" min={0} value={spec.resources?.memoryMaxBytes ? Number(spec.resources.memoryMaxBytes) / 1048576 : ''}
                   onInput={(event) => set({resources: {...spec.resources, memoryMaxBytes: valueOf(event) ? String(Number(valueOf(event)) * 1048576) : undefined}})} />
          </Field>
          <Field label="Restart after" error={errorFor('settings.restart')}>
            <select name="restartMode" value={String(spec.restart?.mode ?? 'MODE_ON_FAILURE')}
                    onChange={(event) => set({restart: {...spec.restart, mode: valueOf(event) as never}})}>
              {modes.map((mode) => <option value={mode}>{mode === 'MODE_ON_FAILURE' ? 'a crash' : mode === 'MODE_NEVER' ? 'never' : 'any exit'}</option>)}
            </select>
          </Field>
          <Field label="Hung after (seconds)" error={errorFor('settings.restart')}
                 hint="A running server whose game stops answering this long is hung. Empty: 120; 0: never">
            <input name="hangGrace" type="number" min={0} max={3600} value={spec.restart?.hangGrace ? parseInt(spec.restart.hangGrace, 10) : ''}
                   onInput={(event) => set({restart: {...spec.restart, hangGrace: valueOf(event) === '' ? undefined : `${Number(valueOf(event))}s`}})} />
          </Field>
          <label class="check"><input type="checkbox" name="restartWhenHung" checked={spec.restart?.restartWhenHung ?? false}
                                      onChange={(event) => set({restart: {...spec.restart, restartWhenHung: event.currentTarget.checked}})} /> Restart it when hung</label>
        </fieldset>
        <ErrorBox error={otherError} />
        {saved && <p class="ok" role="status">Saved. Servers pick up the change at their next start.</p>}
        <button type="submit" disabled={save.busy}>{isNew ? 'Create blueprint' : 'Save'}</button>
      </form>
      {!isNew && (
        <>
          <h2>Servers using it</h2>
          {users.data?.items.length ? (
            <ul>{users.data.items.map((server) => <li><a href={`/servers/${server.id}`}>{server.name}</a> <Badge state={server.actualState} /></li>)}</ul>
          ) : <p class="muted">No server uses it.</p>}
        </>
      )}
      <Confirm open={confirmDelete} title={`Delete blueprint ${loaded.data?.name}?`} action="Delete blueprint"
               onCancel={() => setConfirmDelete(false)} onConfirm={() => {
                 setConfirmDelete(false);
                 remove.go();
               }}>
        <p>A blueprint that servers still use cannot be deleted.</p>
      </Confirm>
    </section>
  );
}

function Pairs({legend, rows, error, namePlaceholder, onChange}: {
  legend: string; rows: Row[]; error?: string; namePlaceholder: string; onChange: (rows: Row[]) => void;
}) {
  return (
    <fieldset>
      <legend>{legend}</legend>
      {error && <p class="field-error" role="alert">{error}</p>}
      {rows.map((row, index) => (
        <div class="row">
          <input aria-label={`${legend}: name ${index + 1}`} placeholder={namePlaceholder} value={row.name} onInput={(event) => {
            const next = [...rows];
            next[index] = {...row, name: valueOf(event)};
            onChange(next);
          }} />
          <input aria-label={`${legend}: value ${index + 1}`} placeholder="value" value={row.value} onInput={(event) => {
            const next = [...rows];
            next[index] = {...row, value: valueOf(event)};
            onChange(next);
          }} />
          <button type="button" class="secondary" aria-label={`Remove ${legend} ${index + 1}`}
                  onClick={() => onChange(rows.filter((_, other) => other !== index))}>Remove</button>
        </div>
      ))}
      <button type="button" class="secondary" onClick={() => onChange([...rows, {name: '', value: ''}])}>Add</button>
    </fieldset>
  );
}

