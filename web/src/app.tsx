// The shell: who is signed in decides between the sign-in page and the console; the URL names
// every page (preact-iso's router on the History API), so a reload or a shared link lands on
// the same view. A session that ends mid-use shows the sign-in page and comes back to where it was.
import {useEffect} from 'preact/hooks';
import {LocationProvider, Route, Router, useLocation} from 'preact-iso';
import {isAdmin, loadSession, me, sessionExpired, signOut} from './api/client';
import {connected, startLive, stopLive} from './api/live';
import {Loading} from './components/ui';
import {AccountPage} from './pages/account';
import {AuditPage} from './pages/audit';
import {BlueprintPage, BlueprintsPage} from './pages/blueprints';
import {SchedulePage, SchedulesPage} from './pages/schedules';
import {AlertPage, AlertsPage} from './pages/alerts';
import {UpdatesPage} from './pages/updates';
import {DashboardPage} from './pages/dashboard';
import {HostPage, HostsPage} from './pages/hosts';
import {JobPage, JobsPage} from './pages/jobs';
import {OverlayPage, OverlaysPage} from './pages/overlays';
import {PlayerPage, PlayersPage} from './pages/players';
import {ServerPage} from './pages/server';
import {ServersPage} from './pages/servers';
import {SignInPage} from './pages/signin';
import {TokensPage} from './pages/tokens';
import {UsersPage} from './pages/users';

export function App() {
  useEffect(() => {
    loadSession().catch(() => {
      me.value = null;
    });
  }, []);
  return (
    <LocationProvider>
      <Shell />
    </LocationProvider>
  );
}

function Shell() {
  const location = useLocation();
  const user = me.value;
  const signedIn = !!user && !sessionExpired.value;
  useEffect(() => {
    if (signedIn) startLive();
    else stopLive();
  }, [signedIn]);
  if (user === undefined) return <main class="center"><Loading what="left4me" /></main>;
  if (!signedIn) {
    return <SignInPage expired={sessionExpired.value} next={location.url} />;
  }
  return (
    <div class="layout">
      <a class="skip" href="#main">Skip to content</a>
      <Nav />
      <main id="main" tabIndex={-1}>
        <Router>
          <Route path="/" component={DashboardPage} />
          <Route path="/servers" component={ServersPage} />
          <Route path="/servers/:id" component={ServerPage} />
          <Route path="/servers/:id/:tab" component={ServerPage} />
          <Route path="/players" component={PlayersPage} />
          <Route path="/players/:steamId" component={PlayerPage} />
          <Route path="/hosts" component={adminOnly(HostsPage)} />
          <Route path="/hosts/:id" component={adminOnly(HostPage)} />
          <Route path="/updates" component={adminOnly(UpdatesPage)} />
          <Route path="/blueprints" component={BlueprintsPage} />
          <Route path="/blueprints/:id" component={BlueprintPage} />
          <Route path="/schedules" component={SchedulesPage} />
          <Route path="/schedules/:id" component={SchedulePage} />
          <Route path="/alerts" component={AlertsPage} />
          <Route path="/alerts/:id" component={AlertPage} />
          <Route path="/overlays" component={OverlaysPage} />
          <Route path="/overlays/:id" component={OverlayPage} />
          <Route path="/jobs" component={JobsPage} />
          <Route path="/jobs/:id" component={JobPage} />
          <Route path="/users" component={adminOnly(UsersPage)} />
          <Route path="/tokens" component={TokensPage} />
          <Route path="/audit" component={AuditPage} />
          <Route path="/account" component={AccountPage} />
          <Route default component={NotFound} />
        </Router>
      </main>
    </div>
  );
}

function Nav() {
  const {path, route} = useLocation();
  const admin = isAdmin();
  const links: [string, string][] = [
    ['/', 'Dashboard'], ['/servers', 'Servers'], ['/players', 'Players'], ...(admin ? [['/hosts', 'Hosts'] as [string, string], ['/updates', 'Updates'] as [string, string]] : []),
    ['/blueprints', 'Blueprints'], ['/overlays', 'Overlays'], ['/schedules', 'Schedules'], ['/alerts', 'Alerts'], ['/jobs', 'Jobs'],
    ...(admin ? [['/users', 'Users'] as [string, string]] : []), ['/tokens', 'API tokens'], ['/audit', 'Audit log'],
  ];
  const current = (href: string) => href === '/' ? path === '/' : path === href || path.startsWith(href + '/');
  return (
    <nav class="sidebar" aria-label="Main">
      <a class="brand" href="/">left4me</a>
      <ul>
        {links.map(([href, label]) => (
          <li><a href={href} aria-current={current(href) ? 'page' : undefined}>{label}</a></li>
        ))}
      </ul>
      <div class="who">
        <span class={`live ${connected.value ? 'on' : 'off'}`} title={connected.value ? 'Live updates on' : 'Reconnecting…'}
              role="status">{connected.value ? 'live' : 'reconnecting'}</span>
        <a href="/account" aria-current={path === '/account' ? 'page' : undefined}>{me.value?.username}</a>
        <button type="button" class="link" onClick={async () => {
          await signOut().catch(() => undefined);
          route('/');
        }}>Sign out</button>
      </div>
    </nav>
  );
}

// Pages of admin routes: an operator gets a plain answer instead of the API's refusals.
function adminOnly<P extends object>(Page: (props: P) => preact.JSX.Element) {
  return (props: P) => isAdmin() ? <Page {...props} /> : (
    <section>
      <h1>For administrators</h1>
      <p>Hosts and users are managed by administrators. <a href="/">Go to the dashboard</a>.</p>
    </section>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Not found</h1>
      <p>There is no page here. <a href="/">Go to the dashboard</a>.</p>
    </section>
  );
}
