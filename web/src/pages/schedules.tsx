// Schedules: what the controller does by itself at given times (docs/schedules.md). The list,
// and an editor: when (a cron expression in a time zone, or an interval), which servers, the
// chain of steps, the options; with the API's messages beside the fields, the next runs, a run
// by hand, YAML import and export (the file of `l4d2ctl schedules apply/export`).
import {useEffect, useState} from 'preact/hooks';
import {useLocation, useRoute} from 'preact-iso';
import {api, isAdmin, listAll, listPage} from '../api/client';
import {useResource} from '../api/resource';
import type {Blueprint, Host, Overlay, Schedule, ScheduleDefinition, ScheduleInput, ScheduleStep, Server} from '../api/types';
import {Confirm, CopyButton, ErrorBox, Field, ListView, Loading, PageHeader, useAction, valueOf} from '../components/ui';
import {dateTime, parseSpan, spanText} from '../lib/format';
import {usePaging} from './paging';

// When a schedule runs, in words.
function when(definition: ScheduleDefinition | undefined): string {
  if (!definition) return '';
  if (definition.every) return `every ${spanText(Number.parseFloat(definition.every))}`;
  return `${definition.cron} (${definition.timeZone || 'UTC'})`;
}

function stepText(step: ScheduleStep): string {
  if (step.command !== undefined) return `command: ${step.command}`;
  if (step.wait !== undefined) return `wait ${spanText(Number.parseFloat(step.wait))}`;
  if (step.action !== undefined) return step.action;
  if (step.install) return 'install the game';
  if (step.syncOverlay !== undefined) return 'sync an overlay';
  return '';
}

export function SchedulesPage() {
  const {query} = useLocation();
  const paging = usePaging();
  const list = useResource((signal) => listPage<Schedule>('/schedules', 'schedules', {q: query.q, limit: '50', page_token: paging.token}, signal),
                           [query.q, paging.token], ['jobs']);
  const [importing, setImporting] = useState(false);
  return (
    <section>
      <PageHeader title="Schedules">
        <button type="button" class="secondary" onClick={() => setImporting(!importing)} aria-expanded={importing}>Import YAML</button>
        <a class="button" href="/schedules/new">New schedule</a>
      </PageHeader>
      {importing && <ImportYaml />}
      <ListView list={list} what="schedules"
                empty="No schedules yet. A schedule restarts servers every night with a warning, updates the game, syncs overlays: by itself, at its times."
                paging={paging}>{(items) => (
        <div class="table-wrap">
          <table>
            <thead><tr><th>Name</th><th>When</th><th>Steps</th><th>On</th><th>Next run</th><th>Last run</th></tr></thead>
            <tbody>{items.map((schedule) => (
              <tr>
                <td><a href={`/schedules/${schedule.id}`}>{schedule.name}</a></td>
                <td>{when(schedule.definition)}</td>
                <td>{(schedule.definition?.steps ?? []).map(stepText).join(' → ')}</td>
                <td>{schedule.enabled ? 'yes' : 'no'}</td>
                <td>{schedule.enabled ? dateTime(schedule.nextRunAt) : '—'}</td>
                <td>{schedule.lastJobId ? <a href={`/jobs/${schedule.lastJobId}`}>{dateTime(schedule.lastRunAt)}</a> : 'never'}</td>
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
    const schedule = await api<Schedule>('/schedules/yaml', {body: {yaml: text}});
    route(`/schedules/${schedule.id}`);
  });
  return (
    <form class="card" onSubmit={(event) => {
      event.preventDefault();
      apply.go();
    }}>
      <Field label="Schedule file (YAML)" hint="As `l4d2ctl schedules export` writes it; a schedule of the same name is updated.">
        <textarea name="yaml" rows={12} required value={text} onInput={(event) => setText(valueOf(event))} spellcheck={false} />
      </Field>
      <ErrorBox error={apply.error} />
      <button type="submit" disabled={apply.busy}>Import</button>
    </form>
  );
}

// A step as the form holds it: its kind and one value.
interface StepRow {
  kind: 'command' | 'wait' | 'action' | 'install' | 'syncOverlay';
  value: string;
}

function toRow(step: ScheduleStep): StepRow {
  if (step.wait !== undefined) return {kind: 'wait', value: spanText(Number.parseFloat(step.wait))};
  if (step.action !== undefined) return {kind: 'action', value: step.action};
  if (step.install) return {kind: 'install', value: ''};
  if (step.syncOverlay !== undefined) return {kind: 'syncOverlay', value: step.syncOverlay};
  return {kind: 'command', value: step.command ?? ''};
}

// The step for the API; a wait that is not a span is sent as written for the API to refuse.
function toStep(row: StepRow): ScheduleStep {
  switch (row.kind) {
    case 'wait': {
      const seconds = parseSpan(row.value);
      return {wait: Number.isNaN(seconds) ? row.value : `${seconds}s`};
    }
    case 'action': return {action: row.value || 'restart'};
    case 'install': return {install: true};
    case 'syncOverlay': return {syncOverlay: row.value};
    default: return {command: row.value};
  }
}

const stepKinds: [StepRow['kind'], string][] = [
  ['command', 'Console command'], ['wait', 'Wait'], ['action', 'Server action'], ['syncOverlay', 'Sync overlay'], ['install', 'Install the game'],
];

export function SchedulePage() {
  const {params} = useRoute();
  const {route} = useLocation();
  const isNew = params.id === 'new';
  const loaded = useResource((signal) => isNew ? Promise.resolve(undefined) : api<Schedule>(`/schedules/${params.id}`, {signal}), [params.id], ['jobs']);
  const next = useResource((signal) => isNew ? Promise.resolve(undefined) : api<{at?: string[]}>(`/schedules/${params.id}/next?count=5`, {signal}),
                           [params.id, loaded.data?.nextRunAt, loaded.data?.definition?.cron]);
  const servers = useResource(() => listAll<Server>('/servers', 'servers'), [], ['servers']);
  const blueprints = useResource(() => listAll<Blueprint>('/blueprints', 'blueprints'), [], ['blueprints']);
  const hosts = useResource(() => isAdmin() ? listAll<Host>('/hosts', 'hosts') : Promise.resolve([] as Host[]), [], ['hosts']);
  const overlays = useResource(() => listAll<Overlay>('/overlays', 'overlays'), [], ['overlays']);
  const [name, setName] = useState('');
  const [enabled, setEnabled] = useState(true);
  const [by, setBy] = useState<'cron' | 'every'>('cron');
  const [cron, setCron] = useState('0 4 * * *');
  const [timeZone, setTimeZone] = useState(Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
  const [every, setEvery] = useState('6h');
  const [targetKind, setTargetKind] = useState('blueprint');
  const [targetId, setTargetId] = useState('');
  const [steps, setSteps] = useState<StepRow[]>([
    {kind: 'command', value: 'say Restart in 5 minutes'}, {kind: 'wait', value: '5m'}, {kind: 'action', value: 'restart'},
  ]);
  const [onlyWhenEmpty, setOnlyWhenEmpty] = useState(false);
  const [continueOnFailure, setContinueOnFailure] = useState(false);
  const [missed, setMissed] = useState('run_once');
  const [saved, setSaved] = useState(false);
  const [yaml, setYaml] = useState<string>();
  const [queued, setQueued] = useState<string>();
  const [confirmDelete, setConfirmDelete] = useState(false);
  useEffect(() => {
    const schedule = loaded.data;
    if (!schedule) return;
    const definition = schedule.definition ?? {};
    setName(schedule.name ?? '');
    setEnabled(!!schedule.enabled);
    setBy(definition.every ? 'every' : 'cron');
    if (definition.cron) setCron(definition.cron);
    if (definition.timeZone) setTimeZone(definition.timeZone);
    if (definition.every) setEvery(spanText(Number.parseFloat(definition.every)));
    setTargetKind(definition.target?.kind ?? 'blueprint');
    setTargetId(definition.target?.id ?? '');
    setSteps((definition.steps ?? []).map(toRow));
    setOnlyWhenEmpty(!!definition.onlyWhenEmpty);
    setContinueOnFailure(!!definition.continueOnFailure);
    setMissed(definition.missed || 'run_once');
  }, [loaded.data]);
  const changed = <T,>(set: (value: T) => void) => (value: T) => {
    setSaved(false);
    set(value);
  };
  const save = useAction(async () => {
    const everySeconds = parseSpan(every);
    const definition: ScheduleDefinition = {
      ...(by === 'cron' ? {cron, timeZone} : {every: Number.isNaN(everySeconds) ? every : `${everySeconds}s`}),
      target: {kind: targetKind, id: targetKind === 'fleet' ? undefined : targetId},
      steps: steps.map(toStep),
      onlyWhenEmpty, continueOnFailure, missed,
    };
    const body: ScheduleInput = {name, enabled, definition};
    const result = isNew ? await api<Schedule>('/schedules', {body})
                         : await api<Schedule>(`/schedules/${params.id}`, {method: 'PUT', body});
    setSaved(true);
    if (isNew) route(`/schedules/${result.id}`, true);
  });
  const run = useAction(async () => {
    setQueued((await api<{jobId?: string}>(`/schedules/${params.id}/run`, {method: 'POST'})).jobId);
  });
  const remove = useAction(async () => {
    await api(`/schedules/${params.id}`, {method: 'DELETE'});
    route('/schedules');
  });
  const exportYaml = useAction(async () => {
    setYaml((await api<{yaml?: string}>(`/schedules/${params.id}/yaml`)).yaml ?? '');
  });
  if (!isNew && !loaded.data) {
    return <section><PageHeader title="Schedule" /><ErrorBox error={loaded.error} />{!loaded.error && <Loading what="the schedule" />}</section>;
  }
  // The API names the field it refuses ("definition.steps[1].wait: ..."): show it there.
  const errorFor = (...fields: string[]) => {
    const field = save.error?.field ?? '';
    return fields.some((one) => field === one || field.startsWith(one + '[') || field.startsWith(one + '.'))
        ? save.error!.message : undefined;
  };
  const known = ['name', 'definition.cron', 'definition.timeZone', 'definition.every', 'definition.target', 'definition.steps', 'definition.missed'];
  const otherError = save.error && !known.some((field) => errorFor(field)) ? save.error : undefined;
  const targets: {id?: string; name?: string}[] = targetKind === 'server' ? servers.data ?? [] :
                                                  targetKind === 'blueprint' ? blueprints.data ?? [] : targetKind === 'host' ? hosts.data ?? [] : [];
  const setStep = (index: number, row: StepRow) => {
    setSaved(false);
    const rows = [...steps];
    rows[index] = row;
    setSteps(rows);
  };
  return (
    <section>
      <PageHeader title={isNew ? 'New schedule' : `Schedule ${loaded.data?.name}`}>
        {!isNew && <button type="button" onClick={() => run.go()} disabled={run.busy}>Run now</button>}
        {!isNew && <button type="button" class="secondary" onClick={() => exportYaml.go()}>Export YAML</button>}
        {!isNew && <button type="button" class="danger" onClick={() => setConfirmDelete(true)}>Delete</button>}
      </PageHeader>
      <ErrorBox error={remove.error ?? exportYaml.error ?? run.error} />
      {queued && <p class="ok" role="status">Run queued: <a href={`/jobs/${queued}`}>job {queued}</a>.</p>}
      {yaml !== undefined && (
        <div class="card">
          <div class="actions"><CopyButton text={yaml} /><button type="button" class="secondary" onClick={() => setYaml(undefined)}>Close</button></div>
          <pre class="yaml" tabIndex={0} aria-label="Schedule as YAML">{yaml}</pre>
        </div>
      )}
      {!isNew && (
        <div class="card">
          <h2>Next runs</h2>
          {!loaded.data?.enabled ? <p class="muted">Disabled: it runs only by hand.</p> : (
            <ol class="next-runs" aria-label="Next runs">{(next.data?.at ?? []).map((at) => <li>{dateTime(at)}</li>)}</ol>
          )}
          <p>Last run: {loaded.data?.lastJobId ? <a href={`/jobs/${loaded.data.lastJobId}`}>{dateTime(loaded.data.lastRunAt)}</a> : 'never'}</p>
        </div>
      )}
      <form class="editor" onSubmit={(event) => {
        event.preventDefault();
        save.go();
      }}>
        <fieldset>
          <legend>Schedule</legend>
          <Field label="Name" error={errorFor('name')}>
            <input name="name" required value={name} onInput={(event) => changed(setName)(valueOf(event))} />
          </Field>
          <label class="check"><input type="checkbox" name="enabled" checked={enabled}
                                      onChange={(event) => changed(setEnabled)(event.currentTarget.checked)} /> Enabled (runs at its times)</label>
        </fieldset>
        <fieldset>
          <legend>When</legend>
          <Field label="Runs">
            <select name="by" value={by} onChange={(event) => changed(setBy)(valueOf(event) as 'cron' | 'every')}>
              <option value="cron">at times (cron expression)</option>
              <option value="every">every interval</option>
            </select>
          </Field>
          {by === 'cron' ? (
            <>
              <Field label="Cron expression" error={errorFor('definition.cron', 'definition')}
                     hint="minute hour day-of-month month day-of-week: “0 4 * * *” is 04:00 every day, “30 5 * * mon-fri” weekdays at 05:30; @daily, @hourly">
                <input name="cron" required value={cron} onInput={(event) => changed(setCron)(valueOf(event))} spellcheck={false} />
              </Field>
              <Field label="Time zone" error={errorFor('definition.timeZone')} hint="An IANA name, e.g. Europe/Berlin; UTC when empty">
                <input name="timeZone" value={timeZone} list="time-zones" onInput={(event) => changed(setTimeZone)(valueOf(event))} />
              </Field>
              <datalist id="time-zones">{(Intl as {supportedValuesOf?: (key: string) => string[]}).supportedValuesOf?.('timeZone').map((zone) => <option value={zone} />)}</datalist>
            </>
          ) : (
            <Field label="Every" error={errorFor('definition.every', 'definition')} hint="1m to 31d, e.g. 6h or 1h30m">
              <input name="every" required value={every} onInput={(event) => changed(setEvery)(valueOf(event))} />
            </Field>
          )}
          <Field label="A run missed while every controller was down" error={errorFor('definition.missed')}>
            <select name="missed" value={missed} onChange={(event) => changed(setMissed)(valueOf(event))}>
              <option value="run_once">runs once when a controller is back</option>
              <option value="skip">is skipped</option>
            </select>
          </Field>
        </fieldset>
        <fieldset>
          <legend>Servers</legend>
          <Field label="Target" error={errorFor('definition.target')}>
            <select name="targetKind" value={targetKind} onChange={(event) => { changed(setTargetKind)(valueOf(event)); setTargetId(''); }}>
              <option value="server">one server</option>
              <option value="blueprint">every server of a blueprint</option>
              {isAdmin() && <option value="host">every server of a host</option>}
              <option value="fleet">every server</option>
            </select>
          </Field>
          {targetKind !== 'fleet' && (
            <Field label={`Which ${targetKind}`}>
              <select name="targetId" required value={targetId} onChange={(event) => changed(setTargetId)(valueOf(event))}>
                <option value="">choose…</option>
                {targets.map((target) => <option value={target.id}>{target.name}</option>)}
              </select>
            </Field>
          )}
          <label class="check"><input type="checkbox" name="onlyWhenEmpty" checked={onlyWhenEmpty}
                                      onChange={(event) => changed(setOnlyWhenEmpty)(event.currentTarget.checked)} /> Only servers with no players on</label>
          <label class="check"><input type="checkbox" name="continueOnFailure" checked={continueOnFailure}
                                      onChange={(event) => changed(setContinueOnFailure)(event.currentTarget.checked)} /> Go on when a step fails</label>
        </fieldset>
        <fieldset>
          <legend>Steps, in order</legend>
          {errorFor('definition.steps') && <p class="field-error" role="alert">{errorFor('definition.steps')}</p>}
          {steps.map((row, index) => (
            <div class="row">
              <select aria-label={`Step ${index + 1}`} value={row.kind}
                      onChange={(event) => setStep(index, {kind: valueOf(event) as StepRow['kind'], value: ''})}>
                {stepKinds.map(([kind, label]) => <option value={kind}>{label}</option>)}
              </select>
              {row.kind === 'command' && <input aria-label={`Step ${index + 1} command`} placeholder="say Restart in 5 minutes" value={row.value}
                                                onInput={(event) => setStep(index, {...row, value: valueOf(event)})} />}
              {row.kind === 'wait' && <input aria-label={`Step ${index + 1} wait`} placeholder="5m" value={row.value}
                                             onInput={(event) => setStep(index, {...row, value: valueOf(event)})} />}
              {row.kind === 'action' && (
                <select aria-label={`Step ${index + 1} action`} value={row.value || 'restart'} onChange={(event) => setStep(index, {...row, value: valueOf(event)})}>
                  {['restart', 'start', 'stop', 'reset'].map((action) => <option value={action}>{action}</option>)}
                </select>
              )}
              {row.kind === 'syncOverlay' && (
                <select aria-label={`Step ${index + 1} overlay`} value={row.value} onChange={(event) => setStep(index, {...row, value: valueOf(event)})}>
                  <option value="">choose…</option>
                  {(overlays.data ?? []).map((overlay) => <option value={overlay.id}>{overlay.ref}</option>)}
                </select>
              )}
              <button type="button" class="secondary" aria-label={`Move step ${index + 1} up`} disabled={index === 0} onClick={() => {
                const rows = [...steps];
                [rows[index - 1], rows[index]] = [rows[index], rows[index - 1]];
                changed(setSteps)(rows);
              }}>↑</button>
              <button type="button" class="secondary" aria-label={`Remove step ${index + 1}`}
                      onClick={() => changed(setSteps)(steps.filter((_, other) => other !== index))}>Remove</button>
            </div>
          ))}
          <button type="button" class="secondary" onClick={() => changed(setSteps)([...steps, {kind: 'command', value: ''}])}>Add step</button>
        </fieldset>
        <ErrorBox error={otherError} />
        {saved && <p class="ok" role="status">Saved.</p>}
        <button type="submit" disabled={save.busy}>{isNew ? 'Create schedule' : 'Save'}</button>
      </form>
      <Confirm open={confirmDelete} title={`Delete schedule ${loaded.data?.name}?`} action="Delete schedule"
               onCancel={() => setConfirmDelete(false)} onConfirm={() => {
                 setConfirmDelete(false);
                 remove.go();
               }}>
        <p>Runs already queued go on; no new ones start.</p>
      </Confirm>
    </section>
  );
}
