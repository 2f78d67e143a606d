// One server: status, players, actions, the live console, logs, and charts.
import {useEffect, useRef, useState} from 'preact/hooks';
import {useLocation, useRoute} from 'preact-iso';
import {api, me} from '../api/client';
import {useInterval, useResource} from '../api/resource';
import type {Backup, BackupList, Blueprint, ConsoleCommandResponse, Host, JobRef, ListPlayerEventsResponse, LogLine, MetricSeries, Server,
  ServerPlayersResponse} from '../api/types';
import {Avatar, PlayerName} from '../components/avatar';
import {Chart} from '../components/chart';
import {ago, bytes, dateTime, duration, millis, span} from '../lib/format';
import {ConsoleBuffer, CommandHistory} from '../lib/console';
import {followEventStream} from '../lib/sse';
import {Badge, Confirm, ErrorBox, Field, Loading, PageHeader, Tabs, useAction} from '../components/ui';
import {live} from './servers';

const tabs = ['overview', 'console', 'logs', 'charts', 'backups'];

export function ServerPage() {
  const {params} = useRoute();
  const {route} = useLocation();
  const tab = tabs.includes(params.tab) ? params.tab : 'overview';
  const server = useResource((signal) => api<Server>(`/servers/${params.id}`, {signal}), [params.id], ['servers']);
  // The live figures (memory, CPU, latency) are not in the events: asked again every 10 s.
  useInterval(server.reload, 10000);
  // The name of its host, for the status line (the server knows its id).
  const hostId = server.data?.hostId;
  const host = useResource(
    (signal) => (hostId ? api<Host>(`/hosts/${hostId}`, {signal}) : Promise.resolve(undefined)), [hostId], ['hosts']);
  const [confirm, setConfirm] = useState<string>();
  const [job, setJob] = useState<string>();
  const act = useAction(async (action: string) => {
    if (action === 'delete') {
      await api(`/servers/${params.id}`, {method: 'DELETE'});
      route('/servers');
      return;
    }
    const ref = await api<JobRef>(`/servers/${params.id}/${action}`, {body: {}});
    setJob(ref.jobId);
  });
  if (!server.data) {
    return <section><PageHeader title="Server" /><ErrorBox error={server.error} />{!server.error && <Loading what="the server" />}</section>;
  }
  const s = live(server.data);
  const game = s.status?.game;
  const running = s.desiredState === 'running';
  const destructive: Record<string, string> = {
    stop: 'Players on it are disconnected.',
    restart: 'Players on it are disconnected while it restarts.',
    reset: 'Its files (everything written since it was made: logs, downloaded maps, saved settings) are removed and it is made again from its blueprint.',
    delete: 'The server and its files are removed for good.',
  };
  return (
    <section>
      <PageHeader title={s.name ?? 'Server'}>
        {!running && <button type="button" onClick={() => act.go('start')} disabled={act.busy}>Start</button>}
        {running && <button type="button" class="secondary" onClick={() => setConfirm('stop')} disabled={act.busy}>Stop</button>}
        <button type="button" class="secondary" onClick={() => setConfirm('restart')} disabled={act.busy}>Restart</button>
        <button type="button" class="secondary" onClick={() => setConfirm('reset')} disabled={act.busy}>Reset</button>
        <button type="button" class="danger" onClick={() => setConfirm('delete')} disabled={act.busy}>Delete</button>
      </PageHeader>
      <ErrorBox error={act.error ?? server.error} />
      {job && <p class="ok" role="status">Queued: <a href={`/jobs/${job}`}>follow the job</a>.</p>}
      <div class="status-line">
        <Badge state={s.actualState || 'unknown'} />
        {game?.map && <span>map <strong>{game.map}</strong></span>}
        {s.status?.log?.restartRequired && <span class="tag update" title="The server printed Steam's request to restart for the latest update">update required</span>}
        {game && <span><strong>{game.players ?? 0}</strong>/{game.maxPlayers ?? 0} players</span>}
        {s.hostId && <span>on <a href={`/hosts/${s.hostId}`}>{host.data?.name ?? s.hostId}</a>:{s.port}</span>}
      </div>
      <Tabs tabs={tabs} current={tab} onSelect={(next) => route(`/servers/${params.id}${next === 'overview' ? '' : '/' + next}`)} />
      <div role="tabpanel" aria-label={tab}>
        {tab === 'overview' && <Overview server={s} />}
        {tab === 'console' && <Console serverId={params.id} />}
        {tab === 'logs' && <Logs serverId={params.id} />}
        {tab === 'charts' && <Charts serverId={params.id} />}
        {tab === 'backups' && <Backups server={s} onQueued={setJob} />}
      </div>
      <Confirm open={!!confirm} title={`${confirm ? confirm[0].toUpperCase() + confirm.slice(1) : ''} ${s.name}?`}
               action={confirm ? confirm[0].toUpperCase() + confirm.slice(1) : ''}
               onCancel={() => setConfirm(undefined)} onConfirm={() => {
                 const action = confirm!;
                 setConfirm(undefined);
                 act.go(action);
               }}>
        <p>{confirm ? destructive[confirm] : ''}</p>
      </Confirm>
    </section>
  );
}

// A live figure the host does not measure (no cgroup accounting) or the game did not answer.
const notMeasured = <span class="muted">not measured</span>;

function Overview({server}: {server: Server}) {
  const unit = server.status?.unit;
  const game = server.status?.game;
  // Who is on it: the log's sessions (SteamID, since when), with the score A2S reports;
  // reloaded on player events and every 10 s while shown.
  const running = server.actualState === 'running';
  const players = useResource((signal) => running ? api<ServerPlayersResponse>(`/servers/${server.id}/players`, {signal})
                                                  : Promise.resolve({players: [], sessions: []} as ServerPlayersResponse),
                              [server.id, running, game?.players], ['players']);
  useInterval(players.reload, 10000);
  const blueprint = useResource((signal) => api<Blueprint>(`/blueprints/${server.blueprintId}`, {signal}),
                                [server.blueprintId], ['blueprints']);
  const sessions = players.data?.sessions ?? [];
  const scores = new Map((players.data?.players ?? []).map((player) => [player.name, player.score ?? 0]));
  const pings = new Map((players.data?.players ?? []).map((player) => [player.name, player.pingMs ?? 0]));
  const ping = (name?: string) => { const ms = pings.get(name ?? ''); return ms ? `${ms} ms` : ''; };
  // Players A2S reports that the log has not (a listener off, a join not yet recorded).
  const others = (players.data?.players ?? []).filter((player) => !sessions.some((session) => session.name === player.name));
  return (
    <>
      <dl class="facts">
        <dt>Wanted</dt><dd>{server.desiredState}</dd>
        <dt>Blueprint</dt><dd><a href={`/blueprints/${server.blueprintId}`}>{blueprint.data?.name ?? server.blueprintId}</a></dd>
        <dt>Game</dt><dd>{game?.reachable ? `${game.name} (${game.version})` : game?.error || 'not answering'}</dd>
        <dt>Game build</dt><dd>{server.build || <span class="muted">not reported yet</span>}
          {server.status?.log?.restartRequired && <span class="badge bad">Steam requires an update</span>}</dd>
        <dt>Process</dt><dd>{unit?.mainPid ? `pid ${unit.mainPid}, up since ${ago(unit.activeSince)}` : unit?.activeState ?? ''}
          {unit?.restartCount ? `, restarted ${unit.restartCount}×` : ''}</dd>
        <dt>Memory</dt><dd>{server.live?.memoryBytes ? bytes(server.live.memoryBytes) : notMeasured}</dd>
        <dt>CPU time</dt><dd>{server.live?.cpuUsage ? duration(server.live.cpuUsage) : notMeasured}</dd>
        <dt>A2S latency</dt><dd>{server.live?.a2sLatency ? millis(server.live.a2sLatency) : notMeasured}</dd>
        <dt>Figures from</dt><dd>{ago(server.live?.at)}</dd>
        <dt>State since</dt><dd>{ago(server.statusAt)}</dd>
        {server.status?.restartPending && <><dt>Restart</dt><dd>pending: the next start applies a change</dd></>}
      </dl>
      <h2>Players</h2>
      <ErrorBox error={players.error} />
      {sessions.length || others.length ? (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Players on the server">
          <table>
            <thead><tr><th>Name</th><th>SteamID</th><th>On the server</th><th>Ping</th><th>Score</th></tr></thead>
            <tbody>
              {sessions.map((session) => (
                <tr>
                  <td class="player"><Avatar profile={session.profile} name={session.name} />{session.steamId ? <a href={`/players/${session.steamId}`}><PlayerName name={session.name} profile={session.profile} /></a> : session.name}</td>
                  <td class="mono">{session.steamId || <span class="muted">not validated</span>}</td>
                  <td title={dateTime(session.joinedAt)}>{span(Number(session.seconds ?? 0))}</td>
                  <td>{ping(session.name)}</td>
                  <td>{scores.get(session.name ?? '') ?? ''}</td>
                </tr>
              ))}
              {others.map((player) => (
                <tr><td class="player"><Avatar name={player.name} />{player.name}</td><td class="muted">-</td><td>{duration(player.connected)}</td><td>{ping(player.name)}</td><td>{player.score ?? 0}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : <p class="muted">Nobody is playing.</p>}
      <Activity serverId={server.id ?? ''} />
    </>
  );
}

const activity: Record<string, string> = {
  joined: 'joined', left: 'left', map_changed: 'map changed to', update_required: 'Steam asked for a restart to update',
};

// The server's timeline: joins, leaves, map changes, update requests, newest first.
function Activity({serverId}: {serverId: string}) {
  const events = useResource((signal) => api<ListPlayerEventsResponse>(`/servers/${serverId}/timeline?limit=20`, {signal}),
                             [serverId], ['players']);
  const list = events.data?.events ?? [];
  return (
    <>
      <h2>Activity</h2>
      <ErrorBox error={events.error} />
      {list.length ? (
        <ol class="timeline">
          {list.map((event) => (
            <li class={`timeline-${event.kind}`}>
              <time dateTime={event.at} title={dateTime(event.at)}>{ago(event.at)}</time>{' '}
              {event.name && (event.steamId ? <a href={`/players/${event.steamId}`}>{event.name}</a> : <strong>{event.name}</strong>)}{' '}
              {activity[event.kind ?? ''] ?? event.kind}{' '}
              {event.kind === 'map_changed' ? <strong>{event.text}</strong> : event.kind === 'left' && event.text ? <span class="muted">({event.text})</span> : null}
            </li>
          ))}
        </ol>
      ) : <p class="muted">No joins, leaves or map changes recorded yet.</p>}
    </>
  );
}

// The live console: the newest lines, then every new one (batched per animation frame, the
// oldest dropped past the cap), commands with their output, history on the arrow keys.
function Console({serverId}: {serverId: string}) {
  const box = useRef<HTMLDivElement>(null);
  const buffer = useRef<ConsoleBuffer>();
  const history = useRef(new CommandHistory());
  const [command, setCommand] = useState('');
  const [state, setState] = useState('connecting');
  // This tab's commands are printed with the answer to its request; their echo on the stream
  // (which every viewer gets) is skipped once here.
  const sent = useRef<string[]>([]);
  const send = useAction(async (text: string) => {
    sent.current.push(text);
    const answer = await api<ConsoleCommandResponse>(`/servers/${serverId}/console`, {body: {command: text}});
    buffer.current?.command(text, answer.output ?? '', true);
  });
  useEffect(() => {
    const node = box.current!;
    const lines = new ConsoleBuffer(node, 5000);
    buffer.current = lines;
    const stop = followEventStream(`/api/v1/servers/${encodeURIComponent(serverId)}/console/stream`, {
      onOpen: () => setState('live'),
      onDown: (closed) => setState(closed ? 'closed' : 'reconnecting'),
      onEvents: (events) => {
        for (const event of events) {
          if (event.type === 'line') {
            const line = JSON.parse(event.data) as LogLine;
            lines.line(line.text ?? '', line.source === 'stderr');
          } else if (event.type === 'command') {
            const echo = JSON.parse(event.data) as {actor?: string; command?: string; output?: string};
            const mine = echo.actor === me.value?.username ? sent.current.indexOf(echo.command ?? '') : -1;
            if (mine >= 0) {
              sent.current.splice(mine, 1);
              continue;
            }
            lines.command(echo.command ?? '', echo.output ?? '', false, echo.actor);
          } else if (event.type === 'skipped') {
            lines.note('older lines skipped: see the Logs tab');
          } else if (event.type === 'overflow') {
            lines.note('this page fell behind the server: lines were lost; reconnecting');
          }
        }
      },
    });
    return () => {
      stop();
      lines.dispose();
    };
  }, [serverId]);
  return (
    <div class="console-wrap">
      <p class="muted" role="status">Console {state}</p>
      <div class="console" ref={box} role="log" aria-label="Server console" aria-live="off" tabIndex={0} />
      <form class="console-input" onSubmit={async (event) => {
        event.preventDefault();
        const text = command.trim();
        if (!text) return;
        history.current.push(text);
        setCommand('');
        await send.go(text);
      }}>
        <label class="visually-hidden" for="console-command">Console command</label>
        <input id="console-command" name="command" autoComplete="off" spellcheck={false} value={command}
               placeholder="status" onInput={(event) => setCommand(event.currentTarget.value)}
               onKeyDown={(event) => {
                 if (event.key === 'ArrowUp' || event.key === 'ArrowDown') {
                   event.preventDefault();
                   setCommand(history.current.move(event.key === 'ArrowUp' ? -1 : 1, command));
                 }
               }} />
        <button type="submit" disabled={send.busy}>Send</button>
      </form>
      <ErrorBox error={send.error} />
    </div>
  );
}

function Logs({serverId}: {serverId: string}) {
  const logs = useResource((signal) => api<{lines?: LogLine[]}>(`/servers/${serverId}/logs?lines=500`, {signal}), [serverId]);
  return (
    <>
      <div class="actions"><button type="button" class="secondary" onClick={logs.reload}>Refresh</button></div>
      <ErrorBox error={logs.error} />
      {!logs.data ? (logs.error ? null : <Loading what="logs" />) : (
        <pre class="logs" tabIndex={0} aria-label="Newest log lines">
          {(logs.data.lines ?? []).map((line) => `${line.time ? new Date(line.time).toLocaleTimeString() : ''}  ${line.text ?? ''}\n`).join('')}
        </pre>
      )}
    </>
  );
}

function Charts({serverId}: {serverId: string}) {
  const [hours, setHours] = useState(1);
  const metrics = useResource((signal) => {
    const from = new Date(Date.now() - hours * 3600_000).toISOString();
    return api<MetricSeries>(`/servers/${serverId}/metrics?from=${from}`, {signal});
  }, [serverId, hours], ['servers']);
  const samples = metrics.data?.samples ?? [];
  const times = samples.map((sample) => Date.parse(sample.at ?? '') / 1000);
  // CPU as a share of one core: CPU time used between two samples over the time between them.
  const cpu = samples.map((sample, index) => {
    if (index === 0) return null;
    const previous = samples[index - 1];
    const used = Number(sample.cpuMillis ?? 0) - Number(previous.cpuMillis ?? 0);
    const wall = (times[index] - times[index - 1]) * 1000;
    return used >= 0 && wall > 0 ? (100 * used) / wall : null;
  });
  // A host without cgroup accounting reports no CPU time or memory (0): say so rather than
  // draw a flat 0% and 0 B.
  const cpuMeasured = samples.some((sample) => Number(sample.cpuMillis ?? 0) > 0);
  const memory = samples.map((sample) => (Number(sample.memoryBytes ?? 0) > 0 ? Number(sample.memoryBytes) : null));
  const memoryMeasured = memory.some((value) => value !== null);
  const notMeasured = (title: string) => (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <p class="muted">Not measured: this host has no cgroup accounting for it.</p>
    </figure>
  );
  return (
    <>
      <div class="actions">
        {[1, 6, 24].map((n) => (
          <button type="button" class={n === hours ? '' : 'secondary'} aria-pressed={n === hours} onClick={() => setHours(n)}>{n} h</button>
        ))}
      </div>
      <ErrorBox error={metrics.error} />
      {!metrics.data ? (metrics.error ? null : <Loading what="metrics" />) : samples.length === 0 ? <p class="muted">No samples in this range yet.</p> : (
        <div class="charts">
          <Chart title="Players" times={times} series={[{label: 'players', values: samples.map((sample) => sample.players ?? 0), format: (v) => String(Math.round(v)), integer: true}]} />
          {cpuMeasured
            ? <Chart title="CPU (% of a core)" times={times} series={[{label: 'cpu', values: cpu, format: (v) => `${v.toFixed(v < 10 ? 1 : 0)}%`}]} />
            : notMeasured('CPU (% of a core)')}
          {memoryMeasured
            ? <Chart title="Memory" times={times} series={[{label: 'memory', values: memory, format: (v) => bytes(v)}]} />
            : notMeasured('Memory')}
        </div>
      )}
    </>
  );
}

// The server's backups (its writable layer and record, kept on its host): taken now, restored
// (this server's or another of the owner's, from any host), deleted. Jobs, followed on the
// jobs page; the list is asked again every 5 s while shown.
function Backups({server, onQueued}: {server: Server; onQueued: (job: string) => void}) {
  const own = useResource((signal) => api<BackupList>(`/backups?server_id=${server.id}`, {signal}), [server.id], ['jobs']);
  const all = useResource((signal) => api<BackupList>('/backups?limit=200', {signal}), [], ['jobs']);
  useInterval(own.reload, 5000);
  const [confirm, setConfirm] = useState<{action: 'restore' | 'delete'; backup: Backup}>();
  const [other, setOther] = useState('');
  const act = useAction(async (what: {action: 'backup' | 'restore' | 'delete'; backup?: Backup}) => {
    const ref = what.action === 'backup'
      ? await api<JobRef>(`/servers/${server.id}/backups`, {body: {}})
      : what.action === 'restore'
        ? await api<JobRef>(`/servers/${server.id}/restore`, {body: {backupId: what.backup!.id}})
        : await api<JobRef>(`/backups/${what.backup!.id}`, {method: 'DELETE'});
    onQueued(ref.jobId ?? '');
    own.reload();
  });
  const list = own.data?.backups ?? [];
  // Other servers' backups this server may take (the same owner's), newest first.
  const others = (all.data?.backups ?? []).filter((backup) => backup.serverId !== server.id && backup.ownerId === server.ownerId);
  const placed = !!server.hostId;
  return (
    <>
      <div class="actions">
        <button type="button" onClick={() => act.go({action: 'backup'})} disabled={act.busy || !placed}>Back up now</button>
        {!placed && <span class="muted">Start the server once: it has no files to back up yet.</span>}
      </div>
      <ErrorBox error={act.error ?? own.error} />
      {!own.data ? (own.error ? null : <Loading what="backups" />) : list.length === 0 ? <p class="muted">No backups of this server yet.</p> : (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Backups of the server">
          <table class="nowrap">
            <thead><tr><th>Taken</th><th>Host</th><th>Off host</th><th>Size</th><th>Files</th><th>Game build</th><th>SHA-256</th><th><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {list.map((backup) => (
                <tr>
                  <td title={dateTime(backup.createdAt)}>{ago(backup.createdAt)}{backup.copiedFrom && <span class="muted"> (a copy)</span>}</td>
                  <td>{backup.hostName}</td>
                  <td>{backup.vaulted
                    ? <span class="badge good" title="A copy is in the controller's vault: restorable when its host is not">vault</span>
                    : <span class="muted" title="Only on its host (the controller's backups.vault is not set)">-</span>}</td>
                  <td title={`${bytes(backup.contentBytes)} before compression`}>{bytes(backup.sizeBytes)}</td>
                  <td>{backup.files ?? 0}</td>
                  <td>{backup.buildId || <span class="muted">-</span>}</td>
                  <td class="mono" title={backup.sha256}>{(backup.sha256 ?? '').slice(0, 12)}</td>
                  <td><div class="actions">
                    <button type="button" class="secondary" onClick={() => setConfirm({action: 'restore', backup})} disabled={act.busy || !placed}>Restore</button>
                    <button type="button" class="danger" onClick={() => setConfirm({action: 'delete', backup})} disabled={act.busy}>Delete</button>
                  </div></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {placed && others.length > 0 && (
        <form class="inline-form" onSubmit={(event) => {
          event.preventDefault();
          const backup = others.find((candidate) => candidate.id === other);
          if (backup) setConfirm({action: 'restore', backup});
        }}>
          <Field label="Restore another server's backup">
            <select name="restore-other" value={other} onChange={(event) => setOther(event.currentTarget.value)}>
              <option value="">Choose a backup</option>
              {others.map((backup) => (
                <option value={backup.id}>{backup.serverName} on {backup.hostName}, {dateTime(backup.createdAt)} ({bytes(backup.sizeBytes)})</option>
              ))}
            </select>
          </Field>
          <button type="submit" class="secondary" disabled={!other || act.busy}>Restore</button>
        </form>
      )}
      <Confirm open={!!confirm}
               title={confirm?.action === 'restore' ? `Restore ${server.name} from a backup?` : 'Delete the backup?'}
               action={confirm?.action === 'restore' ? 'Restore' : 'Delete'}
               onCancel={() => setConfirm(undefined)} onConfirm={() => {
                 const chosen = confirm!;
                 setConfirm(undefined);
                 act.go(chosen);
               }}>
        <p>{confirm?.action === 'restore'
          ? `Its files are replaced by those of ${confirm.backup.serverName}'s backup taken ${dateTime(confirm.backup.createdAt)}${confirm.backup.hostId !== server.hostId ? `, copied from ${confirm.backup.hostName}` : ''}. A running server is stopped for it (players are disconnected) and started again.`
          : `The archive taken ${dateTime(confirm?.backup.createdAt)} is removed from ${confirm?.backup.hostName}${confirm?.backup.vaulted ? ' and from the controller\'s vault' : ''} for good.`}</p>
      </Confirm>
    </>
  );
}
