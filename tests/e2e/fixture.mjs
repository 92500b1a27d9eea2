// Starts the real system for the browser tests, in a temp dir, on free ports:
// Mosquitto, nbmsd (serving web/dist) and nbms-mwsim; registers customers,
// buildings, things and users through the REST API as admin. stop() ends
// every process it started, also after a failure.
//
// Environment: NBMSD, NBMS_MWSIM (binaries; default build/src/app/nbmsd and
// build/tools/mwsim/nbms-mwsim), MOSQUITTO (default: mosquitto on PATH),
// NBMS_E2E_ARTIFACTS (screenshots and logs; default build/e2e-artifacts),
// NBMS_E2E_KEEP=1 keeps the temp dir.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, existsSync, openSync, readFileSync, cpSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const artifacts = resolve(process.env.NBMS_E2E_ARTIFACTS || join(repoRoot, 'build/e2e-artifacts'));
const bin = {
  nbmsd: process.env.NBMSD || join(repoRoot, 'build/src/app/nbmsd'),
  mwsim: process.env.NBMS_MWSIM || join(repoRoot, 'build/tools/mwsim/nbms-mwsim'),
  mosquitto: process.env.MOSQUITTO || 'mosquitto',
};
export const webRoot = join(repoRoot, 'web/dist');

export const ADMIN_PASSWORD = 'e2e-admin-password-1';
export const USERS = {
  manager1: { name: 'manager1', password: 'manager1-password', role: 'manager', customer: 'C000001' },
  viewer1: { name: 'viewer1', password: 'viewer1-password', role: 'viewer', customer: 'C000001' },
  manager2: { name: 'manager2', password: 'manager2-password', role: 'manager', customer: 'C000002' },
};
/** Points per building: C000002's is the large one (the 900-point rendering test). */
export const POINTS = { C000001: 120, C000002: 900 };
export const HISTORY_LOGS = 2976;   // 31 days of 15-minute logs before "now" (C000001; C000002 gets 2 days)

/** Polls fn (async, returns truthy when done) until it succeeds or the timeout passes. */
export async function waitFor(what, fn, timeoutMs = 20000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ': ' + last.message : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Appends the page's script errors and console errors to `problems`, which each
 * test file writes to its artifacts, and sets its default timeout. The same
 * for a Playwright and a puppeteer page: both have these events and the method.
 * (Firefox reports a CSP violation as a page error, Chromium on the console.)
 */
function watchPage(page, problems) {
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.setDefaultTimeout(15000);
  return page;
}

/**
 * A page in a browser context of its own (English, desktop-sized unless
 * `options` say otherwise); its problems go to `problems` (watchPage).
 */
export async function openPage(browser, problems, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US', ...options });
  return watchPage(await context.newPage(), problems);
}

/** Logs in through the login form and waits for `ready` (by default the overview page). */
export async function loginWithForm(page, base, user, password, ready = 'main[data-page="overview"]') {
  await page.goto(base + '/#/login');
  await page.getByTestId('login-user').fill(user);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.locator(ready).first().waitFor();
}

// ---- the same two for Firefox, driven by puppeteer-core over WebDriver BiDi
// (firefox.test.mjs): Playwright cannot drive a stock Firefox.

/** A Firefox page in a browser context of its own; errors go to `problems` as with openPage. */
export async function openFirefoxPage(browser, problems, viewport = {}) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport({ width: 1280, height: 900, ...viewport });
  return watchPage(page, problems);
}

/** loginWithForm for a puppeteer page. */
export async function loginWithFormFirefox(page, base, user, password, ready = 'main[data-page="overview"]') {
  await page.goto(base + '/#/login');
  await page.locator('[data-testid="login-user"]').fill(user);
  await page.locator('[data-testid="login-password"]').fill(password);
  await page.locator('[data-testid="login-submit"]').click();
  await page.waitForSelector(ready);
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}

function tcpOpen(port) {
  return new Promise((res) => {
    const c = connect(port, '127.0.0.1');
    c.on('connect', () => { c.destroy(); res(true); });
    c.on('error', () => res(false));
  });
}

const pad = (n) => String(n).padStart(2, '0');
/** Local wall clock as YYYYMMDDhhmm, minutes rounded down to the 15-minute grid. */
export function localSlot(date) {
  return `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}${pad(date.getHours())}${pad(Math.floor(date.getMinutes() / 15) * 15)}`;
}

export class System {
  constructor() {
    this.procs = [];
    this.dir = null;
    this.base = null;
    this.adminToken = null;
  }

  log(name) { return join(this.dir, name + '.log'); }

  spawn(name, file, args, env = {}) {
    const out = openSync(this.log(name), 'a');
    const p = spawn(file, args, { stdio: ['ignore', out, out], env: { ...process.env, ...env } });
    p.name = name;
    p.exited = new Promise((r) => p.on('exit', (code, sig) => { p.exitCode_ = code ?? sig; r(); }));
    p.on('error', (e) => { p.spawnError = e; });
    this.procs.push(p);
    return p;
  }

  async start() {
    for (const [k, f] of Object.entries({ NBMSD: bin.nbmsd, NBMS_MWSIM: bin.mwsim })) {
      if (!existsSync(f)) throw new Error(`${k}: ${f} does not exist (build it, or set ${k})`);
    }
    if (!existsSync(join(webRoot, 'index.html'))) throw new Error(`${webRoot}/index.html missing: run \`npm ci && npm run build\` in web/`);
    this.dir = mkdtempSync(join(tmpdir(), 'nbms-e2e-'));
    mkdirSync(join(this.dir, 'mosquitto'));
    this.mqttPort = await freePort();
    this.httpPort = await freePort();
    this.base = `http://127.0.0.1:${this.httpPort}`;

    // ---- broker
    const conf = [
      `listener ${this.mqttPort} 127.0.0.1`, 'allow_anonymous true', 'persistence false',
      'max_queued_messages 100000', 'max_inflight_messages 100',
      ...(process.getuid && process.getuid() === 0 ? ['user root'] : []),
    ].join('\n') + '\n';
    writeFileSync(join(this.dir, 'mosquitto.conf'), conf);
    const mq = this.spawn('mosquitto', bin.mosquitto, ['-c', join(this.dir, 'mosquitto.conf')]);
    await waitFor('mosquitto', async () => { this.alive(mq); return tcpOpen(this.mqttPort); });

    // ---- nbmsd
    const cfgFile = join(this.dir, 'nbmsd.json');
    // notify: Web Push on (the VAPID key is made in the data dir), webhooks may
    // go to the tests' receivers on 127.0.0.1.
    const config = { http: { web_root: webRoot }, auth: { pbkdf2_iterations: 10000 },
      notify: { vapid_subject: 'mailto:e2e@example.com', allow_private_addresses: true, initial_backoff_ms: 500 } };
    writeFileSync(cfgFile, JSON.stringify(config, null, 2));
    if (!this.configOk(cfgFile)) {
      delete config.auth;   // an nbmsd without the auth section in its config
      delete config.notify;
      writeFileSync(cfgFile, JSON.stringify(config, null, 2));
    }
    this.nbmsdArgs = ['--config', cfgFile, '--data-dir', join(this.dir, 'data'),
      '--http-listen', `127.0.0.1:${this.httpPort}`, '--mqtt-uri', `tcp://127.0.0.1:${this.mqttPort}`];
    await this.startNbmsd();

    // ---- registrations, as admin
    const login = await this.login('admin', ADMIN_PASSWORD);
    this.adminToken = login.token;
    for (const [id, name] of [['C000001', 'Customer One'], ['C000002', 'Customer Two']]) {
      await this.api('POST', '/customers', { id, name });
    }
    await this.api('POST', '/customers/C000001/buildings', { id: 'B001', name: 'Head Office', address: 'Seoul' });
    await this.api('POST', '/customers/C000002/buildings', { id: 'B001', name: 'Second Site', address: 'Busan' });
    await this.api('POST', '/customers/C000001/buildings/B001/things', { name: 'C000001_B001_01' });
    await this.api('POST', '/customers/C000002/buildings/B001/things', { name: 'C000002_B001_01' });
    for (const u of Object.values(USERS)) await this.api('POST', '/users', u);

    // ---- history: two days of logs up to now, fast
    for (const c of ['C000001', 'C000002']) {
      const logs = c === 'C000001' ? HISTORY_LOGS : 192;
      const start = new Date(Date.now() - logs * 15 * 60000);
      const args = ['--broker', `tcp://127.0.0.1:${this.mqttPort}`, '--customer', c, '--building', 'B001',
        '--things', '1', '--points', String(POINTS[c]), '--start', localSlot(start),
        '--count', String(logs), '--speed', '10000000', '--quiet'];
      const p = this.spawn(`mwsim-history-${c}`, bin.mwsim, args);
      await p.exited;
      if (p.exitCode_ !== 0) throw new Error(`nbms-mwsim (history) exited with ${p.exitCode_}; see ${this.log(p.name)}`);
    }
    await waitFor('history stored', async () => {
      const l = await this.api('GET', '/customers/C000001/buildings/B001/latest');
      const newest = l.points.reduce((m, p) => (p.time > m ? p.time : m), '');
      return l.points.length >= 100 && newest >= localSlot(new Date(Date.now() - 30 * 60000));
    }, 60000);

    // ---- live simulators (real time): they answer Subscribe and Control
    for (const c of ['C000001', 'C000002']) this.spawnSimulator(`mwsim-${c}`, c, 'B001', POINTS[c]);
    await waitFor('middleware online', async () => {
      const o = await this.api('GET', '/customers/C000001/overview');
      return o.buildings[0]?.things?.every((t) => t.state === 'online');
    }, 30000).catch(() => { /* an nbmsd that tracks no state: carry on */ });
    return this;
  }

  /**
   * A real-time nbms-mwsim for the building's middleware <c>_<b>_01 with `points`
   * points: announces them (init), sends its logs, answers Subscribe and
   * Control; `extra` are more of its options.
   */
  spawnSimulator(name, customer, building, points, extra = []) {
    return this.spawn(name, bin.mwsim, ['--broker', `tcp://127.0.0.1:${this.mqttPort}`, '--customer', customer,
      '--building', building, '--things', '1', '--points', String(points), '--speed', '1', ...extra]);
  }

  async startNbmsd() {
    const nbmsd = this.spawn('nbmsd', bin.nbmsd, this.nbmsdArgs, { NBMS_ADMIN_PASSWORD: ADMIN_PASSWORD });
    this.nbmsd = nbmsd;
    await waitFor('nbmsd ready', async () => {
      this.alive(nbmsd);
      const r = await fetch(this.base + '/api/v1/ready').catch(() => null);
      return r && r.status === 200;
    }, 30000);
  }

  /** Stops nbmsd (SIGTERM, as a service manager would) and starts it again on the same data. */
  async restartNbmsd() {
    const old = this.nbmsd;
    old.kill('SIGTERM');
    await old.exited;
    await this.startNbmsd();
  }

  configOk(file) {
    try {
      execFileSync(bin.nbmsd, ['--config', file, '--check-config'], { stdio: 'pipe' });
      return true;
    } catch {
      return false;
    }
  }

  alive(p) {
    if (p.spawnError) throw new Error(`${p.name}: ${p.spawnError.message}`);
    if (p.exitCode !== null || p.signalCode !== null) {
      throw new Error(`${p.name} exited (${p.exitCode ?? p.signalCode}); log:\n${readFileSync(this.log(p.name), 'utf8').slice(-3000)}`);
    }
  }

  async login(user, password) {
    const r = await fetch(this.base + '/api/v1/auth/login', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user, password }),
    });
    if (r.status !== 200) throw new Error(`login ${user}: HTTP ${r.status} ${await r.text()}`);
    return r.json();
  }

  async api(method, path, body, token = this.adminToken) {
    const headers = { Authorization: `Bearer ${token}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(this.base + '/api/v1' + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: HTTP ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async stop({ keepLogs = false } = {}) {
    for (const p of [...this.procs].reverse()) {
      if (p.exitCode !== null || p.signalCode !== null || p.spawnError) continue;
      p.kill('SIGTERM');
      const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
      await p.exited;
      clearTimeout(timer);
    }
    if (!this.dir) return;
    if (keepLogs) {
      mkdirSync(join(artifacts, 'logs'), { recursive: true });
      for (const p of this.procs) {
        try { cpSync(this.log(p.name), join(artifacts, 'logs', p.name + '.log')); } catch { /* none */ }
      }
    }
    if (process.env.NBMS_E2E_KEEP !== '1') rmSync(this.dir, { recursive: true, force: true });
  }
}

// If node dies on an uncaught error, do not leave the processes behind.
// Ctrl-C or a SIGTERM from the test runner's timeout: the same, then exit.
const all = new Set();
const killAll = () => {
  for (const s of all) {
    for (const p of s.procs) { try { p.kill('SIGKILL'); } catch { /* gone */ } }
    if (s.dir && process.env.NBMS_E2E_KEEP !== '1') { try { rmSync(s.dir, { recursive: true, force: true }); } catch { /* busy */ } }
  }
};
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => { killAll(); process.exit(130); });
export function track(system) { all.add(system); return system; }
