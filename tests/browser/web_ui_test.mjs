// The web UI end to end in Debian's Chromium (playwright-core), against the real controller and
// agent that tests/browser/web_e2e started with deploy/dev/up: what a new operator does first,
// each step checked on the page as a person would see it, with axe-core on every page and
// screenshots of every page at 1280 and 390 px, light and dark.
//
// Environment (set by web_e2e): L4D2_E2E_URL, L4D2_E2E_PASSWORD (user "admin"),
// L4D2_DEV_DIR (the stack's directory), L4D2_E2E_CONTROLLER (its binary, for a change made
// while it is down), L4D2_E2E_SCREENSHOTS (where the screenshots go).
import {execFileSync, spawnSync} from 'node:child_process';
import {mkdirSync, readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const tools = createRequire(join(here, '..', 'tools', 'package.json'));
const {chromium} = tools('playwright-core');
const axeSource = readFileSync(tools.resolve('axe-core/axe.min.js'), 'utf8');
const base = process.env.L4D2_E2E_URL;
const password = process.env.L4D2_E2E_PASSWORD;
const devDir = process.env.L4D2_DEV_DIR;
const controllerBinary = process.env.L4D2_E2E_CONTROLLER;
const shots = process.env.L4D2_E2E_SCREENSHOTS;
const database = `sqlite3:${devDir}/controller.db`;
const started = Date.now();
let passed = 0;

function step(what) {
  passed++;
  console.log(`ok    ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

async function signIn(page, username, secret) {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(secret);
  await page.getByRole('button', {name: 'Sign in'}).click();
  await page.getByRole('navigation', {name: 'Main'}).waitFor();
}

// No serious or critical accessibility violation on the page as it is now.
const axeProblems = [];
async function checkAccessibility(page, name) {
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, {resultTypes: ['violations']});
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  });
  for (const violation of violations) axeProblems.push(`${name}: ${violation}`);
}

// Waits until the page has loaded what it shows (no "Loading" left).
async function settled(page) {
  await page.waitForFunction(() => !document.body.innerText.includes('Loading'), null, {timeout: 15000});
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const pageErrors = [];
let current;  // the page a failure is photographed on
const cspViolations = [];
function watch(page) {
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
}

try {
  const context = await browser.newContext({viewport: {width: 1280, height: 900}});
  // Steam's avatar host cannot be reached here: the test answers for it (the page loads avatars
  // from there, as the controller's content security policy allows).
  const avatarsAsked = [];
  await context.route('https://avatars.steamstatic.com/**', (route) => {
    avatarsAsked.push(route.request().url());
    route.fulfill({contentType: 'image/svg+xml', body:
      '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="#0f766e"/>' +
      '<circle cx="32" cy="26" r="12" fill="#ccfbf1"/><rect x="14" y="42" width="36" height="22" rx="11" fill="#ccfbf1"/></svg>'});
  });
  const page = await context.newPage();
  current = page;
  watch(page);
  page.setDefaultTimeout(20000);

  // A shared link before signing in: the sign-in page, then that page.
  await page.goto(`${base}/hosts`);
  await page.getByRole('button', {name: 'Sign in'}).waitFor();
  await checkAccessibility(page, 'sign in');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', {name: 'Sign in'}).click();
  await page.getByRole('alert').filter({hasText: /password|credentials|sign/i}).waitFor();
  await signIn(page, 'admin', password);
  if (new URL(page.url()).pathname !== '/hosts') throw new Error('sign-in did not return to /hosts: ' + page.url());
  await page.getByRole('link', {name: 'local'}).waitFor();
  step('signed in from a shared link, back on the hosts page, the local host listed');

  // Install the game, watching the progress bar reach 100 %.
  await page.getByRole('link', {name: 'local'}).click();
  await page.getByRole('heading', {name: 'Host local'}).waitFor();
  await page.getByRole('button', {name: /Install game|Update game/}).click();
  await page.getByText('Install succeeded').waitFor({timeout: 120000});
  const value = await page.locator('progress').first().evaluate((bar) => bar.value);
  if (value !== 100) throw new Error('the progress bar ended at ' + value);
  const build = page.locator('dt:has-text("Game build") + dd');
  await page.waitForFunction(() => !/not installed/.test(document.querySelector('dl.facts')?.innerText ?? 'not installed'));
  if (!/\d/.test(await build.innerText())) throw new Error('the host shows build ' + await build.innerText());
  await page.getByRole('button', {name: 'check for an update'}).click();
  await page.locator('.tag', {hasText: /the newest|update available/}).waitFor({timeout: 60000});
  step('installed the game on the host; the progress bar reached 100 %; checked for an update');

  // An overlay from an uploaded file, synced to the host.
  await page.getByRole('link', {name: 'Overlays'}).click();
  await page.getByRole('link', {name: 'New overlay'}).click();
  await page.getByLabel('Ref').fill('e2e-cfg');
  await page.getByLabel('Folder in the game').fill('left4dead2/cfg');
  await page.locator('input[name=files]').setInputFiles({name: 'e2e.cfg', mimeType: 'text/plain', buffer: Buffer.from('sv_alltalk 1\n')});
  await page.getByText('left4dead2/cfg/e2e.cfg').waitFor();
  await page.getByRole('button', {name: 'Create overlay'}).click();
  await page.getByRole('heading', {name: 'Overlay e2e-cfg'}).waitFor();
  await page.getByRole('button', {name: 'Sync to hosts'}).click();
  await page.locator('.sync .badge', {hasText: 'succeeded'}).waitFor({timeout: 60000});
  step('created an overlay from an uploaded file and synced it to the host');

  // A blueprint: the API's validation message beside its field, then saved; YAML export.
  await page.getByRole('link', {name: 'Blueprints'}).click();
  await page.getByRole('link', {name: 'New blueprint'}).click();
  await page.getByLabel('Name', {exact: true}).fill('e2e');
  await page.getByLabel('Max players').fill('99');
  await page.getByRole('button', {name: 'Add overlay'}).click();
  await page.getByLabel('Overlay 1', {exact: true}).selectOption({label: 'e2e-cfg'});
  await page.getByRole('button', {name: 'Create blueprint'}).click();
  const fieldError = page.locator('.field.invalid', {hasText: 'Max players'}).locator('.field-error');
  await fieldError.waitFor();
  if (!/max_players|maxPlayers|1.?32|players/i.test(await fieldError.innerText())) {
    throw new Error('the max players error reads: ' + await fieldError.innerText());
  }
  await page.getByLabel('Max players').fill('8');
  await page.getByRole('button', {name: 'Create blueprint'}).click();
  await page.getByRole('heading', {name: 'Blueprint e2e'}).waitFor();
  await page.getByRole('button', {name: 'Export YAML'}).click();
  const yaml = await page.getByLabel('Blueprint as YAML').innerText();
  if (!yaml.includes('name: e2e') || !yaml.includes('e2e-cfg')) throw new Error('the exported YAML: ' + yaml);
  step('a blueprint: the refusal shown beside "Max players", then created; YAML export names its overlay');

  // A server from it, placed and started; the map and players the fake game reports over A2S.
  await page.getByRole('link', {name: 'Servers'}).click();
  await page.getByRole('button', {name: 'New server'}).click();
  await page.getByLabel('Name', {exact: true}).fill('e2e1');
  await page.locator('select[name=server-blueprint]').selectOption({label: 'e2e'});
  await page.getByRole('button', {name: 'Create server'}).click();
  await page.getByText(/It was placed on host \S+ port \d+/).waitFor({timeout: 60000});
  await page.getByRole('link', {name: 'e2e1'}).first().click();
  await page.getByRole('heading', {name: 'e2e1'}).waitFor();
  await page.locator('.status-line .badge', {hasText: 'running'}).waitFor({timeout: 90000});
  await page.locator('.status-line', {hasText: /map c\dm\d_\w+/}).waitFor({timeout: 30000});
  await page.locator('.status-line', {hasText: '0/8 players'}).waitFor({timeout: 30000});
  step('created a server from the blueprint; placed, running, the fake game\'s map and 0/8 players shown');

  // The console: a command and its output; a player joins and the page shows it live.
  await page.getByRole('tab', {name: 'console'}).click();
  await page.getByText('Console live').waitFor();
  const input = page.getByLabel('Console command');
  await input.fill('status');
  await input.press('Enter');
  await page.locator('.console .command', {hasText: 'players :'}).waitFor();
  await input.fill('fake_join Zoey');
  await input.press('Enter');
  await input.press('ArrowUp');
  if (await input.inputValue() !== 'fake_join Zoey') throw new Error('ArrowUp gave ' + await input.inputValue());
  await input.press('ArrowUp');
  if (await input.inputValue() !== 'status') throw new Error('ArrowUp twice gave ' + await input.inputValue());
  await input.fill('');
  await page.locator('.status-line', {hasText: '1/8 players'}).waitFor({timeout: 30000});
  await page.getByRole('tab', {name: 'overview'}).click();
  await page.getByRole('cell', {name: 'Zoey'}).waitFor();
  step('console: "status" answered on the page, history on the arrow keys; a joining player shown live');

  // Her join from the game's UDP log stream: her SteamID, a link to her history, the activity.
  await page.getByRole('region', {name: 'Players on the server'}).getByRole('link', {name: 'Zoey'}).waitFor({timeout: 30000});
  await page.getByRole('region', {name: 'Players on the server'}).getByRole('cell', {name: '45 ms'}).waitFor();
  await page.locator('.timeline', {hasText: 'Zoey joined'}).waitFor({timeout: 30000});
  await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Players'}).click();
  await page.getByLabel('Name or SteamID').fill('zo');
  await page.getByRole('button', {name: 'Search'}).click();
  await page.getByRole('region', {name: 'Players found'}).getByRole('link', {name: 'Zoey'}).click();
  await page.getByRole('heading', {name: 'Zoey'}).waitFor();
  await page.getByText('In a game now').waitFor();
  step('the game\'s log: Zoey on the server with her SteamID, ping and in its activity; found on the players page, in a game now');

  // Her Steam name and avatar, from the Steam Web API's stand-in through the controller.
  await page.waitForFunction(async () => {
    const answer = await (await fetch('/api/v1/players?q=zo')).json();
    return (answer.players ?? [])[0]?.profile?.personaName === 'zoey.steam';
  }, null, {timeout: 30000, polling: 500});
  await page.reload();
  await page.locator('dt:has-text("Steam name") + dd', {hasText: 'zoey.steam'}).waitFor();
  const avatar = page.locator('.player-header img.avatar');
  await avatar.waitFor();
  if (!(await avatar.evaluate((img) => img.complete && img.naturalWidth === 64))) throw new Error('the avatar did not load');
  await page.goBack();
  await page.getByRole('region', {name: 'Players found'}).locator('img.avatar').waitFor();
  if (!avatarsAsked.some((url) => url.endsWith('_medium.jpg'))) throw new Error('no avatar was asked of Steam: ' + avatarsAsked);
  const e2eServer = await page.evaluate(async () => (await (await fetch('/api/v1/servers?q=e2e1')).json()).servers[0].id);
  await page.goto(`${base}/servers/${e2eServer}`);
  await page.getByRole('region', {name: 'Players on the server'}).locator('img.avatar').waitFor();
  await page.getByRole('region', {name: 'Players on the server'}).getByText('(zoey.steam)').waitFor();
  mkdirSync(shots, {recursive: true});
  await page.screenshot({path: join(shots, 'server-players-1280-light.png'), fullPage: true});
  step('her Steam name and avatar on her page, in the search and on the server page, the avatar from Steam\'s host');

  // The controller restarts; a change made while it is down reaches the open page.
  await page.getByRole('link', {name: 'Hosts'}).click();
  await page.getByRole('link', {name: 'local'}).waitFor();
  await page.evaluate(() => { window.stayed = true; });
  const pid = execFileSync('pgrep', ['-f', `l4d2-controller --database ${database}`], {encoding: 'utf8'}).trim().split('\n')[0];
  process.kill(Number(pid), 'SIGKILL');
  await page.getByRole('status').filter({hasText: 'reconnecting'}).waitFor();
  const made = spawnSync(controllerBinary, ['--database', database, 'host', 'create', '--name', 'while-down', '--address', '10.9.9.9:7543'], {encoding: 'utf8'});
  if (made.status !== 0) throw new Error('host create: ' + made.stderr);
  await page.getByRole('status').filter({hasText: 'live'}).waitFor({timeout: 30000});
  await page.getByRole('link', {name: 'while-down'}).waitFor({timeout: 30000});
  if (!(await page.evaluate(() => window.stayed))) throw new Error('the page reloaded');
  step('controller killed and restarted: the page reconnected by itself and shows a host added meanwhile');

  // Its certificate revoked, confirmed: a new one-time enrollment command.
  await page.getByRole('link', {name: 'while-down'}).click();
  await page.getByRole('button', {name: 'Revoke certificate'}).click();
  await page.getByRole('dialog').getByRole('button', {name: 'Revoke certificate'}).click();
  await page.getByRole('status').filter({hasText: 'Certificate revoked'}).getByText('join --controller').waitFor();
  step('revoked the certificate of a host, confirmed; its new enrollment command shown once');

  // A bulk restart of the servers selected, confirmed, with a stagger.
  await page.getByRole('link', {name: 'Servers'}).click();
  await page.getByRole('checkbox', {name: 'Select e2e1'}).check();
  await page.getByRole('region', {name: 'Bulk actions'}).getByLabel('Stagger (seconds)').fill('1');
  await page.getByRole('region', {name: 'Bulk actions'}).getByRole('button', {name: 'Restart'}).click();
  await page.getByRole('dialog').getByRole('button', {name: 'Restart them'}).click();
  await page.getByText('1 job queued').waitFor();
  await page.waitForFunction(async () => {
    const answer = await (await fetch('/api/v1/jobs?kind=server.restart&state=succeeded')).json();
    return (answer.jobs ?? []).length === 1;
  }, null, {timeout: 60000, polling: 500});
  await page.locator('table.servers .badge', {hasText: 'running'}).waitFor({timeout: 60000});
  // Zoey was on it before the restart; the new game is empty, and the list says so once the
  // controller (restarted above: its reconciler's lease lapses first) has looked again.
  await page.locator('table.servers td', {hasText: '0/8'}).waitFor({timeout: 60000});
  step('a bulk restart of the selected server, confirmed; it runs again, with nobody on it');

  // A schedule from the form: a warning, a short wait and a restart of the blueprint's servers;
  // its next runs in its time zone; run by hand, its job succeeds step by step.
  await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Schedules'}).click();
  await page.getByRole('link', {name: 'New schedule'}).click();
  await page.getByLabel('Name', {exact: true}).fill('nightly');
  await page.getByRole('textbox', {name: /^Cron expression/}).fill('0 4 * * *');
  await page.getByRole('combobox', {name: /^Time zone/}).fill('Europe/Berlin');
  await page.locator('select[name=targetKind]').selectOption('blueprint');
  await page.locator('select[name=targetId]').selectOption({label: 'e2e'});
  await page.getByLabel('Step 2 wait').fill('2s');
  await page.getByRole('button', {name: 'Create schedule'}).click();
  await page.getByRole('heading', {name: 'Schedule nightly'}).waitFor();
  await page.getByRole('list', {name: 'Next runs'}).locator('li').nth(4).waitFor();
  await page.getByRole('button', {name: 'Run now'}).click();
  await page.getByRole('status').filter({hasText: 'Run queued'}).getByRole('link').click();
  await page.getByRole('heading', {name: /schedule\.run/}).waitFor();
  await page.waitForFunction(async () => {
    const answer = await (await fetch('/api/v1/jobs?kind=schedule.run&state=succeeded')).json();
    return (answer.jobs ?? []).length === 1;
  }, null, {timeout: 90000, polling: 500});
  await page.reload();
  await page.getByText('step 3 of 3: restart').waitFor();
  step('a schedule made in its form, its next runs shown; run by hand, its warning, wait and restart succeed');

  // A webhook for alerts: its secret shown once; a test delivery in its delivery log (it cannot
  // reach the internet from here: it is retried, which the log says).
  await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Alerts'}).click();
  await page.getByLabel('Name', {exact: true}).fill('ops');
  await page.getByRole('textbox', {name: /^URL/}).fill('http://127.0.0.1:9/hook');
  await page.getByRole('button', {name: 'Create webhook'}).click();
  await page.getByText(/loopback, link-local or unspecified address is refused/).waitFor();
  await page.getByRole('textbox', {name: /^URL/}).fill('https://hooks.example.org/l4d2');
  await page.getByRole('button', {name: 'Create webhook'}).click();
  const secret = await page.getByRole('status').filter({hasText: 'shown this once'}).locator('.secret code').textContent();
  if (!/^[0-9a-f]{64}$/.test(secret ?? '')) throw new Error('no secret shown: ' + secret);
  await page.getByRole('link', {name: 'ops'}).click();
  await page.getByRole('button', {name: 'Send a test'}).click();
  await page.getByRole('table', {name: 'Deliveries'}).locator('tbody tr').first().waitFor({timeout: 30000});
  step('a webhook made, a loopback URL refused, its secret shown once; a test delivery in its log');

  // Game updates: a check now lists the host with its build; the policy made rolling, saved.
  await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Updates'}).click();
  await page.getByRole('button', {name: 'Check now'}).click();
  // (The controller's own check at its start may have found the game not yet installed.)
  await page.getByRole('table', {name: "Hosts' builds"}).locator('tbody tr td:nth-child(2)', {hasText: /^\d+$/})
      .first().waitFor({timeout: 60000}).catch(async (error) => {
        const said = await page.evaluate(async () => JSON.stringify({
          updates: await (await fetch('/api/v1/updates')).json(),
          checks: await (await fetch('/api/v1/jobs?kind=game.check')).json(),
          hosts: await (await fetch('/api/v1/hosts')).json()}));
        throw new Error(error.message + '\nthe API said: ' + said);
      });
  await page.locator('select[name=mode]').selectOption('rolling');
  await page.getByRole('textbox', {name: /^Deadline/}).fill('90m');
  await page.getByRole('button', {name: 'Save policy'}).click();
  await page.getByRole('status').filter({hasText: 'Saved.'}).waitFor();
  const policy = await page.evaluate(async () => (await (await fetch('/api/v1/updates')).json()).policy);
  if (policy.mode !== 'rolling' || policy.deadline !== '5400s') throw new Error('policy not saved: ' + JSON.stringify(policy));
  step('game updates: a check lists the host and its build; the policy made rolling with a 90m deadline');

  // Backups: one taken from the server's Backups tab, listed, then restored into the running
  // server (stopped, restored, started again by the job).
  const backupsUrl = await page.evaluate(async () => {
    const answer = await (await fetch('/api/v1/servers?q=e2e1')).json();
    return `/servers/${answer.servers[0].id}/backups`;
  });
  await page.goto(base + backupsUrl);
  await page.getByRole('button', {name: 'Back up now'}).click();
  const queued = page.getByRole('status').filter({hasText: 'Queued'}).getByRole('link');
  const backupJob = await queued.getAttribute('href');
  const backups = page.getByRole('region', {name: 'Backups of the server'});
  await backups.locator('tbody tr').first().waitFor({timeout: 60000});
  // deploy/dev/up gives the controller a vault: the backup is copied off its host.
  await backups.locator('tbody tr').first().locator('.badge', {hasText: 'vault'}).waitFor({timeout: 60000});
  await backups.getByRole('button', {name: 'Restore'}).first().click();
  await page.getByRole('dialog').getByRole('button', {name: 'Restore'}).click();
  await page.waitForFunction((before) => {
    const link = document.querySelector('p.ok[role=status] a');
    return link && link.getAttribute('href') !== before;
  }, backupJob);
  const restoreJob = await queued.getAttribute('href');
  const ended = await page.evaluate(async (href) => {
    for (let i = 0; i < 120; i++) {
      const job = await (await fetch('/api/v1' + href)).json();
      if (job.state !== 'queued' && job.state !== 'running') return job;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return {state: 'still running'};
  }, restoreJob);
  if (ended.kind !== 'server.restore' || ended.state !== 'succeeded') {
    throw new Error('the restore did not succeed: ' + JSON.stringify(ended));
  }
  step('a backup taken from the server page, copied to the controller\'s vault, listed, and restored into the running server (stopped and started again)');

  // Screenshots and accessibility of every page, in both widths and schemes.
  const serverUrl = await page.evaluate(async () => {
    const answer = await (await fetch('/api/v1/servers?q=e2e1')).json();
    return `/servers/${answer.servers[0].id}`;
  });
  const ids = await page.evaluate(async () => {
    const get = async (path, key) => ((await (await fetch('/api/v1/' + path)).json())[key] ?? [])[0]?.id;
    const player = ((await (await fetch('/api/v1/players?q=zo')).json()).players ?? [])[0]?.steamId;
    return {host: await get('hosts', 'hosts'), blueprint: await get('blueprints', 'blueprints'),
            overlay: await get('overlays', 'overlays'), job: await get('jobs', 'jobs'),
            schedule: await get('schedules', 'schedules'), webhook: await get('webhooks', 'webhooks'), player};
  });
  const pages = [
    ['dashboard', '/'], ['servers', '/servers'], ['server', serverUrl], ['server-console', serverUrl + '/console'],
    ['server-charts', serverUrl + '/charts'], ['server-backups', serverUrl + '/backups'], ['hosts', '/hosts'], ['host', `/hosts/${ids.host}`],
    ['blueprints', '/blueprints'], ['blueprint', `/blueprints/${ids.blueprint}`], ['overlays', '/overlays'],
    ['overlay', `/overlays/${ids.overlay}`], ['jobs', '/jobs'], ['job', `/jobs/${ids.job}`], ['users', '/users'],
    ['tokens', '/tokens'], ['audit', '/audit'], ['account', '/account'], ['players', '/players?q=zo'],
    ['player', `/players/${ids.player}`], ['schedules', '/schedules'], ['schedule', `/schedules/${ids.schedule}`],
    ['alerts', '/alerts'], ['alert', `/alerts/${ids.webhook}`], ['updates', '/updates'],
  ];
  mkdirSync(shots, {recursive: true});
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({colorScheme: scheme});
    for (const width of [1280, 390]) {
      await page.setViewportSize({width, height: width === 390 ? 844 : 900});
      for (const [name, url] of pages) {
        await page.goto(base + url);
        await page.getByRole('navigation', {name: 'Main'}).waitFor();
        await settled(page);
        if (width === 1280) await checkAccessibility(page, `${name} (${scheme})`);
        await page.screenshot({path: join(shots, `${name}-${width}-${scheme}.png`), fullPage: true});
      }
    }
  }
  step(`screenshots of ${pages.length} pages at 1280 and 390 px, light and dark, in ${shots}`);

  // Stop and delete the server, each confirmed first.
  await page.emulateMedia({colorScheme: 'light'});
  await page.setViewportSize({width: 1280, height: 900});
  await page.goto(base + serverUrl);
  await page.getByRole('button', {name: 'Stop'}).click();
  await page.getByRole('dialog').getByRole('button', {name: 'Stop'}).click();
  await page.locator('.status-line .badge', {hasText: 'stopped'}).waitFor({timeout: 60000});
  await page.getByRole('button', {name: 'Delete'}).click();
  await page.getByRole('dialog').getByRole('button', {name: 'Delete'}).click();
  await page.waitForURL(`${base}/servers`);
  await page.getByText('e2e1').waitFor({state: 'detached', timeout: 60000});
  step('stopped and deleted the server, both confirmed');

  // An operator: a server of the admin's stays invisible, no admin pages or buttons.
  await page.getByRole('link', {name: 'Users'}).click();
  await page.getByLabel('Username').fill('op1');
  await page.getByLabel('Password').fill('operator password 1');
  await page.getByRole('button', {name: 'Add user'}).click();
  await page.getByRole('cell', {name: 'op1'}).waitFor();
  await page.evaluate(async () => {
    const session = await (await fetch('/api/v1/session')).json();
    const blueprint = (await (await fetch('/api/v1/blueprints')).json()).blueprints[0].id;
    await fetch('/api/v1/servers', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': session.csrfToken},
                                    body: JSON.stringify({name: 'admins-only', blueprintId: blueprint, desiredState: 'stopped'})});
  });
  const operatorContext = await browser.newContext({viewport: {width: 1280, height: 900}});
  const operator = await operatorContext.newPage();
  current = operator;
  watch(operator);
  operator.setDefaultTimeout(20000);
  await operator.goto(`${base}/servers`);
  await signIn(operator, 'op1', 'operator password 1');
  await operator.getByText('No servers match').waitFor();
  const nav = await operator.getByRole('navigation', {name: 'Main'}).innerText();
  if (/Hosts|Users/.test(nav)) throw new Error('the operator sees admin pages: ' + nav);
  await operator.goto(`${base}/hosts`);
  await operator.getByRole('heading', {name: 'For administrators'}).waitFor();
  await operator.goto(`${base}/overlays/new`);
  await operator.getByLabel('Ref').waitFor();
  if (await operator.getByText('Global (every operator may use it)').count()) throw new Error('the operator is offered a global overlay');
  step('an operator sees none of the admin\'s servers and no admin pages or buttons');

  // The session ends (its cookie gone): the sign-in page, then back where the operator was.
  await operator.goto(`${base}/jobs`);
  await operator.getByRole('heading', {name: 'Jobs'}).waitFor();
  await operatorContext.clearCookies();
  // Going to another page asks the API, which refuses (the live stream may have asked first).
  await operator.evaluate(() => document.querySelector('a[href="/blueprints"]')?.click());
  await operator.getByText('Your session ended').waitFor();
  const where = new URL(operator.url()).pathname;
  if (where !== '/blueprints' && where !== '/jobs') throw new Error('the sign-in page is at ' + where);
  await signIn(operator, 'op1', 'operator password 1');
  await operator.getByRole('heading', {name: where === '/jobs' ? 'Jobs' : 'Blueprints'}).waitFor();
  if (new URL(operator.url()).pathname !== where) throw new Error('after signing in again: ' + operator.url());
  step('an ended session lands on the sign-in page and returns to where it was');

  if (axeProblems.length) throw new Error('accessibility:\n  ' + axeProblems.join('\n  '));
  step('axe-core: no serious or critical violations on any page, light or dark');
  if (cspViolations.length) throw new Error('Content-Security-Policy violations: ' + cspViolations.join('; '));
  if (pageErrors.length) throw new Error('errors on the page: ' + pageErrors.join('; '));
  step('no script errors and no Content-Security-Policy violations');
  console.log(`web_ui_test: ${passed} steps passed`);
} catch (error) {
  console.error('FAIL: ' + (error.stack ?? error));
  if (current) {
    mkdirSync(shots, {recursive: true});
    await current.screenshot({path: join(shots, 'failure.png'), fullPage: true}).catch(() => undefined);
    console.error(`the page at the failure (${current.url()}): ${join(shots, 'failure.png')}`);
  }
  console.error(`web_ui_test: failed after ${passed} steps`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
