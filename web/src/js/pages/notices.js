// #/notices (every user): the notices of the user's customer, newest first.
// Managers (and the admin) post one; it goes to every user of the customer who
// subscribed to notices, over their channels. Each notice shows who posted it.
import { get, post, seg } from '../api.js';
import { t } from '../i18n.js';
import { h, field, message } from '../dom.js';
import { showInstant } from '../time.js';
import { session, canControl, isAdmin } from '../session.js';
import { errorText } from '../main.js';

export async function noticesPage(app) {
  app.dataset.page = 'notices';
  const customers = isAdmin() ? (await get('/customers')).customers : [{ id: session.user.customer }];
  const status = h('div', { 'aria-live': 'polite' });
  const list = h('div', { class: 'notice-list', 'data-testid': 'notice-list' });
  const customer = h('select', { 'data-testid': 'notice-customer', hidden: customers.length < 2 },
    customers.map((c) => h('option', { value: c.id, text: c.name ? `${c.id} — ${c.name}` : c.id })));
  customer.addEventListener('change', () => load());

  let form = null;
  if (canControl()) {
    const title = h('input', { type: 'text', maxlength: '200', required: true, 'data-testid': 'notice-title' });
    const body = h('textarea', { rows: '3', maxlength: '10000', 'data-testid': 'notice-body' });
    const prio = h('select', { 'data-testid': 'notice-priority' },
      ['low', 'medium', 'high', 'urgent'].map((p) => h('option', { value: p, text: t('priority.' + p), selected: p === 'medium' })));
    form = h('form', { class: 'card notice-form', 'data-testid': 'notice-form' },
      h('h2', { text: t('notices.post') }),
      field(t('notices.titleField'), title), field(t('notices.body'), body), field(t('notices.priority'), prio),
      h('button', { type: 'submit', class: 'primary', text: t('notices.send'), 'data-testid': 'notice-send' }));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        const n = await post('/customers/' + seg(customer.value) + '/notices', { title: title.value.trim(), body: body.value, priority: prio.value });
        title.value = ''; body.value = '';
        status.replaceChildren(message('info', t('notices.sent', { n: n.deliveries }), 'notice-ok'));
        await load();
      } catch (e) {
        status.replaceChildren(message('error', errorText(e), 'notice-error'));
      }
    });
  }

  app.append(h('section', { class: 'notices' },
    h('div', { class: 'page-head' }, h('h1', { text: t('notices.title') }), customers.length > 1 ? field(t('users.customer'), customer) : null),
    status, form, list));

  async function load() {
    if (!customer.value) { list.replaceChildren(h('p', { class: 'muted', text: t('notices.none') })); return; }
    try {
      const data = await get('/customers/' + seg(customer.value) + '/notices?limit=100');
      list.replaceChildren(...data.notices.map((n) => h('article', { class: 'card notice prio-' + n.priority, 'data-testid': 'notice', 'data-id': n.id },
        h('h3', { text: n.title }),
        h('p', { class: 'muted small', text: `${showInstant(n.created_ms)} · ${t('priority.' + n.priority)}${n.building ? ' · ' + n.building : ''}` }),
        // Notices stored before authors were kept have none.
        n.author ? h('p', { class: 'muted small notice-author', 'data-testid': 'notice-author', text: t('notices.author', { user: n.author }) }) : null,
        n.body ? h('p', { class: 'notice-body', text: n.body }) : null)));
      if (!data.notices.length) list.append(h('p', { class: 'muted', text: t('notices.none') }));
    } catch (e) {
      status.replaceChildren(message('error', errorText(e), 'notice-error'));
    }
  }
  await load();
  return {};
}
