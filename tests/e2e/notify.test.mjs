// The notification settings page (#/notify) and the notices page (#/notices)
// in headless Chromium against the real nbmsd (see fixture.mjs). A webhook
// receiver runs in this process on 127.0.0.1.
//
// What headless Chromium cannot do honestly: a real Web Push subscription
// needs the browser vendor's push service (FCM for Chromium), which a
// headless browser without network and Google API keys does not reach. So
// this test checks that the service worker is served and registers with the
// scope "/", and that pressing "Notify this browser" either registers the
// subscription with nbmsd or reports the browser's refusal on the page; the
// push encryption and delivery themselves are covered by the integration
// tests (tests/integration/notify_daemon_test.cpp).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { USERS, artifacts, waitFor, openPage, loginWithForm } from './fixture.mjs';
import { useSystem, launchChromium } from './suite.mjs';

const env = useSystem({ launch: launchChromium });
const problems = env.problems;
let receiver;
const hooks = [];   // {delivery, body} received by the webhook receiver

before(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { hooks.push({ delivery: req.headers['x-nbms-delivery'], body: JSON.parse(body) }); res.writeHead(204).end(); });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
});
after(() => { receiver?.close(); });


async function loggedIn(user) {
  const page = await openPage(env.browser, problems);
  await page.context().grantPermissions(['notifications'], { origin: env.sys.base });
  await loginWithForm(page, env.sys.base, user.name, user.password);
  return page;
}

const apiFrom = (page, method, path, body) => page.evaluate(async ([m, p, b]) => {
  const r = await fetch('/api/v1' + p, { method: m, headers: b ? { 'Content-Type': 'application/json' } : {}, body: b ? JSON.stringify(b) : undefined });
  return { status: r.status, body: r.status === 204 ? null : await r.json() };
}, [method, path, body]);

test('the service worker is served from the web root and registers with scope /', { timeout: 60000 }, async () => {
  const r = await fetch(env.sys.base + '/sw.js');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/javascript/);
  const page = await loggedIn(USERS.viewer1);
  const scope = await page.evaluate(async () => (await navigator.serviceWorker.register('/sw.js', { scope: '/' })).scope);
  assert.equal(scope, env.sys.base + '/');
  await page.context().close();
});

test('the settings page registers a webhook and a subscription; a posted notice reaches it and shows', { timeout: 120000 }, async (t) => {
  const viewer = await loggedIn(USERS.viewer1);
  await viewer.getByTestId('nav-notify').click();
  await viewer.locator('main[data-page="notify"] [data-testid="notify-sub-table"]').first().waitFor();
  await viewer.screenshot({ path: join(artifacts, 'notify-settings.png'), fullPage: true });

  // This browser over Web Push: registered with nbmsd, or the refusal shown.
  await viewer.getByTestId('notify-push-register').click();
  await viewer.locator('[data-testid="notify-ok"], [data-testid="notify-error"]').first().waitFor({ timeout: 30000 });
  const pushOk = await viewer.getByTestId('notify-ok').count() > 0;
  const eps0 = (await apiFrom(viewer, 'GET', '/notify/endpoints')).body.endpoints;
  assert.equal(eps0.some((e) => e.kind === 'web_push'), pushOk, 'a web_push endpoint exactly when the page said so');
  t.diagnostic(`push subscription in headless Chromium: ${pushOk ? 'registered' : 'refused by the browser (no push service)'}`);

  // A webhook: its secret is shown once and never listed.
  await viewer.getByTestId('notify-webhook-url').fill(`http://127.0.0.1:${receiver.address().port}/hook`);
  await viewer.getByTestId('notify-webhook-add').click();
  const secret = (await viewer.getByTestId('notify-secret').textContent()).trim();
  assert.match(secret, /^[0-9a-f]{64}$/);
  await viewer.locator('[data-testid="notify-endpoint"][data-kind="webhook"]').waitFor();
  const listed = await apiFrom(viewer, 'GET', '/notify/endpoints');
  assert.ok(!JSON.stringify(listed.body).includes(secret));

  // All buildings of C000001: alarms and notices from "medium", webhook only.
  const row = viewer.locator('[data-testid="notify-sub-table"][data-customer="C000001"] [data-testid="notify-sub-row"][data-building=""]');
  await row.getByTestId('notify-sub-priority').selectOption('medium');
  if (pushOk) await row.getByTestId('notify-sub-channel-web_push').uncheck();
  await row.getByTestId('notify-sub-save').click();
  await viewer.locator('[data-testid="notify-sub-table"][data-customer="C000001"] tr.subscribed[data-building=""]').waitFor();
  const subs = (await apiFrom(viewer, 'GET', '/notify/subscriptions')).body.subscriptions;
  const sub = subs.find((s) => s.customer === 'C000001' && s.building === '');
  assert.ok(sub, JSON.stringify(subs));
  assert.equal(sub.min_priority, 'medium');
  assert.ok(sub.alarms && sub.notices);
  assert.ok(sub.channels.includes('webhook'));
  await viewer.screenshot({ path: join(artifacts, 'notify-subscribed.png'), fullPage: true });

  // A viewer has no form to post notices.
  await viewer.getByTestId('nav-notices').click();
  await viewer.locator('main[data-page="notices"]').waitFor();
  assert.equal(await viewer.getByTestId('notice-form').count(), 0);

  // The manager posts one.
  const manager = await loggedIn(USERS.manager1);
  await manager.getByTestId('nav-notices').click();
  await manager.getByTestId('notice-title').fill('Fire drill on Friday');
  await manager.getByTestId('notice-body').fill('10:00, all floors.');
  await manager.getByTestId('notice-priority').selectOption('high');
  await manager.getByTestId('notice-send').click();
  await manager.getByTestId('notice-ok').waitFor();
  await manager.locator('[data-testid="notice"] h3', { hasText: 'Fire drill on Friday' }).waitFor();
  // Its author is the manager who posted it, in the list and in the API.
  const posted = manager.locator('[data-testid="notice"]', { has: manager.locator('h3', { hasText: 'Fire drill on Friday' }) });
  assert.equal((await posted.getByTestId('notice-author').textContent()).trim(), 'Posted by manager1');
  const listedNotices = (await apiFrom(manager, 'GET', '/customers/C000001/notices')).body.notices;
  assert.equal(listedNotices.find((n) => n.title === 'Fire drill on Friday').author, 'manager1');
  await manager.screenshot({ path: join(artifacts, 'notices-manager.png'), fullPage: true });

  // It reached the webhook, and the viewer sees it listed and delivered.
  await waitFor('webhook received the notice', async () => hooks.some((h) => h.body.title === 'Fire drill on Friday'), 30000);
  const hook = hooks.find((h) => h.body.title === 'Fire drill on Friday');
  assert.equal(hook.body.kind, 'notice');
  assert.equal(hook.body.priority, 'high');
  assert.equal(hook.delivery, hook.body.delivery);
  await viewer.reload();
  await viewer.locator('[data-testid="notice"] h3', { hasText: 'Fire drill on Friday' }).waitFor();
  const seenByViewer = viewer.locator('[data-testid="notice"]', { has: viewer.locator('h3', { hasText: 'Fire drill on Friday' }) });
  assert.equal((await seenByViewer.getByTestId('notice-author').textContent()).trim(), 'Posted by manager1');
  await viewer.getByTestId('nav-notify').click();
  await waitFor('delivery shown as sent', async () => {
    await viewer.reload();
    await viewer.locator('main[data-page="notify"] [data-testid="notify-deliveries"]').waitFor();
    return await viewer.locator('[data-testid="notify-delivery"][data-state="sent"]').count() >= 1;
  }, 30000);
  await viewer.screenshot({ path: join(artifacts, 'notify-deliveries.png'), fullPage: true });
  await viewer.context().close();
  await manager.context().close();
  // Script errors only: the console also has the login page's expected 401s
  // and Chromium's refusal of push subscriptions in a headless context.
  assert.deepEqual(problems.filter((p) => p.startsWith('pageerror')), []);
});
