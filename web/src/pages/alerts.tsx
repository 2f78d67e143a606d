// Alerts: the webhooks the controller tells of crashes, hung servers, unreachable hosts and
// failed jobs (docs/alerts.md). The list with a form for a new one (its signing secret shown
// once), and a webhook's page: its events, enabled, a test delivery, and its delivery log.
import {useEffect, useState} from 'preact/hooks';
import {useLocation, useRoute} from 'preact-iso';
import {api, isAdmin, listPage} from '../api/client';
import {useResource} from '../api/resource';
import type {Job, Webhook, WebhookInput} from '../api/types';
import {Badge, Confirm, ErrorBox, Field, ListView, Loading, PageHeader, Secret, useAction, valueOf} from '../components/ui';
import {dateTime} from '../lib/format';
import {usePaging} from './paging';

const events: [string, string, boolean][] = [
  ['server.crashed', 'a server crashed', false],
  ['server.crash_loop', 'a server is in a crash loop', false],
  ['server.hung', 'a server is hung', false],
  ['server.gave_up', 'a server would not start again', false],
  ['host.unreachable', 'a host became unreachable', true],
  ['host.back', 'a host came back', true],
  ['job.failed', 'a job failed', false],
  ['schedule.failed', "a schedule's run failed", false],
  ['host.disk_low', "a host's disk is nearly full", true],
  ['update.available', 'a newer game build is available', true],
  ['update.required', 'Steam requires a server to update', false],
];

function EventChoices({chosen, onChange}: {chosen: string[]; onChange: (events: string[]) => void}) {
  return (
    <fieldset>
      <legend>Events</legend>
      {events.filter(([, , adminOnly]) => !adminOnly || isAdmin()).map(([event, label]) => (
        <label class="check"><input type="checkbox" name="events" value={event} checked={chosen.includes(event)}
                                    onChange={(change) => onChange(change.currentTarget.checked ? [...chosen, event]
                                                                                               : chosen.filter((one) => one !== event))} /> {label} <code>{event}</code></label>
      ))}
    </fieldset>
  );
}

export function AlertsPage() {
  const paging = usePaging();
  const list = useResource((signal) => listPage<Webhook>('/webhooks', 'webhooks', {limit: '50', page_token: paging.token}, signal),
                           [paging.token], ['audit']);
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [format, setFormat] = useState('json');
  const [chosen, setChosen] = useState<string[]>(['server.crash_loop', 'server.hung']);
  const [secret, setSecret] = useState<string>();
  const create = useAction(async () => {
    const body: WebhookInput = {name, url, format, events: chosen, enabled: true};
    const made = await api<{webhook?: Webhook; secret?: string}>('/webhooks', {body});
    setSecret(made.secret);
    setName('');
    setUrl('');
    list.reload();
  });
  const field = create.error?.field ?? '';
  return (
    <section>
      <PageHeader title="Alerts" />
      <p class="muted">Webhooks the controller tells when a server crashes or hangs, a host goes away, or a job fails. Each delivery is signed with the webhook's secret and retried until it is taken.</p>
      <ListView list={list} what="webhooks" empty="No webhooks yet." paging={paging}>{(items) => (
        <div class="table-wrap">
          <table>
            <thead><tr><th>Name</th><th>Events</th><th>Format</th><th>On</th><th>URL</th></tr></thead>
            <tbody>{items.map((webhook) => (
              <tr>
                <td><a href={`/alerts/${webhook.id}`}>{webhook.name}</a></td>
                <td>{(webhook.events ?? []).join(', ')}</td>
                <td>{webhook.format}</td>
                <td>{webhook.enabled ? 'yes' : 'no'}</td>
                <td class="url">{webhook.url}</td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}</ListView>
      {secret && (
        <div class="card" role="status">
          <p>Webhook created. Deliveries are signed with this secret (<code>X-Left4me-Signature</code>); it is shown this once:</p>
          <Secret text={secret} />
        </div>
      )}
      <form class="editor" onSubmit={(event) => {
        event.preventDefault();
        setSecret(undefined);
        create.go();
      }}>
        <h2>New webhook</h2>
        <Field label="Name" error={field === 'name' ? create.error?.message : undefined}>
          <input name="name" required value={name} onInput={(event) => setName(valueOf(event))} />
        </Field>
        <Field label="URL" error={field === 'url' ? create.error?.message : undefined}
               hint="http:// or https://; loopback and link-local addresses are refused">
          <input name="url" type="url" required value={url} onInput={(event) => setUrl(valueOf(event))} />
        </Field>
        <Field label="Format">
          <select name="format" value={format} onChange={(event) => setFormat(valueOf(event))}>
            <option value="json">JSON, signed</option>
            <option value="discord">Discord message</option>
          </select>
        </Field>
        <EventChoices chosen={chosen} onChange={setChosen} />
        <ErrorBox error={field === 'name' || field === 'url' ? undefined : create.error} />
        <button type="submit" disabled={create.busy}>Create webhook</button>
      </form>
    </section>
  );
}

export function AlertPage() {
  const {params} = useRoute();
  const {route} = useLocation();
  const webhook = useResource((signal) => api<Webhook>(`/webhooks/${params.id}`, {signal}), [params.id]);
  const deliveries = useResource((signal) => api<{jobs?: Job[]}>(`/webhooks/${params.id}/deliveries?limit=50`, {signal}),
                                 [params.id], ['jobs']);
  const [chosen, setChosen] = useState<string[]>([]);
  const [enabled, setEnabled] = useState(true);
  const [saved, setSaved] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  useEffect(() => {
    if (!webhook.data) return;
    setChosen(webhook.data.events ?? []);
    setEnabled(!!webhook.data.enabled);
  }, [webhook.data]);
  const save = useAction(async () => {
    const w = webhook.data!;
    await api(`/webhooks/${params.id}`, {method: 'PUT', body: {name: w.name, url: w.url, format: w.format, events: chosen, enabled}});
    setSaved(true);
  });
  const test = useAction(async () => {
    await api(`/webhooks/${params.id}/test`, {method: 'POST'});
    deliveries.reload();
  });
  const remove = useAction(async () => {
    await api(`/webhooks/${params.id}`, {method: 'DELETE'});
    route('/alerts');
  });
  const w = webhook.data;
  if (!w) return <section><PageHeader title="Webhook" /><ErrorBox error={webhook.error} />{!webhook.error && <Loading what="the webhook" />}</section>;
  return (
    <section>
      <PageHeader title={`Webhook ${w.name}`}>
        <button type="button" onClick={() => test.go()} disabled={test.busy}>Send a test</button>
        <button type="button" class="danger" onClick={() => setConfirmDelete(true)}>Delete</button>
      </PageHeader>
      <ErrorBox error={test.error ?? remove.error} />
      <dl class="facts">
        <dt>URL</dt><dd class="url">{w.url}</dd>
        <dt>Format</dt><dd>{w.format === 'discord' ? 'Discord message' : 'JSON, signed'}</dd>
        <dt>Created</dt><dd>{dateTime(w.createdAt)}</dd>
      </dl>
      <form class="editor" onSubmit={(event) => {
        event.preventDefault();
        save.go();
      }}>
        <EventChoices chosen={chosen} onChange={(next) => { setSaved(false); setChosen(next); }} />
        <label class="check"><input type="checkbox" name="enabled" checked={enabled}
                                    onChange={(event) => { setSaved(false); setEnabled(event.currentTarget.checked); }} /> Enabled</label>
        <ErrorBox error={save.error} />
        {saved && <p class="ok" role="status">Saved.</p>}
        <button type="submit" disabled={save.busy}>Save</button>
      </form>
      <h2>Deliveries</h2>
      {deliveries.data?.jobs?.length ? (
        <div class="table-wrap">
          <table aria-label="Deliveries">
            <thead><tr><th>Queued</th><th>State</th><th>Attempts</th><th>Last error</th></tr></thead>
            <tbody>{deliveries.data.jobs.map((job) => (
              <tr>
                <td><a href={`/jobs/${job.id}`}>{dateTime(job.createdAt)}</a></td>
                <td><Badge state={job.state} /></td>
                <td>{job.attempt ?? 0} of {job.maxAttempts ?? 0}</td>
                <td>{job.error?.message ?? ''}</td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      ) : <p class="muted">Nothing delivered yet.</p>}
      <Confirm open={confirmDelete} title={`Delete webhook ${w.name}?`} action="Delete webhook"
               onCancel={() => setConfirmDelete(false)} onConfirm={() => {
                 setConfirmDelete(false);
                 remove.go();
               }}>
        <p>Deliveries already queued are still attempted until they end.</p>
      </Confirm>
    </section>
  );
}
