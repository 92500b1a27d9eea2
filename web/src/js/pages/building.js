// #/b/{customer}/{building}: the building's points as an equipment tree (from each
// point's `equipment` path, e.g. AHU/AHU_0001/0001_AHUCOMP_U) with live values.
//
// Built for ~1,000 points: the rows are created once; a Map point_id -> cells
// takes the values; values from the WebSocket are queued and applied in one
// requestAnimationFrame batch; the filter only toggles `hidden`.
import { get, buildingPath, seg } from '../api.js';
import { t } from '../i18n.js';
import { h } from '../dom.js';
import { parseStamp, nowNaive, toNaive, ageText } from '../time.js';
import { formatValue } from '../format.js';
import { realtime } from '../ws.js';
import { canControl } from '../session.js';
import { openControlDialog } from '../control.js';

const FRESH_MS = 35 * 60 * 1000;   // two 15-minute periods and a bit
const AGE_TICK_MS = 15000;
const FLASH = [{ backgroundColor: 'rgba(255, 200, 40, 0.35)' }, { backgroundColor: 'rgba(255, 200, 40, 0)' }];

export async function buildingPage(app, { customer, building }) {
  app.dataset.page = 'building';
  const base = buildingPath(customer, building);
  const [info, pointList, latest] = await Promise.all([get(base), get(base + '/points'), get(base + '/latest')]);
  const points = pointList.points;
  const latestById = new Map(latest.points.map((p) => [p.point_id, p]));
  const mayControl = canControl();
  let watchTimer = 0;
  // Rows in the viewport: only those flash on a change (animating hundreds of
  // cells off screen would cost frames for nothing).
  const onScreen = new Set();
  // Values of rows far off screen wait in entry.deferred and are written when the
  // row comes near the viewport: the DOM only changes where someone can see it.
  const viewport = new IntersectionObserver((list) => {
    for (const x of list) {
      if (x.isIntersecting) {
        onScreen.add(x.target);
        const e = x.target.entry;
        if (e?.deferred) { const [v, ts] = e.deferred; e.deferred = null; setValue(e, v, ts, 'live', false); } else if (e) showAge(e, nowNaive());
      } else {
        onScreen.delete(x.target);
      }
    }
  }, { rootMargin: '300px 0px' });

  // ---- rows, built once ----------------------------------------------------
  const entries = new Map();   // point_id -> entry
  const root = { name: '', children: new Map(), points: [] };
  for (const p of points) {
    const path = (p.equipment || '').split('/').map((s) => s.trim()).filter(Boolean);
    let node = root;
    for (const part of path.length ? path : [t('building.noEquipment')]) {
      if (!node.children.has(part)) node.children.set(part, { name: part, children: new Map(), points: [] });
      node = node.children.get(part);
    }
    node.points.push(p);
  }

  const groups = [];   // {el, rows: [entry], sub: [group]} in document order, parents first
  function renderNode(node, depth) {
    const group = { el: null, entries: [], sub: [] };
    const kids = [...node.children.values()].sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
    const content = [];
    if (node.points.length) {
      node.points.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
      const tbody = h('tbody', {}, node.points.map((p) => {
        const e = makeRow(p);
        group.entries.push(e);
        return e.row;
      }));
      content.push(h('table', { class: 'points' },
        h('thead', { class: 'sr-only-narrow' }, h('tr', {},
          h('th', { scope: 'col', text: t('building.col.point') }),
          h('th', { scope: 'col', class: 'num', text: t('building.col.value') }),
          h('th', { scope: 'col', text: t('building.col.unit') }),
          h('th', { scope: 'col', text: t('building.col.age') }),
          h('th', { scope: 'col', text: '' }))),
        tbody));
    }
    for (const k of kids) {
      const g = renderNode(k, depth + 1);
      group.sub.push(g);
      content.push(g.el);
    }
    const count = countPoints(node);
    group.count = count;
    group.el = h('details', { class: `group depth-${Math.min(depth, 3)}`, open: true, 'data-testid': 'group', 'data-group': node.name },
      h('summary', {}, h('span', { class: 'group-name', text: node.name }), h('span', { class: 'count', text: String(count) })),
      content);
    group.el.addEventListener('toggle', scheduleWatch);
    groups.push(group);
    return group;
  }

  function makeRow(p) {
    const v = h('td', { class: 'v num', 'data-testid': 'point-value' });
    const unit = h('td', { class: 'unit', text: p.unit || '' });
    const age = h('td', { class: 'age' }, h('span', { class: 'q' }));
    const trendHref = `#/trend/${seg(customer)}/${seg(building)}/${seg(p.point_id)}`;
    const action = h('td', { class: 'act' });
    const row = h('tr', { 'data-point': p.point_id, 'data-testid': 'point-row' },
      h('td', { class: 'name' },
        h('a', { href: trendHref, text: p.name || p.point_id, title: t('building.openTrend'), 'data-testid': 'trend-link' }),
        h('div', { class: 'pid', text: p.point_id })),
      v, unit, age, action);
    const entry = { p, row, v, age, value: null, ts: NaN, src: '', visible: true,
      search: [p.name, p.point_id, p.equipment, p.location, p.unit, p.object_type].join(' ').toLowerCase() };
    if (p.writable && mayControl) {
      action.append(h('button', { type: 'button', class: 'small', text: t('building.control'), 'aria-label': `${t('building.control')}: ${p.name}`, 'data-testid': 'control-button',
        onclick: () => openControlDialog({ point: p, current: entry.value, onResult: (val) => queue(p.point_id, val, Date.now()) }) }));
    }
    const l = latestById.get(p.point_id);
    if (l) setValue(entry, l.value, parseStamp(l.time), 'log');
    else setValue(entry, null, NaN, '');
    entries.set(p.point_id, entry);
    row.entry = entry;
    viewport.observe(row);
    return entry;
  }

  function countPoints(node) {
    let n = node.points.length;
    for (const k of node.children.values()) n += countPoints(k);
    return n;
  }

  // ---- values ---------------------------------------------------------------
  function setValue(e, value, ts, src, flash = true) {
    e.value = value;
    e.ts = ts;
    e.src = src;
    const text = formatValue(value, e.p.object_type);
    if (e.v.textContent !== text) {
      e.v.textContent = text;
      if (flash && src === 'live' && onScreen.has(e.row)) e.v.animate(FLASH, 700);
    }
    showAge(e, nowNaive());
  }

  function showAge(e, now) {
    if (e.removed) return;
    const q = e.age.firstChild;
    const age = now - e.ts;
    const quality = !Number.isFinite(e.ts) ? 'none' : age > FRESH_MS ? 'stale' : e.src === 'live' ? 'live' : 'ok';
    const text = Number.isFinite(e.ts) ? ageText(age) : '—';
    if (q.textContent !== text) q.textContent = text;
    if (q.dataset.q !== quality) {
      q.dataset.q = quality;
      q.className = 'q q-' + quality;
      e.age.title = t('quality.' + quality);
    }
  }

  const pending = new Map();   // point_id -> [value, received unix ms]
  let frame = 0;
  function queue(pointId, value, receivedMs) {
    const e = entries.get(pointId);
    if (value === null || value === undefined || !e || e.removed) return;
    pending.set(pointId, [value, receivedMs]);
    if (!frame) frame = requestAnimationFrame(flush);
  }
  function flush() {
    frame = 0;
    for (const [id, [value, ms]] of pending) {
      const e = entries.get(id);
      if (onScreen.has(e.row)) {
        setValue(e, value, toNaive(ms), 'live');
      } else {
        e.value = value;          // the dialog and the next render see the newest value
        e.deferred = [value, toNaive(ms)];
      }
    }
    pending.clear();
  }
  const offValues = realtime.onValues((update) => {
    const ms = update.received_ms ?? Date.now();
    for (const v of update.values || []) queue(v.point_id, v.value, ms);
  });

  // ---- a middleware deleted with its data while the page is open ----------
  // The server sends `thing_removed` to whoever watched it: its rows stay (so
  // the user sees what went) but are marked, lose their control button and are
  // no longer watched; a notice says what happened.
  const notices = h('div', { class: 'notices-inline', 'data-testid': 'building-notices' });
  function markRemoved(e) {
    e.removed = true;
    e.deferred = null;
    pending.delete(e.p.point_id);
    e.row.classList.add('removed');
    e.row.dataset.removed = 'true';
    e.row.querySelector('.act')?.replaceChildren();
    const q = e.age.firstChild;
    q.textContent = t('quality.removed');
    q.dataset.q = 'removed';
    q.className = 'q q-removed';
    e.age.title = t('quality.removed');
  }
  const offMessages = realtime.onMessage((msg) => {
    if (msg.type !== 'thing_removed' || typeof msg.thing !== 'string') return;
    let n = 0;
    for (const e of entries.values()) {
      if (e.p.thing !== msg.thing || e.removed) continue;
      markRemoved(e);
      n++;
    }
    if (!n) return;
    notices.append(h('div', { class: 'msg msg-warn', role: 'status', 'data-testid': 'thing-removed', 'data-thing': msg.thing,
      text: t('building.thingRemoved', { thing: msg.thing, n }) }));
    updateWatch();
  });
  const ageTimer = setInterval(() => {
    const now = nowNaive();
    for (const row of onScreen) showAge(row.entry, now);
  }, AGE_TICK_MS);

  // ---- page ---------------------------------------------------------------
  const tree = h('div', { class: 'tree', 'data-testid': 'point-tree' });
  for (const k of [...root.children.values()].sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }))) {
    tree.append(renderNode(k, 0).el);
  }

  const filter = h('input', { type: 'search', id: 'point-filter', placeholder: t('building.filterHint'), 'data-testid': 'point-filter', autocomplete: 'off' });
  const shown = h('span', { class: 'muted small', 'data-testid': 'shown-count' });
  let filterTimer = 0;
  filter.addEventListener('input', () => { clearTimeout(filterTimer); filterTimer = setTimeout(applyFilter, 120); });

  function applyFilter() {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    let n = 0;
    for (const e of entries.values()) {
      const ok = words.every((w) => e.search.includes(w));
      e.visible = ok;
      if (e.row.hidden === ok) e.row.hidden = !ok;
      if (ok) n++;
    }
    // groups were pushed children first, so one pass in order fixes parents too
    for (const g of groups) {
      const any = g.entries.some((e) => e.visible) || g.sub.some((s) => !s.el.hidden);
      g.el.hidden = !any;
      if (words.length && any) g.el.open = true;
    }
    shown.textContent = t('building.shown', { n, total: entries.size });
    scheduleWatch();
  }

  const setAll = (open) => { for (const g of groups) g.el.open = open; scheduleWatch(); };

  app.append(h('section', { class: 'building' },
    h('div', { class: 'page-head' },
      h('div', {},
        h('a', { href: '#/c/' + seg(customer), class: 'back small', text: '← ' + t('nav.overview') }),
        h('h1', { 'data-testid': 'building-title', text: info.name || building }),
        h('div', { class: 'muted small', text: [customer, building, info.address].filter(Boolean).join(' · ') }),
        h('a', { href: `#/alarms/${seg(customer)}/${seg(building)}`, class: 'button small', 'data-testid': 'alarms-link', text: t('building.alarms') })),
      h('div', { class: 'toolbar' },
        h('label', { class: 'field inline' }, h('span', { class: 'field-label', text: t('building.filter') }), filter),
        h('button', { type: 'button', class: 'small', text: t('building.expandAll'), onclick: () => setAll(true) }),
        h('button', { type: 'button', class: 'small', text: t('building.collapseAll'), onclick: () => setAll(false) }),
        shown)),
    notices,
    points.length ? tree : h('p', { class: 'muted', 'data-testid': 'no-points', text: t('building.noPoints') })));
  applyFilter();

  // ---- subscriptions: the points that are not filtered out and not folded away
  function scheduleWatch() {
    clearTimeout(watchTimer);
    watchTimer = setTimeout(updateWatch, 150);
  }
  function updateWatch() {
    const byThing = new Map();
    for (const e of entries.values()) {
      if (!e.visible || !e.p.thing || e.removed || !isShown(e.row)) continue;
      if (!byThing.has(e.p.thing)) byThing.set(e.p.thing, []);
      byThing.get(e.p.thing).push(e.p.point_id);
    }
    realtime.watch(byThing);
  }
  function isShown(row) {
    for (let el = row.parentElement; el && el !== tree; el = el.parentElement) {
      if (el.tagName === 'DETAILS' && !el.open) return false;
    }
    return true;
  }
  updateWatch();

  return {
    destroy() {
      offValues();
      offMessages();
      viewport.disconnect();
      clearInterval(ageTimer);
      clearTimeout(watchTimer);
      clearTimeout(filterTimer);
      if (frame) cancelAnimationFrame(frame);
      realtime.unwatchAll();
    },
  };
}
