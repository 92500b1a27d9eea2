// #/audit (managers and the admin): the audit log, newest first, with a time filter.
import { get, query } from '../api.js';
import { t } from '../i18n.js';
import { h, field, message } from '../dom.js';
import { showInstant } from '../time.js';
import { isAdmin } from '../session.js';
import { errorText } from '../main.js';

const p2 = (n) => String(n).padStart(2, '0');
const toInput = (d) => `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}T${p2(d.getHours())}:${p2(d.getMinutes())}`;

export async function auditPage(app) {
  app.dataset.page = 'audit';
  const admin = isAdmin();
  const customers = admin ? (await get('/customers')).customers : [];
  const now = new Date();
  const from = h('input', { type: 'datetime-local', 'data-testid': 'audit-from', value: toInput(new Date(now.getTime() - 7 * 86400000)) });
  const to = h('input', { type: 'datetime-local', 'data-testid': 'audit-to', value: '' });
  const limit = h('select', { 'data-testid': 'audit-limit' }, [100, 500, 1000].map((n) => h('option', { value: String(n), text: String(n) })));
  const customer = admin ? h('select', { 'data-testid': 'audit-customer' },
    h('option', { value: '', text: t('users.allCustomers') }),
    customers.map((c) => h('option', { value: c.id, text: `${c.id} — ${c.name}` }))) : null;
  const status = h('div', { 'aria-live': 'polite' });
  const tbody = h('tbody', {});
  const form = h('form', { class: 'card filter-bar', 'data-testid': 'audit-filter' },
    field(t('audit.from'), from), field(t('audit.to'), to),
    customer ? field(t('users.customer'), customer) : null,
    field(t('audit.limit'), limit),
    h('button', { type: 'submit', class: 'primary', text: t('audit.apply'), 'data-testid': 'audit-apply' }));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load(); });

  const cols = ['audit.time', 'audit.customer', 'audit.user', 'audit.remote', 'audit.action', 'audit.target', 'audit.detail', 'audit.ok'];
  app.append(h('section', { class: 'audit' },
    h('div', { class: 'page-head' }, h('h1', { text: t('audit.title') })),
    form, status,
    h('div', { class: 'table-wrap' }, h('table', { class: 'list audit-table', 'data-testid': 'audit-table' },
      h('thead', {}, h('tr', {}, cols.map((k) => h('th', { scope: 'col', text: t(k) })))), tbody))));

  async function load() {
    const params = { limit: limit.value };
    if (from.value) params.from_ms = new Date(from.value).getTime();
    if (to.value) params.to_ms = new Date(to.value).getTime();
    if (customer?.value) params.customer = customer.value;
    try {
      const data = await get('/audit' + query(params));
      status.replaceChildren(h('span', { class: 'muted small', text: t('audit.count', { n: data.entries.length }) }));
      tbody.replaceChildren(...data.entries.map((e) => h('tr', { class: e.ok ? '' : 'bad', 'data-testid': 'audit-row', 'data-action': e.action },
        h('td', { 'data-label': t('audit.time'), text: showInstant(e.time_ms) }),
        h('td', { 'data-label': t('audit.customer'), text: e.customer || '—' }),
        h('td', { 'data-label': t('audit.user'), text: e.user || '—' }),
        h('td', { 'data-label': t('audit.remote'), text: e.remote || '' }),
        h('td', { 'data-label': t('audit.action'), text: e.action }),
        h('td', { 'data-label': t('audit.target'), class: 'wrap', text: e.target || '' }),
        h('td', { 'data-label': t('audit.detail'), class: 'wrap detail', text: e.detail || '' }),
        h('td', { 'data-label': t('audit.ok'), text: e.ok ? '✓' : '✗', title: e.ok ? t('audit.okYes') : t('audit.okNo') }))));
    } catch (e) {
      status.replaceChildren(message('error', errorText(e), 'audit-error'));
    }
  }
  await load();
  return {};
}
