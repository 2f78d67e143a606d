// The fleet at a glance: hosts and servers by state, players now and over 24 h, jobs, and the
// newest audit entries, all following the live stream. With no host yet, the first-run steps.
import {api, isAdmin, listPage} from '../api/client';
import {recentAudit} from '../api/live';
import {useResource} from '../api/resource';
import type {AuditEntry, FleetSummary} from '../api/types';
import {Chart} from '../components/chart';
import {AddHost} from './hosts';
import {AuditRows} from './audit';
import {Badge, ErrorBox, Loading, PageHeader, Stat} from '../components/ui';

export function DashboardPage() {
  const summary = useResource((signal) => api<FleetSummary>('/summary', {signal}), [],
                              ['servers', 'hosts', 'jobs']);
  const audit = useResource((signal) => listPage<AuditEntry>('/audit', 'entries', {limit: '10'}, signal), [], []);
  if (!summary.data) {
    return <section><PageHeader title="Dashboard" /><ErrorBox error={summary.error} />{!summary.error && <Loading what="the fleet" />}</section>;
  }
  const s = summary.data;
  if (!s.hosts && isAdmin()) return <FirstRun />;
  // Live entries first, then the loaded page, without repeating one.
  const seen = new Set<string>();
  const entries = [...recentAudit.value, ...(audit.data?.items ?? [])].filter((entry) => {
    if (!entry.id || seen.has(entry.id)) return false;
    seen.add(entry.id);
    return true;
  }).slice(0, 10);
  const history = s.playersHistory ?? [];
  return (
    <section>
      <PageHeader title="Dashboard" />
      <ErrorBox error={summary.error} />
      <div class="stats">
        <Stat label="players online" value={s.players ?? 0} />
        <Stat label="servers" value={s.servers ?? 0}>
          <StateList counts={s.serversByState} link={(state) => `/servers?actual_state=${state}`} />
        </Stat>
        {isAdmin() && (
          <Stat label="hosts" value={s.hosts ?? 0}>
            <StateList counts={s.hostsByState} link={(state) => `/hosts?state=${state}`} />
          </Stat>
        )}
        <Stat label="jobs running" value={s.jobsActive ?? 0}>
          <a href="/jobs?state=running">see running</a>
        </Stat>
        <Stat label="jobs failed (24 h)" value={s.jobsFailed ?? 0}>
          <a href="/jobs?state=failed">see failed</a>
        </Stat>
      </div>
      <Chart title="Players online, last 24 hours" height={200} range={last24h()}
             times={history.map((point) => Date.parse(point.at ?? '') / 1000)}
             series={[{label: 'players', values: history.map((point) => point.players ?? 0),
                       format: (value) => String(Math.round(value)), integer: true}]} />
      <h2>Newest audit entries</h2>
      <AuditRows entries={entries} />
      <p><a href="/audit">The whole audit log</a></p>
    </section>
  );
}

// The last 24 hours to the minute (the chart is drawn again when the minute changes).
function last24h(): [number, number] {
  const now = Math.floor(Date.now() / 60000) * 60;
  return [now - 86400, now];
}

function StateList({counts, link}: {counts?: Record<string, number>; link: (state: string) => string}) {
  const states = Object.entries(counts ?? {}).filter(([, count]) => count > 0);
  if (!states.length) return null;
  return (
    <ul class="state-list">
      {states.map(([state, count]) => (
        <li><a href={link(state || 'unknown')}><Badge state={state || 'unknown'} /> {count}</a></li>
      ))}
    </ul>
  );
}

function FirstRun() {
  return (
    <section>
      <PageHeader title="Welcome to left4me" />
      <div class="card">
        <h2>Add your first host</h2>
        <p>A host is a Debian machine that runs game servers with <code>l4d2-agent</code>. To add one:</p>
        <ol>
          <li>Name it and give the address its agent listens on (below). The controller answers with a
            one-time command.</li>
          <li>On the host, as root, run that command: the agent enrolls with this controller and gets its
            certificate.</li>
          <li>The host turns <em>ready</em> here within seconds; then install the game on it from the Hosts page.</li>
        </ol>
        <p>From a terminal instead: <code>l4d2ctl hosts create NAME --address HOST:7543</code>.</p>
        <AddHost />
      </div>
    </section>
  );
}
