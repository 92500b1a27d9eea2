// What every browser test file does around its tests, in one place: before
// them, start the System (and the file's own setup) and a browser; after them,
// write the pages' problems (console errors, page errors, CSP violations) to
// the artifacts, close the browser and stop the processes, keeping their logs
// when something failed (or NBMS_E2E_KEEP_LOGS=1).
//
//   const env = useSystem({ launch: launchChromium, problemsFile: 'browser-console.txt' });
//   env.test('does something', async () => { ... env.sys.base ... env.browser ... });
//
// Call useSystem() at the top level of a test file: it registers node:test
// `before` and `after` hooks for the file.
import { test, before, after } from 'node:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { System, track, artifacts, repoRoot } from './fixture.mjs';

const require = createRequire(join(repoRoot, 'web/package.json'));

/** Headless Chromium (playwright-core; CHROMIUM, default /usr/bin/chromium). */
export function launchChromium() {
  const { chromium } = require('playwright-core');
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'], headless: true });
}

/**
 * Headless Firefox (Debian's firefox-esr; FIREFOX) driven by puppeteer-core over
 * WebDriver BiDi: Playwright drives only its own patched Firefox build.
 */
export function launchFirefox() {
  const puppeteer = require('puppeteer-core');
  return puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath: process.env.FIREFOX || '/usr/bin/firefox-esr',
    headless: true,
    // English UI and number format whatever the machine's locale (as Chromium's `locale: 'en-US'`)
    extraPrefsFirefox: { 'intl.accept_languages': 'en-US', 'intl.locale.requested': 'en-US' },
  });
}

/**
 * Registers the file's before/after hooks and returns the environment they fill
 * in: `sys` (the started System), `browser`, `problems` (for openPage and
 * openFirefoxPage) and `test()`, node:test's test with a default timeout that
 * also marks the run failed, so that the processes' logs are kept.
 *
 * `setup(sys)` runs after the System started (registrations of the file's own);
 * `problemsFile` names the artifacts file the problems go to (none: not written).
 */
export function useSystem({ launch, problemsFile = null, setup = null, startTimeout = 180000, testTimeout = 60000 }) {
  const env = {
    sys: null,
    browser: null,
    failed: false,
    problems: [],
    test(name, fn, opts = {}) {
      test(name, { timeout: testTimeout, ...opts }, async (t) => {
        try { await fn(t); } catch (e) { env.failed = true; throw e; }
      });
    },
  };
  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    env.sys = track(new System());
    try {
      await env.sys.start();
      if (setup) await setup(env.sys);
    } catch (e) {
      env.failed = true;
      throw e;
    }
    env.browser = await launch();
  }, { timeout: startTimeout });
  after(async () => {
    if (problemsFile) writeFileSync(join(artifacts, problemsFile), env.problems.join('\n') + '\n');
    await env.browser?.close().catch(() => {});
    await env.sys?.stop({ keepLogs: env.failed || process.env.NBMS_E2E_KEEP_LOGS === '1' });
  }, { timeout: 60000 });
  return env;
}
