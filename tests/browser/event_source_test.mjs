// A real browser's EventSource against the real controller (tests/browser/README in
// docs/development.md): Debian's Chromium driven by playwright-core. The page signs in (the
// HttpOnly cookie is invisible to its scripts), follows /api/v1/events live, and after the
// controller is killed and started again resumes with Last-Event-ID: an entry written while
// the controller was down arrives exactly once, nothing twice.
//
//   node event_source_test.mjs CONTROLLER_BINARY
import {spawn, spawnSync} from 'node:child_process';
import {mkdtempSync, copyFileSync, mkdirSync, rmSync} from 'node:fs';
import {createServer} from 'node:net';
import {tmpdir} from 'node:os';
import {join, dirname} from 'node:path';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';

const controllerBinary = process.argv[2];
const here = dirname(fileURLToPath(import.meta.url));
// playwright-core is installed in tests/tools (npm ci), next to the other clients.
const {chromium} = createRequire(join(here, '..', 'tools', 'package.json'))('playwright-core');
const dir = mkdtempSync(join(tmpdir(), 'l4d2-browser-'));
const database = 'sqlite3:' + join(dir, 'c.db');
const password = 'a long admin password';

function fail(message) {
  console.error('FAIL: ' + message);
  process.exitCode = 1;
  throw new Error(message);
}

async function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address();
      server.close(() => resolve(port));
    });
  });
}

function run(args, env = {}) {
  const result = spawnSync(controllerBinary, args, {env: {...process.env, ...env}, encoding: 'utf8'});
  if (result.status !== 0) fail(`${args.join(' ')}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

async function startController(port) {
  const child = spawn(controllerBinary,
      ['--database', database, '--pki_dir', join(dir, 'pki'), '--report_listen', '127.0.0.1:0', '--listen_http', `127.0.0.1:${port}`,
       '--web_root', join(dir, 'web')],
      {stdio: ['ignore', 'pipe', 'pipe']});
  let output = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('controller did not start: ' + output)), 20000);
    const watch = (data) => {
      output += data;
      if (output.includes('serving HTTP')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', watch);
    child.stderr.on('data', watch);
  });
  return child;
}

async function until(page, predicate, what, timeout = 15000) {
  try {
    await page.waitForFunction(predicate, null, {timeout});
  } catch (error) {
    fail(`${what}: ${await page.evaluate(() => JSON.stringify({
      opened: window.opened, errors: window.errors,
      actions: window.received.map((r) => r.entry.action)}))}`);
  }
}

let browser;
let controller;
try {
  run(['--database', database, 'admin', 'create', '--username', 'root'],
      {L4D2_ADMIN_PASSWORD: password});
  mkdirSync(join(dir, 'web'));
  copyFileSync(join(here, 'sse.html'), join(dir, 'web', 'index.html'));
  copyFileSync(join(here, 'sse.js'), join(dir, 'web', 'sse.js'));
  const port = await freePort();
  controller = await startController(port);

  // launch() gives the browser a fresh profile directory of its own.
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(error.message));
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.evaluate(() => window.ready);
  await until(page, () => window.opened === 1, 'the stream did not open');
  if (await page.evaluate(() => document.cookie.includes('l4d2_session'))) {
    fail('the session cookie is visible to scripts');
  }

  // Live: a change made through the API reaches the open stream.
  const created = await page.evaluate(async () => {
    const response = await fetch('/api/v1/hosts', {
      method: 'POST',
      headers: {'Content-Type': 'application/json', 'X-CSRF-Token': window.csrf},
      body: JSON.stringify({name: 'live-host', address: '10.0.0.1:7000'}),
    });
    return response.status;
  });
  if (created !== 201) fail('creating a host answered ' + created);
  await until(page, () => window.received.some((r) => r.entry.detail?.name === 'live-host'),
              'the live event did not arrive');

  // Resume: the controller dies; an entry is written while it is down; it comes back.
  controller.kill('SIGKILL');
  await new Promise((resolve) => controller.once('exit', resolve));
  run(['--database', database, 'host', 'create', '--name', 'while-down', '--address',
       '10.0.0.2:7000']);
  controller = await startController(port);
  await until(page, () => window.received.some((r) => r.entry.detail?.name === 'while-down'),
              'the entry written while the controller was down was not replayed', 30000);
  const state = await page.evaluate(() => ({
    opened: window.opened,
    ids: window.received.map((r) => r.id),
  }));
  if (state.opened < 2) fail('the stream did not reconnect');
  if (new Set(state.ids).size !== state.ids.length) fail('an event arrived twice: ' + state.ids);
  const sorted = [...state.ids].sort();
  if (sorted.join() !== state.ids.join()) fail('events out of order: ' + state.ids);
  if (problems.length > 0) fail('page errors: ' + problems.join('; '));
  console.log(`ok: live event, reconnect (${state.opened} opens), ${state.ids.length} events, ` +
              'none twice, the cookie hidden from scripts');
} finally {
  if (browser) await browser.close();
  if (controller) controller.kill('SIGKILL');
  rmSync(dir, {recursive: true, force: true});
}
