// Hosts (admins): add one (its one-time enrollment command), install or update the game with a
// live progress bar, capacity and free ports, drain/undrain, revoke its certificate (a new
// enrollment command), delete with confirmation.
import type {ComponentChildren} from 'preact';
import {useEffect, useState} from 'preact/hooks';
import {useLocation, useRoute} from 'preact-iso';
import {api, listPage} from '../api/client';
import {useJobStream} from '../api/jobs';
import {useInterval, useResource} from '../api/resource';
import type {CheckForUpdate, CreateHostResponse, Host, JobRef} from '../api/types';
import {ago, bytes, dateTime, freePorts} from '../lib/format';
import {Badge, Confirm, ErrorBox, Field, ListView, Loading, PageHeader, Progress, Secret, useAction, valueOf} from '../components/ui';
import {usePaging} from './paging';

export function HostsPage() {
  const {query} = useLocation();
  const paging = usePaging();
  const hosts = useResource((signal) => listPage<Host>('/hosts', 'hosts', {state: query.state, limit: '50', page_token: paging.token}, signal),
                            [query.state, paging.token], ['hosts']);
  const [adding, setAdding] = useState(false);
  // Hosts change by their agents' reports (state, last seen, ports), which are not events.
  useInterval(hosts.reload, 5000);
  return (
    <section>
      <PageHeader title="Hosts">
        <button type="button" onClick={() => setAdding(!adding)} aria-expanded={adding}>Add host</button>
      </PageHeader>
      {adding && <div class="card"><AddHost /></div>}
      <ListView list={hosts} what="hosts" empty={<>No hosts{query.state ? ` in state ${query.state}` : ''} yet.</>} paging={paging}>{(items) => (
        <div class="table-wrap">
          <table>
            <thead><tr><th>Name</th><th>State</th><th>Address</th><th>Game build</th><th>Servers</th><th>Free ports</th><th>Memory</th><th>Last seen</th></tr></thead>
            <tbody>
              {items.map((host) => (
                <tr>
                  <td><a href={`/hosts/${host.id}`}>{host.name}</a>{host.drained && <span class="tag">drained</span>}</td>
                  <td><Badge state={host.state} />{host.diskLow && <span class="badge bad">disk nearly full</span>}</td>
                  <td><code>{host.address}</code></td>
                  <td>{host.installedBuild || <span class="muted">not installed</span>}</td>
                  <td>{host.serverCount ?? 0} / {host.maxInstances ?? 0}</td>
                  <td>{freePorts(host.portFirst, host.portLast, host.portsInUse)}</td>
                  <td>{host.memoryBytes ? bytes(host.memoryBytes) : ''}</td>
                  <td>{ago(host.lastSeenAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}</ListView>
    </section>
  );
}

// A one-time enrollment command to run on a host (a new host's, or after a revocation).
function Enrollment({heading, enrollment, children}: {heading: string; enrollment: CreateHostResponse; children?: ComponentChildren}) {
  return (
    <div class="enrolled" role="status">
      <h3>{heading}</h3>
      <p>Run this on the host, as root, before {new Date(enrollment.tokenExpiresAt ?? '').toLocaleString()}. It is shown once:</p>
      <Secret text={enrollment.enrollCommand ?? ''} />
      {children}
    </div>
  );
}

// The add-host form; on success the one-time enrollment command to run on the host.
export function AddHost() {
  const [name, setName] = useState('');
  const [address, setAddress] = useState('');
  const [created, setCreated] = useState<CreateHostResponse>();
  const action = useAction(async () => {
    setCreated(await api<CreateHostResponse>('/hosts', {body: {name, address}}));
  });
  if (created) {
    return (
      <Enrollment heading={`Host “${created.host?.name}” added`} enrollment={created}>
        <p><a href={`/hosts/${created.host?.id}`}>Open the host</a> to watch it enroll.</p>
      </Enrollment>
    );
  }
  return (
    <form class="inline-form" onSubmit={(event) => {
      event.preventDefault();
      action.go();
    }}>
      <Field label="Name" error={action.error?.field === 'name' ? action.error.message : undefined}>
        <input name="host-name" required value={name} onInput={(event) => setName(valueOf(event))} placeholder="fra-1" />
      </Field>
      <Field label="Agent address" hint="host:port of its agent" error={action.error?.field === 'address' ? action.error.message : undefined}>
        <input name="host-address" required value={address} onInput={(event) => setAddress(valueOf(event))} placeholder="10.0.0.5:7543" />
      </Field>
      <button type="submit" disabled={action.busy}>Add host</button>
      {action.error && !action.error.field && <ErrorBox error={action.error} />}
    </form>
  );
}

export function HostPage() {
  const {params} = useRoute();
  const {route} = useLocation();
  const host = useResource((signal) => api<Host>(`/hosts/${params.id}`, {signal}), [params.id], ['hosts']);
  const [installJob, setInstallJob] = useState<string>();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const follow = useJobStream(installJob);
  // The finished install set the host's build; its reports change the rest (seen, ports).
  useEffect(() => {
    if (follow.done) host.reload();
  }, [follow.done]);
  useInterval(host.reload, 5000);
  const install = useAction(async () => {
    const ref = await api<JobRef>(`/hosts/${params.id}/install`, {body: {}});
    setInstallJob(ref.jobId);
  });
  const [update, setUpdate] = useState<CheckForUpdate>();
  const check = useAction(async () => {
    setUpdate(await api<CheckForUpdate>(`/hosts/${params.id}/update`));
  });
  const drain = useAction(async (undo: boolean) => {
    await api(`/hosts/${params.id}/${undo ? 'undrain' : 'drain'}`, {body: {}});
    host.reload();
  });
  const remove = useAction(async () => {
    await api(`/hosts/${params.id}`, {method: 'DELETE'});
    route('/hosts');
  });
  const [confirmRevoke, setConfirmRevoke] = useState(false);
  const [reenroll, setReenroll] = useState<CreateHostResponse>();
  const revoke = useAction(async () => {
    setReenroll(await api<CreateHostResponse>(`/hosts/${params.id}/revoke`, {body: {}}));
    host.reload();
  });
  const h = host.data;
  if (!h) return <section><PageHeader title="Host" /><ErrorBox error={host.error} />{!host.error && <Loading what="the host" />}</section>;
  const free = freePorts(h.portFirst, h.portLast, h.portsInUse);
  return (
    <section>
      <PageHeader title={`Host ${h.name}`}>
        <button type="button" onClick={() => install.go()} disabled={install.busy || (!!installJob && !follow.done)}>
          {h.installedBuild ? 'Update game' : 'Install game'}
        </button>
        <button type="button" class="secondary" onClick={() => drain.go(!!h.drained)} disabled={drain.busy}>
          {h.drained ? 'Undrain' : 'Drain'}
        </button>
        <button type="button" class="secondary" onClick={() => setConfirmRevoke(true)} disabled={revoke.busy}>Revoke certificate</button>
        <button type="button" class="danger" onClick={() => setConfirmDelete(true)}>Delete</button>
      </PageHeader>
      <ErrorBox error={install.error ?? drain.error ?? remove.error ?? revoke.error ?? check.error ?? host.error} />
      {reenroll && (
        <Enrollment heading="Certificate revoked" enrollment={reenroll}>
          <p>Its agent is refused until it enrolls again with this command (a new key); then restart the agent. Its servers keep running.</p>
        </Enrollment>
      )}
      {installJob && (
        <div class="card" aria-live="polite">
          <h2>Installing the game</h2>
          <Progress percent={follow.progress?.percent} label={follow.progress?.phase ?? 'queued'} />
          <p class="muted">{follow.progress?.message ?? follow.progress?.phase ?? 'waiting for the host'}</p>
          {follow.done && <p class={follow.job?.state === 'succeeded' ? 'ok' : 'error'} role="status">
            Install {follow.job?.state}{follow.job?.error?.message ? `: ${follow.job.error.message}` : ''}
          </p>}
          <p><a href={`/jobs/${installJob}`}>The job's event log</a></p>
        </div>
      )}
      <dl class="facts">
        <dt>State</dt><dd><Badge state={h.state} />{h.drained && <span class="tag">drained: given no new servers</span>}
          {h.diskLow && <span class="badge bad">disk nearly full</span>}</dd>
        <dt>Address</dt><dd><code>{h.address}</code></dd>
        <dt>Game build</dt><dd>{h.installedBuild || 'not installed'}{' '}
          {update ? (
            <span class={update.updateAvailable ? 'tag update' : 'tag'} role="status">
              {update.updateAvailable ? `update available: build ${update.latestBuildId}` : `the newest (checked ${ago(update.checkedAt)})`}
            </span>
          ) : (
            <button type="button" class="link" onClick={() => check.go()} disabled={check.busy || h.state === 'enrolling'}>
              {check.busy ? 'checking…' : 'check for an update'}</button>
          )}</dd>
        <dt>Servers</dt><dd><a href={`/servers?host_id=${h.id}`}>{h.serverCount ?? 0} of {h.maxInstances ?? 0}</a></dd>
        <dt>Ports</dt><dd>{h.portFirst}–{h.portLast}: {free} free{h.portsInUse?.length ? `, in use: ${h.portsInUse.join(', ')}` : ''}</dd>
        <dt>Memory</dt><dd>{bytes(h.memoryBytes)}</dd>
        <dt>Last seen</dt><dd>{ago(h.lastSeenAt)}</dd>
        <dt>Added</dt><dd>{ago(h.createdAt)}</dd>
        <dt>Certificate</dt><dd>{h.certificateExpiresAt
          ? `valid until ${dateTime(h.certificateExpiresAt)}, renewed by the controller before then`
          : 'none: the host is enrolling'}</dd>
      </dl>
      {!!h.unmanagedInstances?.length && (
        <>
          <h2>Instances not managed here</h2>
          <p class="muted">Made on the agent directly (l4d2ctl, grpcurl) or left behind; the controller never touches them.</p>
          <table>
            <thead><tr><th>Name</th><th>Port</th><th>State</th></tr></thead>
            <tbody>{h.unmanagedInstances.map((one) => <tr><td>{one.name}</td><td>{one.port}</td><td><Badge state={one.state} /></td></tr>)}</tbody>
          </table>
        </>
      )}
      <Confirm open={confirmDelete} title={`Delete host ${h.name}?`} action="Delete host"
               onCancel={() => setConfirmDelete(false)} onConfirm={() => {
                 setConfirmDelete(false);
                 remove.go();
               }}>
        <p>The controller forgets the host and its certificate stops being accepted. A host that still has servers cannot be deleted.</p>
      </Confirm>
      <Confirm open={confirmRevoke} title={`Revoke the certificate of ${h.name}?`} action="Revoke certificate"
               onCancel={() => setConfirmRevoke(false)} onConfirm={() => {
                 setConfirmRevoke(false);
                 revoke.go();
               }}>
        <p>For a host whose key may have been stolen: the controller refuses its agent and its reports at once, until the agent enrolls again with the one-time command shown next. Its servers keep running but cannot be managed meanwhile.</p>
      </Confirm>
    </section>
  );
}
