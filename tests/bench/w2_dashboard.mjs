// W2: with 1,000 servers and 100 hosts in the controller, sign-in to a fully drawn dashboard and
// then servers list, in headless Chromium (Debian's, driven by playwright-core) on this machine.
// Goal (issue 15): under 1 s.
//
//   node tests/bench/w2_dashboard.mjs BUILD_DIR [RUNS]
//
// It starts its own controller on a fresh SQLite file (no agent: the servers are created,
// never placed), fills it through the API, then times RUNS fresh browser contexts: click
// "Sign in" until the dashboard's counts and chart are drawn, then the servers list's first
// page (50 rows) after a click on "Servers". Prints each run and the median.
import {spawn, spawnSync} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {createRequire} from 'node:module';
import {createServer} from 'node:net';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const {chromium} = createRequire(join(here, '..', 'tools', 'package.json'))('playwright-core');
const build = resolve(process.argv[2] ?? 'build');
const runs = Number(process.argv[3] ?? 5);
const controllerBinary = join(build, 'controller', 'l4d2-controller');
const dir = mkdtempSync(join(tmpdir(), 'l4d2-w2-'));
const database = 'sqlite3:' + join(dir, 'c.db');
const password = 'a long admin password';

const port = await new Promise((done) => {
  const server = createServer();
  server.listen(0, '127.0.0.1', () => {
    const {port} = server.address();
    server.close(() => done(port));
  });
});
const made = spawnSync(controllerBinary, ['--database', database, 'admin', 'create', '--username', 'admin'],
                       {env: {...process.env, L4D2_ADMIN_PASSWORD: password}, encoding: 'utf8'});
if (made.status !== 0) throw new Error(made.stderr);
const controller = spawn(controllerBinary, ['--database', database, '--pki_dir', join(dir, 'pki'), '--report_listen', '127.0.0.1:0',
                                            '--listen_http', `127.0.0.1:${port}`, '--web_root', join(build, 'web'),
                                            ],
                         {stdio: ['ignore', 'pipe', 'pipe']});
await new Promise((done, fail) => {
  let output = '';
  const timer = setTimeout(() => fail(new Error('controller did not start: ' + output)), 20000);
  const watch = (data) => {
    output += data;
    if (output.includes('serving HTTP')) {
      clearTimeout(timer);
      done();
    }
  };
  controller.stdout.on('data', watch);
  controller.stderr.on('data', watch);
});
const base = `http://127.0.0.1:${port}`;
let browser;
try {
  // The fleet, through the API with a token.
  const login = await fetch(base + '/api/v1/session', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                        body: JSON.stringify({username: 'admin', password})});
  const cookie = login.headers.getSetCookie().find((one) => one.startsWith('l4d2_session=')).split(';')[0];
  const csrf = (await login.json()).csrfToken;
  const call = async (path, body) => {
    const answer = await fetch(base + '/api/v1' + path, {method: 'POST', headers: {'Content-Type': 'application/json', Cookie: cookie, 'X-CSRF-Token': csrf},
                                                         body: JSON.stringify(body)});
    if (!answer.ok) throw new Error(`${path}: ${answer.status} ${await answer.text()}`);
    return answer.json();
  };
  const seeding = Date.now();
  for (let i = 0; i < 100; i++) await call('/hosts', {name: `h${String(i).padStart(3, '0')}`, address: `10.0.${i}.1:7543`});
  const blueprint = await call('/blueprints', {name: 'versus', settings: {gameMode: 'versus', maxPlayers: 8}});
  for (let i = 0; i < 1000; i += 50) {
    await Promise.all(Array.from({length: 50}, (_, j) =>
      call('/servers', {name: `s${String(i + j).padStart(4, '0')}`, blueprintId: blueprint.id, desiredState: 'stopped'})));
  }
  console.log(`w2: 100 hosts, 1,000 servers created in ${((Date.now() - seeding) / 1000).toFixed(1)} s`);

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const dashboards = [];
  const lists = [];
  for (let run = 0; run < runs; run++) {
    const context = await browser.newContext({viewport: {width: 1280, height: 900}});
    const page = await context.newPage();
    await page.goto(base + '/');
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(password);
    const start = Date.now();
    await page.getByRole('button', {name: 'Sign in'}).click();
    // Drawn: the counts (1,000 servers, 100 hosts) and the chart's canvas.
    await page.locator('.stat', {hasText: 'servers'}).locator('.stat-value', {hasText: '1000'}).waitFor();
    await page.locator('.stat', {hasText: 'hosts'}).locator('.stat-value', {hasText: '100'}).waitFor();
    await page.locator('.chart canvas').waitFor();
    const dashboard = Date.now() - start;
    await page.getByRole('link', {name: 'Servers'}).click();
    await page.locator('table.servers tbody tr').nth(49).waitFor();
    await page.getByRole('link', {name: 'h000'}).or(page.getByText('not placed').first()).first().waitFor();
    const list = Date.now() - start;
    dashboards.push(dashboard);
    lists.push(list);
    console.log(`run ${run + 1}: dashboard drawn ${dashboard} ms after "Sign in", servers list ${list} ms`);
    await context.close();
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  console.log(`w2: median of ${runs}: sign-in to dashboard ${median(dashboards)} ms, to dashboard and servers list ${median(lists)} ms (goal < 1000 ms)`);
} finally {
  if (browser) await browser.close();
  controller.kill('SIGTERM');
  rmSync(dir, {recursive: true, force: true});
}
