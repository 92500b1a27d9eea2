// The dashboard's core in headless Firefox (Debian's firefox-esr) against the
// real nbmsd, Mosquitto and nbms-mwsim (see fixture.mjs and README.md): login
// form, overview, building tree with a live value from the WebSocket, trend
// chart, a manager's control and its result, a phone-sized building page, and
// no script error or CSP violation. Firefox is driven by puppeteer-core over
// WebDriver BiDi (Firefox's own Remote Agent: no geckodriver, no browser
// download). Screenshots go to the artifacts directory as ff-*.png.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { USERS, POINTS, artifacts, waitFor, openFirefoxPage, loginWithFormFirefox } from './fixture.mjs';
import { useSystem, launchFirefox } from './suite.mjs';

const env = useSystem({ launch: launchFirefox, problemsFile: 'firefox-console.txt', testTimeout: 90000 });
const problems = env.problems;   // console errors, page errors, CSP violations

const newPage = (viewport = {}) => openFirefoxPage(env.browser, problems, viewport);
const login = (page, user, password) =>
  loginWithFormFirefox(page, env.sys.base, user, password, 'main[data-page="overview"] [data-testid="building-card"]');
const tid = (id) => `[data-testid="${id}"]`;
const attr = (page, sel, name) => page.$eval(sel, (el, n) => el.getAttribute(n), name);
const text = (page, sel) => page.$eval(sel, (el) => el.textContent);

async function shot(page, name, { fullPage = true } = {}) {
  await page.screenshot({ path: join(artifacts, `ff-${name}.png`), fullPage });
}

async function openBuilding(page, c = 'C000001', b = 'B001') {
  await page.goto(`${env.sys.base}/#/b/${c}/${b}`);
  await page.waitForSelector('main[data-page="building"] [data-testid="point-row"]');
  await waitFor('live channel', async () => (await attr(page, tid('ws-status'), 'data-state')) === 'open', 15000);
}

/** The selector of the first point row whose name ends with `suffix`. */
const rowBySuffix = (suffix) => `tr[data-testid="point-row"][data-point$="${suffix}"]`;

/** Each row's point id and shown value. */
const cellValues = (page) => page.$$eval('[data-testid="point-row"]',
  (rows) => rows.map((r) => [r.dataset.point, r.querySelector('.v').textContent]));

describe('dashboard in Firefox', () => {
  env.test('login form: a wrong password is refused, the right one shows the overview', async () => {
    const page = await newPage();
    await page.goto(env.sys.base + '/');
    await page.waitForSelector(tid('login-form'));
    assert.equal(await page.evaluate(() => location.hash), '#/login');
    await shot(page, '01-login');
    await page.locator(tid('login-user')).fill('manager1');
    await page.locator(tid('login-password')).fill('wrong-password-123');
    await page.locator(tid('login-submit')).click();
    await page.waitForSelector(tid('login-error'));
    await shot(page, '02-login-failed');
    await page.locator(tid('login-password')).fill(USERS.manager1.password);
    await page.locator(tid('login-submit')).click();
    await page.waitForSelector(`main[data-page="overview"] ${tid('building-card')}`);
    await page.browserContext().close();
  });

  env.test('manager: overview, building tree, live value, trend, control', async (t) => {
    const page = await newPage();
    await login(page, 'manager1', USERS.manager1.password);

    await t.test('the overview lists the building', async () => {
      const cards = await page.$$eval(tid('building-card'), (els) => els.map((e) => e.textContent));
      assert.equal(cards.length, 1);
      assert.match(cards[0], /Head Office/);
      assert.equal(await text(page, `${tid('building-card')} ${tid('point-count')}`), String(POINTS.C000001));
      await shot(page, '03-overview');
    });

    await t.test('the building page lists the points in an equipment tree', async () => {
      await page.locator(`${tid('building-card')} ${tid('building-link')}`).click();
      await page.waitForSelector('main[data-page="building"] [data-testid="point-row"]');
      assert.equal((await page.$$(tid('point-row'))).length, POINTS.C000001);
      assert.ok((await page.$$('details[data-group="AHU"]')).length >= 1, 'an AHU group');
      assert.match(await text(page, `${rowBySuffix('SupplyAirTemp')} ${tid('point-value')}`), /\d/);
      await waitFor('live channel', async () => (await attr(page, tid('ws-status'), 'data-state')) === 'open');
      // collapsing a group works (details/summary)
      await page.locator('details[data-group="AHU"] > summary').click();
      assert.equal(await page.$eval('details[data-group="AHU"]', (d) => d.open), false);
      await page.locator('details[data-group="AHU"] > summary').click();
      assert.equal(await page.$eval('details[data-group="AHU"]', (d) => d.open), true);
      await shot(page, '04-building', { fullPage: false });
    });

    await t.test('a live value arrives over the WebSocket and changes a cell', async () => {
      const initial = new Map(await cellValues(page));
      await waitFor('a value cell to change', async () =>
        (await cellValues(page)).some(([id, v]) => initial.get(id) !== v), 40000, 250);
      assert.ok((await page.$$('.q-live')).length > 0, 'a point marked live');
      await shot(page, '05-building-live', { fullPage: false });
    });

    await t.test('the trend chart draws the history', async () => {
      await page.locator(`${rowBySuffix('SupplyAirTemp')} ${tid('trend-link')}`).click();
      await page.waitForSelector('[data-testid="trend-chart"][data-state="ready"]');
      const n = Number(await attr(page, tid('trend-chart'), 'data-points'));
      assert.ok(n > 50, `day samples: ${n}`);
      // the canvas is there and has the series drawn on it (pixels set)
      const painted = await page.$eval(`${tid('trend-chart')} canvas`, (c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let set = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) set++;
        return set;
      });
      assert.ok(painted > 1000, `${painted} pixels drawn on the chart canvas`);
      await shot(page, '06-trend-day');
      await page.locator(tid('range-week')).click();
      await waitFor('week loaded', async () => (await attr(page, tid('trend-chart'), 'data-state')) === 'ready'
        && Number(await attr(page, tid('trend-chart'), 'data-points')) > n);
      await page.locator(tid('range-month')).click();
      await waitFor('month loaded', async () => (await attr(page, tid('range-month'), 'aria-pressed')) === 'true'
        && (await attr(page, tid('trend-chart'), 'data-state')) === 'ready');
      const month = Number(await attr(page, tid('trend-chart'), 'data-points'));
      const drawMs = Number(await attr(page, tid('trend-chart'), 'data-draw-ms'));
      assert.ok(month >= 2900, `month samples: ${month}`);
      assert.ok(drawMs < 500, `a month (${month} samples) took ${drawMs} ms to draw`);
      await shot(page, '07-trend-month');
      // drag to zoom (uPlot's mouse handling), then reset
      const scaleX = () => page.$eval(tid('trend-chart'), (el) => [el.uplot.scales.x.min, el.uplot.scales.x.max]);
      const full = await scaleX();
      const box = await (await page.$(`${tid('trend-chart')} .u-over`)).boundingBox();
      await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.9, box.y + box.height / 2, { steps: 5 });
      await page.mouse.up();
      const zoomed = await scaleX();
      assert.ok(zoomed[1] - zoomed[0] < (full[1] - full[0]) * 0.6, `zoomed ${zoomed} from ${full}`);
      await shot(page, '08-trend-zoomed');
      await page.locator(tid('zoom-reset')).click();
      assert.deepEqual(await scaleX(), full);
    });

    await t.test('control a writable point: accepted and the new value shown', async () => {
      await openBuilding(page);
      const row = rowBySuffix('SupplyAirTempSP');
      await page.locator(`${row} ${tid('control-button')}`).click();
      await page.waitForSelector(tid('control-dialog'));
      await page.locator(`${tid('control-dialog')} ${tid('control-value')}`).fill('18.5');
      assert.equal(await page.$eval(tid('control-priority'), (el) => el.value), '8');
      await shot(page, '09-control-dialog', { fullPage: false });
      await page.locator(tid('control-send')).click();
      const status = tid('control-status');
      await waitFor('control result', async () => ['accepted', 'failed', 'timeout', 'error'].includes(await attr(page, status, 'data-status')), 25000);
      await shot(page, '10-control-result', { fullPage: false });
      assert.equal(await attr(page, status, 'data-status'), 'accepted', await text(page, status));
      assert.match(await text(page, status), /18\.5/);
      await page.locator(tid('control-close')).click();
      await page.waitForSelector(tid('control-dialog'), { hidden: true });
      await waitFor('value cell shows 18.5', async () => (await text(page, `${row} ${tid('point-value')}`)) === '18.5');
      // a binary command, chosen in a <select>
      await page.locator(`${rowBySuffix('SupplyFanCmd')} ${tid('control-button')}`).click();
      await page.waitForSelector(tid('control-dialog'));
      await page.select(`${tid('control-dialog')} ${tid('control-value')}`, '1');
      await page.locator(tid('control-send')).click();
      await waitFor('binary control result', async () => (await attr(page, status, 'data-status')) === 'accepted', 25000);
      await page.locator(tid('control-close')).click();
      await page.waitForSelector(tid('control-dialog'), { hidden: true });
    });
    await page.browserContext().close();
  });

  env.test('the language switch changes the labels to Korean and is remembered', async () => {
    const page = await newPage();
    await login(page, 'manager1', USERS.manager1.password);
    assert.equal(await text(page, tid('nav-overview')), 'Overview');
    await page.locator(tid('lang-switch')).click();
    await waitFor('Korean labels', async () => (await text(page, tid('nav-overview'))) === '개요');
    assert.equal(await text(page, tid('logout')), '로그아웃');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'ko');
    await page.reload();
    await page.waitForSelector(tid('nav-overview'));
    assert.equal(await text(page, tid('nav-overview')), '개요');
    await openBuilding(page);
    await shot(page, '11-building-korean', { fullPage: false });
    await page.locator(tid('lang-switch')).click();
    await waitFor('English labels', async () => (await text(page, tid('nav-overview'))) === 'Overview');
    await page.browserContext().close();
  });

  env.test('a phone-sized screen (390x844) shows the building page within its width', async () => {
    // (Firefox over BiDi takes the size and pixel ratio; it ignores puppeteer's isMobile/hasTouch)
    const page = await newPage({ width: 390, height: 844, deviceScaleFactor: 2 });
    await login(page, 'manager1', USERS.manager1.password);
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.equal(await page.evaluate(() => window.innerWidth), 390);
    assert.ok(await page.evaluate(() => matchMedia('(max-width: 700px)').matches), 'the phone layout applies');
    assert.ok(await overflow() <= 0, `overview overflows by ${await overflow()}px`);
    await openBuilding(page);
    assert.ok(await overflow() <= 0, `building overflows by ${await overflow()}px`);
    assert.equal((await page.$$(tid('point-row'))).length, POINTS.C000001);
    await shot(page, '12-phone-building', { fullPage: false });
    await page.browserContext().close();
  });

  env.test('no script errors or CSP violations in any page', () => {
    // (unlike Chromium, Firefox does not log a refused request, such as the
    // wrong password's 401, as a console error: nothing is filtered out)
    assert.deepEqual(problems, []);
  });
});
