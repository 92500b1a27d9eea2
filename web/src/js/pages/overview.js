// #/ and #/c/{customer}: the customer's buildings with their middlewares' state,
// point counts and newest data. The admin picks the customer from a list.
import { get, seg } from '../api.js';
import { t } from '../i18n.js';
import { h } from '../dom.js';
import { showStamp, showInstant } from '../time.js';
import { session, isAdmin } from '../session.js';
import { navigate } from '../main.js';

const REFRESH_MS = 30000;

export async function overviewPage(app, params) {
  app.dataset.page = 'overview';
  let customer = params.customer;
  let customers = null;
  if (isAdmin()) {
    customers = (await get('/customers')).customers;
    if (!customer) customer = sessionStorage.getItem('nbms.customer') || customers[0]?.id;
    if (customer && !customers.some((c) => c.id === customer) && !params.customer) customer = customers[0]?.id;
  } else if (!customer) {
    customer = session.user.customer;
  }

  const section = h('section', { class: 'overview' });
  const head = h('div', { class: 'page-head' }, h('h1', { text: t('overview.title') }));
  section.append(head);
  if (customers) {
    const select = h('select', { 'data-testid': 'customer-select', id: 'customer-select' },
      customers.map((c) => h('option', { value: c.id, text: `${c.id} — ${c.name}`, selected: c.id === customer })));
    select.addEventListener('change', () => {
      sessionStorage.setItem('nbms.customer', select.value);
      navigate('#/c/' + seg(select.value));
    });
    head.append(h('label', { class: 'field inline' }, h('span', { class: 'field-label', text: t('overview.customer') }), select));
  }
  app.append(section);
  if (!customer) {
    section.append(h('p', { class: 'muted', text: t('overview.noCustomers') }));
    return {};
  }
  if (isAdmin()) sessionStorage.setItem('nbms.customer', customer);

  const body = h('div', { class: 'overview-body' });
  section.append(body);

  async function load() {
    const data = await get(`/customers/${seg(customer)}/overview`);
    draw(data);
  }

  function draw(data) {
    const title = head.querySelector('h1');
    title.textContent = `${t('overview.title')} · ${data.customer?.name || customer}`;
    const cards = data.buildings.map((b) => buildingCard(customer, b));
    body.replaceChildren(cards.length ? h('div', { class: 'cards', 'data-testid': 'building-list' }, cards)
      : h('p', { class: 'muted', 'data-testid': 'no-buildings', text: t('overview.noBuildings') }));
  }

  await load();
  const timer = setInterval(() => { load().catch(() => {}); }, REFRESH_MS);
  return { destroy() { clearInterval(timer); } };
}

function buildingCard(customer, b) {
  const counts = { online: 0, offline: 0, unknown: 0 };
  for (const th of b.things || []) counts[th.state] = (counts[th.state] || 0) + 1;
  const href = `#/b/${seg(customer)}/${seg(b.id)}`;
  return h('article', { class: 'card building-card', 'data-testid': 'building-card', 'data-building': b.id },
    h('h2', {}, h('a', { href, text: b.name || b.id, 'data-testid': 'building-link' })),
    h('div', { class: 'muted small', text: [b.id, b.address].filter(Boolean).join(' · ') }),
    h('dl', { class: 'stats' },
      h('div', {}, h('dt', { text: t('overview.points') }), h('dd', { text: String(b.points ?? 0), 'data-testid': 'point-count' })),
      h('div', {}, h('dt', { text: t('overview.lastData') }), h('dd', { text: showStamp(b.last_data) })),
      h('div', {}, h('dt', { text: t('overview.things') }), h('dd', {},
        ['online', 'offline', 'unknown'].map((s) => h('span', { class: `badge state-${s}`, title: t('state.' + s), text: `${t('state.' + s)} ${counts[s]}` }))))),
    h('details', { class: 'things' },
      h('summary', { text: t('overview.thingList', { n: (b.things || []).length }) }),
      h('ul', {}, (b.things || []).map((th) => h('li', {},
        h('span', { class: `badge state-${th.state}`, text: t('state.' + th.state) }), ' ',
        h('code', { text: th.name }), ' ',
        h('span', { class: 'muted small', text: `${t('overview.lastSeen')}: ${showInstant(th.last_seen_ms)} · ${t('overview.lastLog')}: ${showStamp(th.last_log)}` }))))));
}
