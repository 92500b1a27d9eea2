// #/users (managers and the admin): list, add, delete, reset password.
import { get, post, del, seg, query } from '../api.js';
import { t } from '../i18n.js';
import { h, field, message } from '../dom.js';
import { showInstant } from '../time.js';
import { session, isAdmin } from '../session.js';
import { errorText } from '../main.js';

export async function usersPage(app) {
  app.dataset.page = 'users';
  const admin = isAdmin();
  const customers = admin ? (await get('/customers')).customers : [];
  let filterCustomer = admin ? (sessionStorage.getItem('nbms.usersCustomer') || '') : session.user.customer;

  const status = h('div', { 'aria-live': 'polite' });
  const tbody = h('tbody', {});
  const table = h('table', { class: 'list', 'data-testid': 'user-table' },
    h('thead', {}, h('tr', {},
      ['users.name', 'users.customer', 'users.role', 'users.created', ''].map((k) => h('th', { scope: 'col', text: k ? t(k) : '' })))),
    tbody);

  // ---- add form
  const name = h('input', { name: 'name', required: true, maxlength: 64, autocomplete: 'off', pattern: '[A-Za-z0-9][A-Za-z0-9._@\\-]*', 'data-testid': 'user-name' });
  const password = h('input', { name: 'password', type: 'password', required: true, minlength: 10, autocomplete: 'new-password', 'data-testid': 'user-password' });
  const role = h('select', { name: 'role', 'data-testid': 'user-role' },
    h('option', { value: 'viewer', text: t('role.viewer') }),
    h('option', { value: 'manager', text: t('role.manager') }),
    admin ? h('option', { value: 'admin', text: t('role.admin') }) : null);
  const customer = admin
    ? h('select', { name: 'customer', 'data-testid': 'user-customer' }, customers.map((c) => h('option', { value: c.id, text: `${c.id} — ${c.name}` })))
    : null;
  if (customer && filterCustomer) customer.value = filterCustomer;
  if (customer) role.addEventListener('change', () => { customer.disabled = role.value === 'admin'; });
  const add = h('button', { type: 'submit', class: 'primary', text: t('users.add'), 'data-testid': 'user-add' });
  const form = h('form', { class: 'card form-grid', 'data-testid': 'user-form' },
    h('h2', { text: t('users.addTitle') }),
    field(t('users.name'), name), field(t('users.password'), password), field(t('users.role'), role),
    customer ? field(t('users.customer'), customer) : null,
    h('div', { class: 'form-actions' }, add));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { name: name.value.trim(), password: password.value, role: role.value };
    if (customer && role.value !== 'admin') body.customer = customer.value;
    add.disabled = true;
    try {
      await post('/users', body);
      status.replaceChildren(message('ok', t('users.added', { name: body.name }), 'user-status'));
      form.reset();
      if (customer && filterCustomer) customer.value = filterCustomer;
      await load();
    } catch (e) {
      status.replaceChildren(message('error', errorText(e), 'user-status'));
    } finally {
      add.disabled = false;
    }
  });

  // ---- list
  async function load() {
    const data = await get('/users' + query({ customer: admin ? filterCustomer : undefined }));
    const users = data.users.slice().sort((a, b) => (a.customer || '').localeCompare(b.customer || '') || a.name.localeCompare(b.name));
    tbody.replaceChildren(...users.map(row));
  }

  function row(u) {
    const self = u.name === session.user.name;
    const protectedUser = self || u.name === 'admin';
    return h('tr', { 'data-user': u.name, 'data-testid': 'user-row' },
      h('td', { 'data-label': t('users.name') }, h('strong', { text: u.name })),
      h('td', { 'data-label': t('users.customer'), text: u.customer || '—' }),
      h('td', { 'data-label': t('users.role'), text: t('role.' + u.role) }),
      h('td', { 'data-label': t('users.created'), text: showInstant(u.created_ms) }),
      h('td', { class: 'act' },
        h('button', { type: 'button', class: 'small', text: t('users.resetPassword'), 'data-testid': 'user-reset', onclick: () => resetPassword(u) }),
        protectedUser ? null : h('button', { type: 'button', class: 'small danger', text: t('users.delete'), 'data-testid': 'user-delete', onclick: () => remove(u) })));
  }

  async function remove(u) {
    if (!window.confirm(t('users.confirmDelete', { name: u.name }))) return;
    try {
      await del('/users/' + seg(u.name));
      status.replaceChildren(message('ok', t('users.deleted', { name: u.name }), 'user-status'));
      await load();
    } catch (e) {
      status.replaceChildren(message('error', errorText(e), 'user-status'));
    }
  }

  function resetPassword(u) {
    const self = u.name === session.user.name;
    const pw = h('input', { type: 'password', required: true, minlength: 10, autocomplete: 'new-password', 'data-testid': 'reset-password' });
    const current = self ? h('input', { type: 'password', required: true, autocomplete: 'current-password', 'data-testid': 'reset-current' }) : null;
    const out = h('div', { 'aria-live': 'polite' });
    const cancel = h('button', { type: 'button', text: t('control.close') });
    const form = h('form', { class: 'dialog-body' },
      h('h2', { text: t('users.resetTitle', { name: u.name }) }),
      current ? field(t('users.currentPassword'), current) : null,
      field(t('users.newPassword'), pw), out,
      h('div', { class: 'dialog-actions' }, cancel, h('button', { type: 'submit', class: 'primary', text: t('users.save'), 'data-testid': 'reset-save' })));
    const dialog = h('dialog', { class: 'dialog', 'data-testid': 'reset-dialog' }, form);
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => dialog.remove());
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = { password: pw.value };
      if (current) body.current_password = current.value;
      try {
        await post(`/users/${seg(u.name)}/password`, body);
        dialog.close();
        status.replaceChildren(message('ok', t('users.passwordChanged', { name: u.name }), 'user-status'));
      } catch (e) {
        out.replaceChildren(message('error', errorText(e)));
      }
    });
    document.body.append(dialog);
    dialog.showModal();
    (current || pw).focus();
  }

  const head = h('div', { class: 'page-head' }, h('h1', { text: t('users.title') }));
  if (admin) {
    const sel = h('select', { 'data-testid': 'users-filter' },
      h('option', { value: '', text: t('users.allCustomers') }),
      customers.map((c) => h('option', { value: c.id, text: `${c.id} — ${c.name}`, selected: c.id === filterCustomer })));
    sel.addEventListener('change', () => {
      filterCustomer = sel.value;
      sessionStorage.setItem('nbms.usersCustomer', filterCustomer);
      if (filterCustomer) customer.value = filterCustomer;
      load().catch((e) => status.replaceChildren(message('error', errorText(e))));
    });
    head.append(h('label', { class: 'field inline' }, h('span', { class: 'field-label', text: t('users.customer') }), sel));
  }
  app.append(h('section', { class: 'users' }, head, status, h('div', { class: 'table-wrap' }, table), form));
  await load();
  return {};
}
