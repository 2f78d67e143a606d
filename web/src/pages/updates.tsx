// Game updates (docs/updates.md), for admins: the newest build Steam offers and each host's, as
// the last check saw them; the update policy (off, notify, rolling with a deadline and a warning,
// servers at a time, hosts on a mode of their own); a check or a rolling update now.
import {useEffect, useState} from 'preact/hooks';
import {api} from '../api/client';
import {useInterval, useResource} from '../api/resource';
import type {UpdateJobQueued, UpdatePolicy, UpdateStatus} from '../api/types';
import {ErrorBox, Field, Loading, PageHeader, useAction, valueOf} from '../components/ui';
import {dateTime, parseSpan, spanText} from '../lib/format';

const modes: [string, string][] = [
  ['off', 'Off: never checked'],
  ['notify', 'Notify: checked, a new build is an alert'],
  ['rolling', 'Rolling: installed, servers restarted when empty'],
];

// "7200s" (protobuf's JSON duration) as "2h"; "" for none.
const spanOf = (duration: string | undefined) => spanText(Number.parseFloat(duration ?? '0'));

export function UpdatesPage() {
  const status = useResource((signal) => api<UpdateStatus>('/updates', {signal}), [], ['jobs', 'hosts']);
  // A check ends unannounced (only a new build is audited): looked at again every 5 s.
  useInterval(status.reload, 5000);
  const [policy, setPolicy] = useState<UpdatePolicy>({});
  const [deadline, setDeadline] = useState('');
  const [lead, setLead] = useState('');
  const [field, setField] = useState<string>();
  const [saved, setSaved] = useState(false);
  const [queued, setQueued] = useState<string>();
  useEffect(() => {
    const current = status.data?.policy;
    if (!current) return;
    setPolicy(current);
    setDeadline(spanOf(current.deadline) || '0s');
    setLead(spanOf(current.warningLead) || '0s');
  }, [status.data ? status.data.policy?.updatedAt ?? 'defaults' : undefined]);
  const edit = (change: Partial<UpdatePolicy>) => {
    setSaved(false);
    setPolicy({...policy, ...change});
  };
  const save = useAction(async () => {
    setField(undefined);
    const deadlineSeconds = deadline.trim() === '0' ? 0 : parseSpan(deadline);
    const leadSeconds = lead.trim() === '0' ? 0 : parseSpan(lead);
    if (Number.isNaN(deadlineSeconds)) return setField('deadline');
    if (Number.isNaN(leadSeconds)) return setField('lead');
    const {updatedAt: _at, updatedBy: _by, ...input} = policy;
    await api('/updates/policy', {method: 'PUT', body: {...input, deadline: `${deadlineSeconds}s`, warningLead: `${leadSeconds}s`}});
    setSaved(true);
    status.reload();
  });
  const check = useAction(async () => {
    setQueued((await api<UpdateJobQueued>('/updates/check', {method: 'POST'})).jobId);
    status.reload();
  });
  const roll = useAction(async () => {
    setQueued((await api<UpdateJobQueued>('/updates/roll', {method: 'POST'})).jobId);
    status.reload();
  });
  const s = status.data;
  if (!s) return <section><PageHeader title="Game updates" /><ErrorBox error={status.error} />{!status.error && <Loading what="the builds" />}</section>;
  const hostModes = policy.hostModes ?? {};
  const behind = (s.hosts ?? []).reduce((sum, host) => sum + (host.serversBehind ?? 0), 0);
  return (
    <section>
      <PageHeader title="Game updates">
        <button type="button" onClick={() => check.go()} disabled={check.busy}>Check now</button>
        <button type="button" onClick={() => roll.go()} disabled={roll.busy}
                title="Install the newest build on every host not off, then restart each server when it is empty">Roll out now</button>
      </PageHeader>
      <ErrorBox error={check.error ?? roll.error} />
      {queued && <p class="ok" role="status">Queued: <a href={`/jobs/${queued}`}>job {queued.slice(-8)}</a>.</p>}
      <dl class="facts">
        <dt>Newest build</dt><dd>{s.latestBuild || <span class="muted">not known yet</span>}</dd>
        <dt>Last check</dt><dd>{s.checkedAt ? dateTime(s.checkedAt) : 'never'}{s.checkJobId && <> · <a href={`/jobs/${s.checkJobId}`}>its job</a></>}</dd>
        <dt>Rolling update</dt><dd>{s.updateJobId ? <a href={`/jobs/${s.updateJobId}`}>the latest</a> : <span class="muted">none yet</span>}</dd>
        <dt>Servers behind</dt><dd>{behind === 0 ? 'none' : `${behind} running an older build than their host's`}</dd>
      </dl>
      <h2>Hosts</h2>
      {s.hosts?.length ? (
        <div class="table-wrap">
          <table aria-label="Hosts' builds">
            <thead><tr><th>Host</th><th>Installed</th><th>Newest</th><th>Servers behind</th><th>Checked</th><th>Mode</th></tr></thead>
            <tbody>{s.hosts.map((host) => (
              <tr>
                <td><a href={`/hosts/${host.hostId}`}>{host.hostName}</a></td>
                <td>{host.installedBuild || <span class="muted">not installed</span>}</td>
                <td>{host.latestBuild || '—'}{host.latestBuild && host.installedBuild && host.latestBuild !== host.installedBuild &&
                     <span class="badge busy">behind</span>}</td>
                <td>{host.serversBehind ?? 0}</td>
                <td>{host.error ? <span class="bad" title={host.error}>failed: {host.error}</span> : dateTime(host.checkedAt)}</td>
                <td>
                  <select aria-label={`Mode of ${host.hostName}`} value={hostModes[host.hostId ?? ''] ?? 'fleet'}
                          onChange={(event) => {
                            const next = {...hostModes};
                            const mode = valueOf(event);
                            if (mode === 'fleet') delete next[host.hostId ?? ''];
                            else next[host.hostId ?? ''] = mode;
                            edit({hostModes: next});
                          }}>
                    <option value="fleet">as the fleet</option>
                    {modes.map(([mode]) => <option value={mode}>{mode}</option>)}
                  </select>
                </td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      ) : <p class="muted">No host checked yet: hosts are asked every hour once they have enrolled, or now with “Check now”.</p>}
      <h2>Policy</h2>
      <form class="editor" onSubmit={(event) => {
        event.preventDefault();
        save.go();
      }}>
        <Field label="When Steam has a newer build">
          <select name="mode" value={policy.mode} onChange={(event) => edit({mode: valueOf(event)})}>
            {modes.map(([mode, label]) => <option value={mode}>{label}</option>)}
          </select>
        </Field>
        <Field label="Deadline" hint="A server with players this long after the update began is restarted all the same (0: never)"
               error={field === 'deadline' ? 'A span like 2h or 90m' : undefined}>
          <input name="deadline" value={deadline} onInput={(event) => { setSaved(false); setDeadline(valueOf(event)); }} />
        </Field>
        <Field label="Warn the players" hint="This long before the deadline"
               error={field === 'lead' ? 'A span like 5m' : undefined}>
          <input name="warningLead" value={lead} onInput={(event) => { setSaved(false); setLead(valueOf(event)); }} />
        </Field>
        <Field label="Warning" hint="A console command; %s is the time left. Empty: no warning">
          <input name="warning" value={policy.warning ?? ''} onInput={(event) => edit({warning: valueOf(event)})} />
        </Field>
        <Field label="Servers restarting at once" hint="Fleet-wide">
          <input name="maxParallel" type="number" min={1} max={100} value={policy.maxParallel ?? 2}
                 onInput={(event) => edit({maxParallel: Number(valueOf(event))})} />
        </Field>
        <ErrorBox error={save.error} />
        {saved && <p class="ok" role="status">Saved.</p>}
        <button type="submit" disabled={save.busy}>Save policy</button>
        {policy.updatedAt && <p class="muted">Last changed {dateTime(policy.updatedAt)}.</p>}
      </form>
    </section>
  );
}
