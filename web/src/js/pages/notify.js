// #/notify (every user): where and about what this user is notified. Their
// endpoints (this browser over Web Push, webhooks, e-mail addresses), a
// subscription per customer / building (alarms, notices, minimum priority,
// channels) and the status of what was sent to them.
import { get, post, del, put, seg } from '../api.js';
import { t } from '../i18n.js';
import { h, field, message } from '../dom.js';
import { showInstant } from '../time.js';
import { errorText } from '../main.js';

const PRIORITIES = ['low', 'medium', 'high', 'urgent'];
const CHANNELS = ['web_push', 'webhook', 'email'];

// base64url -> Uint8Array, for pushManager.subscribe's applicationServerKey.
function fromBase64Url(s) {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);
  const bin = atob(b64);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function pushSupported() {
  return typeof navigator !== 'undefined' && 'serviceWorker' in navigator &&
    typeof window !== 'undefined' && 'PushManager' in window && window.isSecureContext;
}

export async function notifyPage(app) {
  app.dataset.page = 'notify';
  const status = h('div', { 'aria-live': 'polite', 'data-testid': 'notify-status' });
  const endpointsBody = h('tbody', {});
  const subsBox = h('div', { class: 'notify-subs', 'data-testid': 'notify-subs' });
  const deliveriesBody = h('tbody', {});
  const say = (kind, text, testid) => status.replaceChildren(message(kind, text, testid));

  let vapid = null;   // {public_key, channels} or null when Web Push is off
  let channels = [];  // what the server can deliver on
  try {
    vapid = await get('/notify/vapid-public-key');
  } catch (e) {
    if (e.status !== 404) throw e;
  }

  // ---- endpoints ----
  const pushBtn = h('button', { type: 'button', class: 'primary', text: t('notify.pushThisBrowser'), 'data-testid': 'notify-push-register' });
  const pushNote = h('p', { class: 'muted small', 'data-testid': 'notify-push-note' });
  pushBtn.addEventListener('click', registerPush);
  const hookUrl = h('input', { type: 'url', placeholder: 'https://', 'data-testid': 'notify-webhook-url', required: true });
  const hookForm = h('form', { class: 'inline-form', 'data-testid': 'notify-webhook-form' },
    field(t('notify.webhookUrl'), hookUrl),
    h('button', { type: 'submit', text: t('notify.add'), 'data-testid': 'notify-webhook-add' }));
  hookForm.addEventListener('submit', (ev) => { ev.preventDefault(); addEndpoint({ kind: 'webhook', address: hookUrl.value.trim() }, hookUrl); });
  const mail = h('input', { type: 'email', 'data-testid': 'notify-email', required: true });
  const mailForm = h('form', { class: 'inline-form', 'data-testid': 'notify-email-form' },
    field(t('notify.email'), mail),
    h('button', { type: 'submit', text: t('notify.add'), 'data-testid': 'notify-email-add' }));
  mailForm.addEventListener('submit', (ev) => { ev.preventDefault(); addEndpoint({ kind: 'email', address: mail.value.trim() }, mail); });
  const secretBox = h('div', { 'data-testid': 'notify-secret-box' });

  app.append(h('section', { class: 'notify' },
    h('div', { class: 'page-head' }, h('h1', { text: t('notify.title') })),
    status,
    h('div', { class: 'card' },
      h('h2', { text: t('notify.endpoints') }),
      h('div', { class: 'table-wrap' }, h('table', { class: 'list', 'data-testid': 'notify-endpoints' },
        h('thead', {}, h('tr', {}, ['notify.kind', 'notify.address', 'notify.created', ''].map((k) => h('th', { scope: 'col', text: k ? t(k) : '' })))),
        endpointsBody)),
      h('div', { class: 'notify-add' }, pushBtn, pushNote),
      secretBox, hookForm, mailForm),
    h('div', { class: 'card' }, h('h2', { text: t('notify.subscriptions') }), subsBox),
    h('div', { class: 'card' },
      h('h2', { text: t('notify.deliveries') }),
      h('div', { class: 'table-wrap' }, h('table', { class: 'list', 'data-testid': 'notify-deliveries' },
        h('thead', {}, h('tr', {}, ['notify.time', 'notify.what', 'notify.channel', 'notify.state', 'notify.attempts', 'notify.lastError'].map((k) => h('th', { scope: 'col', text: t(k) })))),
        deliveriesBody)))));

  if (!vapid) {
    pushBtn.disabled = true;
    pushNote.textContent = t('notify.pushOff');
  } else if (!pushSupported()) {
    pushBtn.disabled = true;
    pushNote.textContent = t('notify.pushUnsupported');
  }

  async function registerPush() {
    pushBtn.disabled = true;
    try {
      const permission = await Notification.requestPermission();
      if (permission !== 'granted') { say('error', t('notify.pushDenied'), 'notify-error'); return; }
      const reg = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
      await navigator.serviceWorker.ready;
      let sub = await reg.pushManager.getSubscription();
      if (!sub) {
        sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: fromBase64Url(vapid.public_key) });
      }
      const json = sub.toJSON();
      await post('/notify/endpoints', { kind: 'web_push', address: json.endpoint, p256dh: json.keys.p256dh, auth: json.keys.auth });
      say('info', t('notify.pushRegistered'), 'notify-ok');
      await loadEndpoints();
    } catch (e) {
      say('error', t('notify.pushFailed', { why: errorText(e) }), 'notify-error');
    } finally {
      pushBtn.disabled = false;
    }
  }

  async function addEndpoint(body, input) {
    try {
      const ep = await post('/notify/endpoints', body);
      input.value = '';
      if (ep.secret) {
        // Shown once: the server keeps it only to sign with.
        secretBox.replaceChildren(h('div', { class: 'msg msg-info', role: 'status' },
          h('p', { text: t('notify.secretOnce') }),
          h('code', { class: 'secret', 'data-testid': 'notify-secret', text: ep.secret })));
      }
      say('info', t('notify.added'), 'notify-ok');
      await loadEndpoints();
    } catch (e) {
      say('error', errorText(e), 'notify-error');
    }
  }

  async function loadEndpoints() {
    const data = await get('/notify/endpoints');
    endpointsBody.replaceChildren(...data.endpoints.map((e) => h('tr', { 'data-testid': 'notify-endpoint', 'data-kind': e.kind },
      h('td', { 'data-label': t('notify.kind'), text: t('channel.' + e.kind) }),
      h('td', { 'data-label': t('notify.address'), class: 'wrap', text: e.kind === 'web_push' ? t('notify.browser') : e.address }),
      h('td', { 'data-label': t('notify.created'), text: showInstant(e.created_ms) + (e.expired_ms ? ' · ' + t('notify.expired') : '') }),
      h('td', {}, h('button', { type: 'button', class: 'danger small', text: t('notify.remove'), 'data-testid': 'notify-endpoint-remove',
        onclick: async () => {
          try { await del('/notify/endpoints/' + seg(e.id)); await loadEndpoints(); } catch (err) { say('error', errorText(err), 'notify-error'); }
        } })))));
    if (!data.endpoints.length) endpointsBody.append(h('tr', {}, h('td', { colspan: '4', class: 'muted', text: t('notify.noEndpoints') })));
  }

  // ---- subscriptions: one row per building of each customer the user sees,
  // plus a customer-wide row ("all buildings") ----
  async function loadSubscriptions() {
    const data = await get('/notify/subscriptions');
    channels = data.channels;
    const byKey = new Map(data.subscriptions.map((s) => [s.customer + '/' + s.building, s]));
    const customers = (await get('/customers')).customers;
    const blocks = [];
    for (const c of customers) {
      const buildings = (await get('/customers/' + seg(c.id) + '/buildings')).buildings;
      const rows = [{ id: '', name: t('notify.allBuildings') }, ...buildings].map((b) => subscriptionRow(c.id, b, byKey.get(c.id + '/' + b.id)));
      blocks.push(h('div', { class: 'table-wrap' }, h('table', { class: 'list', 'data-testid': 'notify-sub-table', 'data-customer': c.id },
        h('caption', { text: `${c.id} — ${c.name}` }),
        h('thead', {}, h('tr', {}, ['notify.building', 'notify.alarms', 'notify.notices', 'notify.minPriority', 'notify.channels', ''].map((k) => h('th', { scope: 'col', text: k ? t(k) : '' })))),
        h('tbody', {}, rows))));
    }
    subsBox.replaceChildren(...(blocks.length ? blocks : [h('p', { class: 'muted', text: t('notify.noCustomers') })]));
  }

  function subscriptionRow(customer, building, sub) {
    const on = !!sub;
    const alarms = h('input', { type: 'checkbox', checked: on ? sub.alarms : true, 'data-testid': 'notify-sub-alarms' });
    const notices = h('input', { type: 'checkbox', checked: on ? sub.notices : true, 'data-testid': 'notify-sub-notices' });
    const prio = h('select', { 'data-testid': 'notify-sub-priority' },
      PRIORITIES.map((p) => h('option', { value: p, text: t('priority.' + p), selected: (on ? sub.min_priority : 'low') === p })));
    const chans = CHANNELS.filter((c) => channels.includes(c)).map((c) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', value: c, checked: on ? sub.channels.includes(c) : true, 'data-testid': 'notify-sub-channel-' + c }),
      ' ', t('channel.' + c)));
    const save = h('button', { type: 'button', class: 'primary small', text: on ? t('notify.save') : t('notify.subscribe'), 'data-testid': 'notify-sub-save' });
    const remove = on ? h('button', { type: 'button', class: 'danger small', text: t('notify.unsubscribe'), 'data-testid': 'notify-sub-remove' }) : null;
    const path = '/notify/subscriptions/' + seg(customer) + (building.id ? '/' + seg(building.id) : '');
    save.addEventListener('click', async () => {
      const body = {
        alarms: alarms.checked, notices: notices.checked, min_priority: prio.value,
        channels: chans.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value),
      };
      try { await put(path, body); say('info', t('notify.saved'), 'notify-ok'); await loadSubscriptions(); } catch (e) { say('error', errorText(e), 'notify-error'); }
    });
    remove?.addEventListener('click', async () => {
      try { await del(path); say('info', t('notify.saved'), 'notify-ok'); await loadSubscriptions(); } catch (e) { say('error', errorText(e), 'notify-error'); }
    });
    return h('tr', { 'data-testid': 'notify-sub-row', 'data-building': building.id, class: on ? 'subscribed' : '' },
      h('th', { scope: 'row', text: building.id ? `${building.id} — ${building.name}` : building.name }),
      h('td', { 'data-label': t('notify.alarms') }, alarms),
      h('td', { 'data-label': t('notify.notices') }, notices),
      h('td', { 'data-label': t('notify.minPriority') }, prio),
      h('td', { 'data-label': t('notify.channels') }, chans),
      h('td', {}, save, remove));
  }

  async function loadDeliveries() {
    const data = await get('/notify/deliveries?limit=100');
    deliveriesBody.replaceChildren(...data.deliveries.map((d) => h('tr', { 'data-testid': 'notify-delivery', 'data-state': d.state, class: d.state === 'failed' ? 'bad' : '' },
      h('td', { 'data-label': t('notify.time'), text: showInstant(d.created_ms) }),
      h('td', { 'data-label': t('notify.what'), class: 'wrap', text: (d.kind ? t('kind.' + d.kind) + ': ' : '') + (d.title || d.notification) }),
      h('td', { 'data-label': t('notify.channel'), text: t('channel.' + d.channel) }),
      h('td', { 'data-label': t('notify.state'), text: t('delivery.' + d.state) }),
      h('td', { 'data-label': t('notify.attempts'), text: String(d.attempts) }),
      h('td', { 'data-label': t('notify.lastError'), class: 'wrap', text: d.last_error || '' }))));
    if (!data.deliveries.length) deliveriesBody.append(h('tr', {}, h('td', { colspan: '6', class: 'muted', text: t('notify.noDeliveries') })));
  }

  try {
    await loadEndpoints();
    await loadSubscriptions();
    await loadDeliveries();
  } catch (e) {
    say('error', errorText(e), 'notify-error');
  }
  const timer = setInterval(() => { loadDeliveries().catch(() => {}); }, 15000);
  return { destroy() { clearInterval(timer); } };
}

