// #/alarms/{customer}/{building}: the alarm console of one building.
//
// - Current alarms: unacknowledged first, then by priority, newest first;
//   filters (thing, equipment prefix, most urgent priority, shelved/suppressed).
//   The list comes from the WebSocket (`alarms.subscribe` -> a snapshot, then
//   every transition in commit order; `alarms.resync` -> subscribe again) and,
//   until the socket is up, from GET .../alarms. Changes are drawn in one
//   animation frame, so a flood costs one redraw per frame, not per alarm.
// - Managers and the admin: acknowledge (single, or the selected rows in one
//   request), shelve with a required expiry, unshelve, comment. Viewers see no
//   action controls (the server refuses them with 403 anyway).
// - History by time range (GET .../alarms/history) and its CSV download.
// - Health: raises per 10 minutes, floods, chattering, stale, top 10, and the
//   state of the MW/device links with their history.
import { get, post, buildingPath, seg, query } from '../api.js';
import { t } from '../i18n.js';
import { h, field, message } from '../dom.js';
import { showInstant } from '../time.js';
import { realtime } from '../ws.js';
import { canControl } from '../session.js';
import { errorText } from '../main.js';

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
const MAX_SHELVE_MS = 30 * DAY;
const p2 = (n) => String(n).padStart(2, '0');
const toInput = (ms) => {
  const d = new Date(ms);
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}T${p2(d.getHours())}:${p2(d.getMinutes())}`;
};
const keyOf = (a) => `${a.thing}\u0000${a.alarm_id}`;
const SVG = 'http://www.w3.org/2000/svg';

/** The console's order: unacknowledged first, then most urgent, then newest. */
export function compareAlarms(a, b) {
  if (a.acknowledged !== b.acknowledged) return a.acknowledged ? 1 : -1;
  if (a.priority !== b.priority) return a.priority - b.priority;
  return b.raised_ms - a.raised_ms;
}

export async function alarmsPage(app, { customer, building }) {
  app.dataset.page = 'alarms';
  const base = buildingPath(customer, building);
  const [info, things, pointList, initial] = await Promise.all([
    get(base), get(base + '/things'), get(base + '/points'), get(base + '/alarms')]);
  const equipmentOf = new Map(pointList.points.map((p) => [p.point_id, p.equipment || '']));
  const mayAct = canControl();
  const alarms = new Map();   // key -> alarm, as the server last said
  for (const a of initial.alarms) alarms.set(keyOf(a), a);
  const selected = new Set(); // keys
  let frame = 0;
  let live = false;

  // ---- current alarms ------------------------------------------------------
  const fThing = h('select', { 'data-testid': 'alarm-filter-thing' },
    h('option', { value: '', text: t('alarms.allThings') }),
    things.things.map((x) => h('option', { value: x.name, text: x.name })));
  const fEquip = h('input', { type: 'search', 'data-testid': 'alarm-filter-equipment', placeholder: t('alarms.equipmentHint') });
  const fPrio = h('input', { type: 'number', min: '0', max: '255', 'data-testid': 'alarm-filter-priority', class: 'narrow' });
  const fShelved = h('input', { type: 'checkbox', checked: true, 'data-testid': 'alarm-filter-shelved' });
  const fSuppressed = h('input', { type: 'checkbox', checked: true, 'data-testid': 'alarm-filter-suppressed' });
  for (const el of [fThing, fEquip, fPrio, fShelved, fSuppressed]) el.addEventListener('input', schedule);
  const selectAll = h('input', { type: 'checkbox', 'data-testid': 'alarm-select-all', 'aria-label': t('alarms.selectAll') });
  selectAll.addEventListener('change', () => {
    selected.clear();
    if (selectAll.checked) for (const a of visible()) if (!a.acknowledged) selected.add(keyOf(a));
    schedule();
  });
  const ackSelected = h('button', { type: 'button', class: 'primary', 'data-testid': 'alarm-ack-selected', text: t('alarms.ackSelected'), onclick: ackMany });
  const count = h('span', { class: 'muted small', 'data-testid': 'alarm-count', 'aria-live': 'polite' });
  const liveBadge = h('span', { class: 'badge', 'data-testid': 'alarm-live' });
  const actionStatus = h('div', { 'aria-live': 'polite' });
  const tbody = h('tbody', { 'data-testid': 'alarm-rows' });
  const cols = [mayAct ? selectAll : null, t('alarms.col.priority'), t('alarms.col.raised'), t('alarms.col.alarm'),
    t('alarms.col.point'), t('alarms.col.state'), t('alarms.col.text'), mayAct ? t('alarms.col.actions') : null];

  const now = Date.now();
  const hFrom = h('input', { type: 'datetime-local', 'data-testid': 'history-from', value: toInput(now - DAY) });
  const hTo = h('input', { type: 'datetime-local', 'data-testid': 'history-to', value: '' });
  const hLimit = h('select', { 'data-testid': 'history-limit' }, [200, 1000, 5000].map((n) => h('option', { value: String(n), text: String(n) })));
  const hStatus = h('div', { 'aria-live': 'polite' });
  const hBody = h('tbody', { 'data-testid': 'history-rows' });
  const csvLink = h('a', { class: 'button', 'data-testid': 'history-csv', text: t('alarms.csv'), download: '' });
  const historyForm = h('form', { class: 'card filter-bar', 'data-testid': 'history-form' },
    field(t('alarms.from'), hFrom), field(t('alarms.to'), hTo), field(t('alarms.limit'), hLimit),
    h('button', { type: 'submit', class: 'primary', text: t('alarms.search'), 'data-testid': 'history-search' }), csvLink);
  historyForm.addEventListener('submit', (ev) => { ev.preventDefault(); loadHistory(); loadHealth(); });
  for (const el of [hFrom, hTo]) el.addEventListener('input', updateCsvLink);

  const healthBox = h('div', { 'data-testid': 'health-panel' });
  const linksBox = h('div', { 'data-testid': 'links-panel' });

  app.append(h('section', { class: 'alarms' },
    h('div', { class: 'page-head' },
      h('div', {},
        h('a', { href: `#/b/${seg(customer)}/${seg(building)}`, class: 'back small', text: '← ' + (info.name || building) }),
        h('h1', { 'data-testid': 'alarms-title', text: t('alarms.title', { name: info.name || building }) }),
        h('div', { class: 'muted small', text: [customer, building].join(' · ') })),
      liveBadge),
    h('h2', { text: t('alarms.current') }),
    h('div', { class: 'card filter-bar' },
      field(t('alarms.thing'), fThing), field(t('alarms.equipment'), fEquip), field(t('alarms.maxPriority'), fPrio),
      h('label', { class: 'check' }, fShelved, t('alarms.showShelved')),
      h('label', { class: 'check' }, fSuppressed, t('alarms.showSuppressed')),
      mayAct ? ackSelected : null, count),
    actionStatus,
    h('div', { class: 'table-wrap' }, h('table', { class: 'list alarm-table', 'data-testid': 'alarm-table' },
      h('thead', {}, h('tr', {}, cols.filter(Boolean).map((c) => h('th', { scope: 'col' }, c)))), tbody)),
    h('h2', { text: t('alarms.history') }),
    historyForm, hStatus,
    h('div', { class: 'table-wrap' }, h('table', { class: 'list', 'data-testid': 'history-table' },
      h('thead', {}, h('tr', {}, ['alarms.col.time', 'alarms.col.transition', 'alarms.col.alarm', 'alarms.col.priority',
        'alarms.col.user', 'alarms.col.text'].map((k) => h('th', { scope: 'col', text: t(k) })))), hBody)),
    h('h2', { text: t('alarms.health') }), healthBox,
    h('h2', { text: t('alarms.links') }), linksBox));

  function visible() {
    const thing = fThing.value;
    const equip = fEquip.value.trim();
    const maxPrio = fPrio.value === '' ? null : Number(fPrio.value);
    const nowMs = Date.now();
    const out = [];
    for (const a of alarms.values()) {
      if (thing && a.thing !== thing) continue;
      if (maxPrio !== null && a.priority > maxPrio) continue;
      const shelved = a.shelved_until_ms !== null && nowMs < a.shelved_until_ms;
      if (!fShelved.checked && shelved) continue;
      if (!fSuppressed.checked && a.suppressed) continue;
      if (equip && !(equipmentOf.get(a.point_id) || '').startsWith(equip)) continue;
      out.push(a);
    }
    return out.sort(compareAlarms);
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(draw);
  }

  function stateText(a) {
    const parts = [t(a.active ? 'alarms.active' : 'alarms.cleared'), t(a.acknowledged ? 'alarms.acked' : 'alarms.unacked')];
    if (a.shelved_until_ms !== null && Date.now() < a.shelved_until_ms) parts.push(t('alarms.shelvedUntil', { time: showInstant(a.shelved_until_ms) }));
    if (a.suppressed) parts.push(t('alarms.suppressed'));
    return parts.join(' · ');
  }

  function draw() {
    frame = 0;
    const list = visible();
    for (const k of [...selected]) if (!alarms.has(k) || alarms.get(k).acknowledged) selected.delete(k);
    count.textContent = t('alarms.count', { n: list.length, total: alarms.size });
    liveBadge.textContent = t(live ? 'alarms.live' : 'alarms.notLive');
    liveBadge.dataset.state = live ? 'open' : 'closed';
    ackSelected.disabled = selected.size === 0;
    ackSelected.textContent = t('alarms.ackSelected') + (selected.size ? ` (${selected.size})` : '');
    tbody.replaceChildren(...list.map(row));
    if (!list.length) tbody.append(h('tr', {}, h('td', { colspan: '8', class: 'muted', 'data-testid': 'alarm-none', text: t('alarms.none') })));
  }

  function row(a) {
    const k = keyOf(a);
    const cls = ['alarm-row', a.acknowledged ? 'acked' : 'unacked', a.active ? 'active' : 'cleared', a.suppressed ? 'suppressed' : ''].join(' ');
    const tr = h('tr', { class: cls, 'data-testid': 'alarm-row', 'data-alarm-id': a.alarm_id, 'data-thing': a.thing, 'data-acknowledged': String(a.acknowledged) });
    if (mayAct) {
      const box = h('input', { type: 'checkbox', checked: selected.has(k), disabled: a.acknowledged, 'data-testid': 'alarm-select', 'aria-label': t('alarms.select') });
      box.addEventListener('change', () => { if (box.checked) selected.add(k); else selected.delete(k); schedule(); });
      tr.append(h('td', {}, box));
    }
    const lastComment = a.comments.length ? a.comments[a.comments.length - 1] : null;
    tr.append(
      h('td', { class: 'num', 'data-label': t('alarms.col.priority'), text: String(a.priority) }),
      h('td', { 'data-label': t('alarms.col.raised'), text: showInstant(a.raised_ms) }),
      h('td', { 'data-label': t('alarms.col.alarm') }, h('div', { text: a.name || a.alarm_id }), h('div', { class: 'muted small pid', text: `${a.thing} / ${a.alarm_id}` })),
      h('td', { 'data-label': t('alarms.col.point') }, h('span', { class: 'pid', text: a.point_id || a.device || '—' }),
        h('div', { class: 'muted small', text: equipmentOf.get(a.point_id) || '' })),
      h('td', { 'data-label': t('alarms.col.state'), 'data-testid': 'alarm-state', text: stateText(a) }),
      h('td', { 'data-label': t('alarms.col.text'), class: 'wrap' }, h('div', { text: a.text }),
        lastComment ? h('div', { class: 'muted small', 'data-testid': 'alarm-comment', text: `${lastComment.user}: ${lastComment.text}` }) : null));
    if (mayAct) {
      const shelved = a.shelved_until_ms !== null && Date.now() < a.shelved_until_ms;
      tr.append(h('td', { class: 'actions' },
        a.acknowledged ? null : h('button', { type: 'button', class: 'small primary', 'data-testid': 'alarm-ack', text: t('alarms.ack'), onclick: () => ackOne(a) }),
        shelved ? h('button', { type: 'button', class: 'small', 'data-testid': 'alarm-unshelve', text: t('alarms.unshelve'), onclick: () => act(a, 'unshelve', {}) })
          : h('button', { type: 'button', class: 'small', 'data-testid': 'alarm-shelve', text: t('alarms.shelve'), onclick: () => shelveDialog(a) }),
        h('button', { type: 'button', class: 'small', 'data-testid': 'alarm-comment-button', text: t('alarms.comment'), onclick: () => commentDialog(a) })));
    }
    return tr;
  }

  // ---- actions -------------------------------------------------------------
  const alarmPath = (a, action) => `${base}/alarms/${seg(a.thing)}/${seg(a.alarm_id)}/${action}`;
  function report(e) { actionStatus.replaceChildren(message('error', errorText(e), 'alarm-action-error')); }
  function done(text) { actionStatus.replaceChildren(message('info', text, 'alarm-action-done')); }
  // The answer of an action is applied at once; the WebSocket frame of the same
  // change arrives too and says the same.
  function applyAnswer(a, res) {
    if (res?.alarm) alarms.set(keyOf(res.alarm), res.alarm);
    else if (res?.removed) alarms.delete(keyOf(a));
    schedule();
  }
  async function ackOne(a) {
    try { applyAnswer(a, await post(alarmPath(a, 'ack'))); done(t('alarms.acknowledged', { n: 1 })); } catch (e) { report(e); }
  }
  async function ackMany() {
    const list = [...selected].map((k) => alarms.get(k)).filter(Boolean).map((a) => ({ thing: a.thing, alarm_id: a.alarm_id }));
    if (!list.length) return;
    try {
      const res = await post(base + '/alarms/ack', { alarms: list });
      selected.clear();
      selectAll.checked = false;
      done(t('alarms.acknowledged', { n: res.acknowledged }));
      if (!live) await reload();
    } catch (e) { report(e); }
  }
  async function act(a, action, body) {
    try { applyAnswer(a, await post(alarmPath(a, action), body)); return true; } catch (e) { report(e); return false; }
  }

  function dialog(title, testid, fields, submitText, onSubmit) {
    const err = h('div', { 'aria-live': 'polite' });
    const form = h('form', { method: 'dialog', class: 'dialog-body' }, h('h2', { text: title }), fields, err,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', text: t('alarms.cancel'), onclick: () => dlg.close() }),
        h('button', { type: 'submit', class: 'primary', 'data-testid': testid + '-submit', text: submitText })));
    const dlg = h('dialog', { class: 'dialog', 'data-testid': testid }, form);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const problem = await onSubmit();
      if (problem) err.replaceChildren(message('error', problem, testid + '-error'));
      else dlg.close();
    });
    dlg.addEventListener('close', () => dlg.remove());
    document.body.append(dlg);
    dlg.showModal();
    return dlg;
  }

  function shelveDialog(a) {
    const nowMs = Date.now();
    const until = h('input', { type: 'datetime-local', required: true, 'data-testid': 'shelve-until',
      min: toInput(nowMs + 60000), max: toInput(nowMs + MAX_SHELVE_MS) });
    const reason = h('input', { type: 'text', maxlength: '1000', 'data-testid': 'shelve-reason' });
    dialog(t('alarms.shelveTitle', { name: a.name || a.alarm_id }), 'shelve-dialog',
      [field(t('alarms.shelveUntil'), until), h('p', { class: 'muted small', text: t('alarms.shelveHint') }), field(t('alarms.reason'), reason)],
      t('alarms.shelve'), async () => {
        const ms = until.value ? new Date(until.value).getTime() : NaN;
        if (!Number.isFinite(ms)) return t('alarms.expiryRequired');
        const body = { until_ms: ms };
        if (reason.value.trim()) body.reason = reason.value.trim();
        try { applyAnswer(a, await post(alarmPath(a, 'shelve'), body)); return ''; } catch (e) { return errorText(e); }
      });
  }

  function commentDialog(a) {
    const text = h('textarea', { required: true, maxlength: '1000', rows: '3', 'data-testid': 'comment-text' });
    dialog(t('alarms.commentTitle', { name: a.name || a.alarm_id }), 'comment-dialog',
      [field(t('alarms.comment'), text), h('ul', { class: 'comments small' },
        a.comments.map((c) => h('li', { text: `${showInstant(c.at_ms)} ${c.user}: ${c.text}` })))],
      t('alarms.save'), async () => {
        if (!text.value.trim()) return t('alarms.commentRequired');
        try { applyAnswer(a, await post(alarmPath(a, 'comments'), { text: text.value.trim() })); return ''; } catch (e) { return errorText(e); }
      });
  }

  // ---- live updates --------------------------------------------------------
  const mine = (m) => m.customer === customer && m.building === building;
  function subscribe() { realtime.send({ type: 'alarms.subscribe', customer, building }); }
  const offMessage = realtime.onMessage((m) => {
    if (m.type === 'alarms.snapshot' && mine(m)) {
      alarms.clear();
      for (const a of m.alarms) alarms.set(keyOf(a), a);
      live = true;
      schedule();
    } else if (m.type === 'alarms' && mine(m)) {
      for (const a of m.alarms) alarms.set(keyOf(a), a);
      for (const k of m.removed) alarms.delete(keyOf(k));
      schedule();
    } else if (m.type === 'alarms.resync' && mine(m)) {
      subscribe();
    }
  });
  const offState = realtime.onState((s) => {
    if (s === 'open') subscribe();
    else { live = false; schedule(); }
  });
  if (realtime.state === 'open') subscribe();

  async function reload() {
    const data = await get(base + '/alarms');
    alarms.clear();
    for (const a of data.alarms) alarms.set(keyOf(a), a);
    schedule();
  }

  // ---- history ------------------------------------------------------------
  function range() {
    const params = {};
    if (hFrom.value) params.from = new Date(hFrom.value).getTime();
    if (hTo.value) params.to = new Date(hTo.value).getTime();
    return params;
  }
  function updateCsvLink() {
    csvLink.href = '/api/v1' + base + '/alarms/history.csv' + query({ ...range(), order: 'asc' });
  }
  async function loadHistory() {
    updateCsvLink();
    try {
      const data = await get(base + '/alarms/history' + query({ ...range(), limit: hLimit.value }));
      hStatus.replaceChildren(h('span', { class: 'muted small', 'data-testid': 'history-count', text: t('alarms.historyCount', { n: data.transitions.length }) }));
      if (data.truncated) hStatus.append(message('info', t('alarms.truncated', { n: data.limit }), 'history-truncated'));
      hBody.replaceChildren(...data.transitions.map((x) => h('tr', { 'data-testid': 'history-row', 'data-kind': x.kind },
        h('td', { 'data-label': t('alarms.col.time'), text: showInstant(x.at_ms) }),
        h('td', { 'data-label': t('alarms.col.transition'), text: t('alarms.kind.' + x.kind, {}, x.kind) }),
        h('td', { 'data-label': t('alarms.col.alarm') }, h('div', { text: x.alarm.name || x.alarm.alarm_id }), h('div', { class: 'muted small pid', text: `${x.alarm.thing} / ${x.alarm.alarm_id}` })),
        h('td', { class: 'num', 'data-label': t('alarms.col.priority'), text: String(x.alarm.priority) }),
        h('td', { 'data-label': t('alarms.col.user'), text: x.user || '—' }),
        h('td', { 'data-label': t('alarms.col.text'), class: 'wrap', text: x.text || x.alarm.text || '' }))));
    } catch (e) {
      hStatus.replaceChildren(message('error', errorText(e), 'history-error'));
    }
  }

  // ---- health and links ----------------------------------------------------
  function bars(buckets) {
    const w = 600, hgt = 80;
    const max = Math.max(1, ...buckets.map((b) => b.raises));
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', `0 0 ${w} ${hgt}`);
    svg.setAttribute('class', 'health-bars');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', t('alarms.perTenMinutes'));
    const bw = w / Math.max(1, buckets.length);
    buckets.forEach((b, i) => {
      const r = document.createElementNS(SVG, 'rect');
      const bh = (b.raises / max) * (hgt - 2);
      r.setAttribute('x', String(i * bw));
      r.setAttribute('y', String(hgt - bh));
      r.setAttribute('width', String(Math.max(1, bw - 1)));
      r.setAttribute('height', String(bh));
      r.setAttribute('class', b.raises > 10 ? 'bar flood' : 'bar');
      const title = document.createElementNS(SVG, 'title');
      title.textContent = `${showInstant(b.start_ms)}: ${b.raises}`;
      r.append(title);
      svg.append(r);
    });
    return svg;
  }
  const countRows = (list, testid) => h('table', { class: 'list small', 'data-testid': testid },
    h('thead', {}, h('tr', {}, [t('alarms.col.alarm'), t('alarms.col.point'), t('alarms.raises'), t('alarms.peak')].map((c) => h('th', { text: c })))),
    h('tbody', {}, list.map((c) => h('tr', {},
      h('td', {}, h('div', { text: c.name || c.alarm_id }), h('div', { class: 'muted small pid', text: `${c.thing} / ${c.alarm_id}` })),
      h('td', { class: 'pid', text: c.point_id || '—' }),
      h('td', { class: 'num', text: String(c.raises) }),
      h('td', { class: 'num', text: String(c.peak_per_window) })))));
  async function loadHealth() {
    try {
      const hl = await get(base + '/alarms/health' + query({ from: Date.now() - DAY, to: Date.now() + 1 }));
      healthBox.replaceChildren(
        h('p', { 'data-testid': 'health-summary', text: t('alarms.healthSummary', { n: hl.raises, floods: hl.floods.length, minutes: Math.round(hl.flood_ms / 60000) }) }),
        h('h3', { text: t('alarms.perTenMinutes') }), bars(hl.buckets),
        h('h3', { text: t('alarms.floods') }),
        hl.floods.length ? h('ul', { 'data-testid': 'health-floods' }, hl.floods.map((f) => h('li', { text: t('alarms.floodLine', { from: showInstant(f.start_ms), to: showInstant(f.end_ms), n: f.raises, peak: f.peak }) })))
          : h('p', { class: 'muted', text: t('alarms.noneFound') }),
        h('h3', { text: t('alarms.chattering') }),
        hl.chattering.length ? countRows(hl.chattering, 'health-chattering') : h('p', { class: 'muted', text: t('alarms.noneFound') }),
        h('h3', { text: t('alarms.stale') }),
        hl.stale.length ? h('ul', { 'data-testid': 'health-stale' }, hl.stale.map((a) => h('li', { text: `${a.name || a.alarm_id} (${a.thing}) — ${showInstant(a.raised_ms)}` })))
          : h('p', { class: 'muted', text: t('alarms.noneFound') }),
        h('h3', { text: t('alarms.top') }),
        hl.top.length ? countRows(hl.top, 'health-top') : h('p', { class: 'muted', text: t('alarms.noneFound') }));
    } catch (e) {
      healthBox.replaceChildren(message('error', errorText(e), 'health-error'));
    }
    try {
      const [ls, hist] = await Promise.all([get(base + '/links'), get(base + '/links/history')]);
      linksBox.replaceChildren(
        ls.links.length ? h('table', { class: 'list small', 'data-testid': 'links-table' },
          h('thead', {}, h('tr', {}, [t('alarms.link'), t('alarms.col.state'), t('alarms.since'), t('alarms.col.text')].map((c) => h('th', { text: c })))),
          h('tbody', {}, ls.links.map((l) => h('tr', { class: l.connected ? '' : 'bad' },
            h('td', { class: 'pid', text: l.device ? `${l.thing} / ${l.device}` : l.thing }),
            h('td', { text: t(l.connected ? 'alarms.connected' : 'alarms.disconnected') }),
            h('td', { text: showInstant(l.since_ms) }),
            h('td', { text: l.text || '' })))))
          : h('p', { class: 'muted', text: t('alarms.noLinks') }),
        h('h3', { text: t('alarms.linkHistory') }),
        hist.changes.length ? h('ul', { class: 'small' }, hist.changes.map((c) => h('li', {
          text: `${showInstant(c.at_ms)} ${c.device ? `${c.thing} / ${c.device}` : c.thing}: ${t(c.connected ? 'alarms.connected' : 'alarms.disconnected')}` })))
          : h('p', { class: 'muted', text: t('alarms.noneFound') }));
    } catch (e) {
      linksBox.replaceChildren(message('error', errorText(e), 'links-error'));
    }
  }

  draw();
  updateCsvLink();
  await Promise.all([loadHistory(), loadHealth()]);
  // Shelves expire by themselves: redraw once a minute to show it.
  const tick = setInterval(schedule, 60000);

  return {
    destroy() {
      offMessage();
      offState();
      clearInterval(tick);
      if (frame) cancelAnimationFrame(frame);
      if (realtime.state === 'open') realtime.send({ type: 'alarms.unsubscribe', customer, building });
      for (const d of document.querySelectorAll('dialog.dialog')) d.remove();
    },
  };
}
