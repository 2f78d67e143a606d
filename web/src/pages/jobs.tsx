// Jobs: the list (live), one job's event log followed live, cancel.
import {useEffect, useRef} from 'preact/hooks';
import {useLocation, useRoute} from 'preact-iso';
import {api, listPage} from '../api/client';
import {useJobStream} from '../api/jobs';
import {useResource} from '../api/resource';
import type {Job, JobEvent} from '../api/types';
import {ago, dateTime} from '../lib/format';
import {Badge, ErrorBox, Field, ListView, Loading, PageHeader, Progress, useAction, valueOf} from '../components/ui';
import {useActorNames} from './audit';
import {usePaging} from './paging';

const jobStates = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
const maxFollowed = 5;

export function JobsPage() {
  const {query} = useLocation();
  const paging = usePaging();
  const list = useResource((signal) => listPage<Job>('/jobs', 'jobs', {state: query.state, kind: query.kind, server_id: query.server_id,
                                                                        limit: '50', page_token: paging.token}, signal),
                           [query.state, query.kind, query.server_id, paging.token], ['jobs']);
  const name = useActorNames();
  // Each followed job is a stream, and a user holds at most 16 (the fleet's among them): the
  // first few running jobs shown get a live bar, the rest say "running".
  const runningBefore = (index: number) =>
    (list.data?.items ?? []).slice(0, index).filter((job) => job.state === 'running').length;
  const active = (list.data?.items ?? []).some((job) => job.state === 'queued' || job.state === 'running');
  // Running jobs change without an audit entry per step: look again every 2 s while any runs.
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(list.reload, 2000);
    return () => clearInterval(timer);
  }, [active]);
  return (
    <section>
      <PageHeader title="Jobs" />
      <div class="filters">
        <Field label="State">
          <select name="state" value={query.state ?? ''} onChange={(event) => paging.filter({state: valueOf(event)})}>
            <option value="">any</option>
            {jobStates.map((state) => <option value={state}>{state}</option>)}
          </select>
        </Field>
        <Field label="Kind">
          <select name="kind" value={query.kind ?? ''} onChange={(event) => paging.filter({kind: valueOf(event)})}>
            <option value="">any</option>
            {['server.create', 'server.start', 'server.stop', 'server.restart', 'server.reset', 'server.delete',
              'server.change_blueprint', 'overlay.sync', 'host.install'].map((kind) => <option value={kind}>{kind}</option>)}
          </select>
        </Field>
      </div>
      <ListView list={list} what="jobs" empty="No jobs match." paging={paging}>{(items) => (
        <div class="table-wrap">
          <table>
            <thead><tr><th>Job</th><th>Kind</th><th>State</th><th>Progress</th><th>Created</th><th>By</th></tr></thead>
            <tbody>{items.map((job, index) => (
              <tr>
                <td><a href={`/jobs/${job.id}`}><code>{job.id}</code></a></td>
                <td>{job.kind}</td>
                <td><Badge state={job.state} />{job.cancelRequested && job.state === 'running' && <span class="tag">cancelling</span>}</td>
                <td>{job.state === 'running' && runningBefore(index) < maxFollowed ? <JobProgress jobId={job.id!} />
                     : job.state === 'running' ? <Progress percent={undefined} label="running" />
                     : job.error?.message ? <span class="error-text">{job.error.message}</span> : ''}</td>
                <td title={dateTime(job.createdAt)}>{ago(job.createdAt)}</td>
                <td title={job.createdBy}>{name(job.createdBy)}</td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}</ListView>
    </section>
  );
}

// A running job's progress bar in the list, from its own event stream.
function JobProgress({jobId}: {jobId: string}) {
  const follow = useJobStream(jobId);
  return <Progress percent={follow.progress?.percent} label={follow.progress?.phase ?? 'running'} />;
}

export function JobPage() {
  const {params} = useRoute();
  const job = useResource((signal) => api<Job>(`/jobs/${params.id}`, {signal}), [params.id], ['jobs']);
  const follow = useJobStream(params.id);
  const log = useRef<HTMLOListElement>(null);
  const name = useActorNames();
  const cancel = useAction(async () => {
    await api(`/jobs/${params.id}/cancel`, {body: {}});
    job.reload();
  });
  useEffect(() => {
    const node = log.current;
    if (node) node.scrollTop = node.scrollHeight;
  }, [follow.events.length]);
  const j = follow.job ?? job.data;
  if (!j) return <section><PageHeader title="Job" /><ErrorBox error={job.error} />{!job.error && <Loading what="the job" />}</section>;
  const finished = ['succeeded', 'failed', 'cancelled'].includes(j.state ?? '');
  return (
    <section>
      <PageHeader title={`Job ${j.kind}`}>
        {!finished && <button type="button" class="danger" onClick={() => cancel.go()} disabled={cancel.busy || j.cancelRequested}>
          {j.cancelRequested ? 'Cancelling…' : 'Cancel'}</button>}
      </PageHeader>
      <ErrorBox error={cancel.error} />
      <dl class="facts">
        <dt>Id</dt><dd><code>{j.id}</code></dd>
        <dt>State</dt><dd><Badge state={j.state} /></dd>
        <dt>Attempt</dt><dd>{j.attempt ?? 0} of {j.maxAttempts ?? 0}</dd>
        <dt>Created</dt><dd>{dateTime(j.createdAt)} by {name(j.createdBy)}</dd>
        {j.params && <><dt>Parameters</dt><dd><code>{JSON.stringify(j.params)}</code></dd></>}
        {j.error?.message && <><dt>Error</dt><dd class="error-text">{j.error.code}: {j.error.message}</dd></>}
        {j.result && <><dt>Result</dt><dd><code>{JSON.stringify(j.result)}</code></dd></>}
      </dl>
      {!finished && <Progress percent={follow.progress?.percent} label={follow.progress?.phase ?? j.state ?? ''} />}
      <h2>Events</h2>
      {follow.events.length === 0 ? <p class="muted">No events yet.</p> : (
        <ol class="events" ref={log} tabIndex={0} aria-label="Job events">
          {follow.events.map((event) => <li><time>{event.at ? new Date(event.at).toLocaleTimeString() : ''}</time> <span class="kind">{event.kind}</span> {describe(event)}</li>)}
        </ol>
      )}
    </section>
  );
}

function describe(event: JobEvent): string {
  const data = event.data as unknown;
  if (typeof data === 'string') return data;
  if (data && typeof data === 'object') {
    const progress = data as {phase?: string; percent?: number; message?: string};
    if (event.kind === 'progress') {
      return `${progress.phase ?? ''} ${progress.percent !== undefined && progress.percent >= 0 ? Math.round(progress.percent) + '%' : ''} ${progress.message ?? ''}`.trim();
    }
    return JSON.stringify(data);
  }
  return '';
}
