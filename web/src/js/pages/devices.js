// #/devices and #/devices/{customer}/{building} (managers and the admin): the
// building's middlewares (things) with their certificate (serial, SHA-256
// fingerprint, expiry); register a thing and issue its certificate (the bundle
// file is downloaded once: nbms does not keep the key), reissue (revokes the
// old certificate), revoke (cuts the thing off the broker), and delete and
// purge (revokes, then deletes the thing and all its data, after the user
// typed the thing's name). docs/provisioning.md.
import { get, post, del, seg, buildingPath } from '../api.js';
import { t } from '../i18n.js';
import { h, field, message } from '../dom.js';
import { showInstant } from '../time.js';
import { session, isAdmin } from '../session.js';
import { errorText, navigate } from '../main.js';

/** Offers `text` as a file download (the MW bundle); no inline script, no data: URL. */
function download(filename, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export async function devicesPage(app, params) {
  app.dataset.page = 'devices';
  const customers = isAdmin() ? (await get('/customers')).customers : [{ id: session.user.customer, name: session.user.customer }];
  const customer = params.customer || customers[0]?.id || '';
  const buildings = customer ? (await get(`/customers/${seg(customer)}/buildings`)).buildings : [];
  const building = params.building || buildings[0]?.id || '';

  const status = h('div', { 'aria-live': 'polite' });
  const say = (kind, text) => status.replaceChildren(message(kind, text, 'device-status'));

  // ---- pickers
  const custSel = h('select', { 'data-testid': 'devices-customer', disabled: !isAdmin() },
    customers.map((c) => h('option', { value: c.id, text: c.name && c.name !== c.id ? `${c.id} — ${c.name}` : c.id, selected: c.id === customer })));
  const bldgSel = h('select', { 'data-testid': 'devices-building' },
    buildings.map((b) => h('option', { value: b.id, text: `${b.id} — ${b.name}`, selected: b.id === building })));
  custSel.addEventListener('change', () => navigate(`#/devices/${seg(custSel.value)}`));
  bldgSel.addEventListener('change', () => navigate(`#/devices/${seg(customer)}/${seg(bldgSel.value)}`));
  const head = h('div', { class: 'page-head' }, h('h1', { text: t('devices.title') }),
    h('label', { class: 'field inline' }, h('span', { class: 'field-label', text: t('users.customer') }), custSel),
    h('label', { class: 'field inline' }, h('span', { class: 'field-label', text: t('devices.building') }), bldgSel));

  const tbody = h('tbody', {});
  const table = h('table', { class: 'list', 'data-testid': 'device-table' },
    h('thead', {}, h('tr', {},
      ['devices.thing', 'devices.serial', 'devices.fingerprint', 'devices.expires', 'devices.state', '']
        .map((k) => h('th', { scope: 'col', text: k ? t(k) : '' })))),
    tbody);

  // ---- add a middleware: register the thing, then issue its certificate
  const index = h('input', { name: 'index', required: true, pattern: '[0-9]{1,8}', maxlength: 8, inputmode: 'numeric', autocomplete: 'off', 'data-testid': 'device-index' });
  const addBtn = h('button', { type: 'submit', class: 'primary', text: t('devices.add'), 'data-testid': 'device-add' });
  const form = h('form', { class: 'card form-grid', 'data-testid': 'device-form' },
    h('h2', { text: t('devices.addTitle') }),
    field(t('devices.index', { prefix: `${customer}_${building}_` }), index),
    h('p', { class: 'hint', text: t('devices.keyOnce') }),
    h('div', { class: 'form-actions' }, addBtn));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = `${customer}_${building}_${index.value.trim()}`;
    addBtn.disabled = true;
    try {
      await post(`${buildingPath(customer, building)}/things`, { name });
      await issue(name, 'devices.registered');
      form.reset();
    } catch (e) {
      say('error', errorText(e));
    } finally {
      addBtn.disabled = false;
    }
  });

  const certPath = (thing) => `${buildingPath(customer, building)}/things/${seg(thing)}/certificate`;

  async function issue(thing, doneKey) {
    const bundle = await post(certPath(thing), {});
    download(`${thing}.json`, JSON.stringify(bundle, null, 2) + '\n');
    say('ok', t(doneKey, { name: thing }));
    await load();
  }

  async function act(fn) {
    try { await fn(); } catch (e) { say('error', errorText(e)); }
  }

  // Delete and purge: the user types the thing's name, which is sent as the
  // confirmation nbmsd requires (DELETE .../things/{t}?confirm={t}).
  function purge(thing) {
    const typed = h('input', { required: true, autocomplete: 'off', spellcheck: false, 'data-testid': 'purge-confirm' });
    const out = h('div', { 'aria-live': 'polite' });
    const cancel = h('button', { type: 'button', text: t('control.close') });
    const go = h('button', { type: 'submit', class: 'danger', text: t('devices.purge'), disabled: true, 'data-testid': 'purge-submit' });
    const form = h('form', { class: 'dialog-body' },
      h('h2', { text: t('devices.purgeTitle', { name: thing }) }),
      h('p', { text: t('devices.purgeWarning') }),
      h('p', { class: 'hint', text: t('devices.purgeKept') }),
      field(t('devices.purgeType', { name: thing }), typed), out,
      h('div', { class: 'dialog-actions' }, cancel, go));
    const dialog = h('dialog', { class: 'dialog', 'data-testid': 'purge-dialog' }, form);
    typed.addEventListener('input', () => { go.disabled = typed.value !== thing; });
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => dialog.remove());
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (typed.value !== thing) return;
      go.disabled = true;
      try {
        const r = await del(`${buildingPath(customer, building)}/things/${seg(thing)}?confirm=${seg(typed.value)}`);
        dialog.close();
        const d = r.deleted || {};
        say('ok', t('devices.purged', { name: thing, points: d.points ?? 0, blocks: (d.periodic_blocks ?? 0) + (d.rows ?? 0), alarms: d.current_alarms ?? 0 }));
        await load();
      } catch (e) {
        go.disabled = false;
        out.replaceChildren(message('error', errorText(e)));
      }
    });
    document.body.append(dialog);
    dialog.showModal();
    typed.focus();
  }

  function row(thing, cert) {
    const cur = cert?.current;
    const state = cur ? 'valid' : cert?.certificates?.length ? 'revoked' : 'none';
    const buttons = cur
      ? [h('button', { type: 'button', class: 'small', text: t('devices.reissue'), 'data-testid': 'device-reissue',
          onclick: () => { if (window.confirm(t('devices.confirmReissue', { name: thing.name }))) act(() => issue(thing.name, 'devices.reissued')); } }),
         h('button', { type: 'button', class: 'small danger', text: t('devices.revoke'), 'data-testid': 'device-revoke',
          onclick: () => {
            if (!window.confirm(t('devices.confirmRevoke', { name: thing.name }))) return;
            act(async () => { await del(certPath(thing.name)); say('ok', t('devices.revoked', { name: thing.name })); await load(); });
          } })]
      : [h('button', { type: 'button', class: 'small primary', text: t('devices.issue'), 'data-testid': 'device-issue',
          onclick: () => act(() => issue(thing.name, 'devices.registered')) })];
    buttons.push(h('button', { type: 'button', class: 'small danger', text: t('devices.purge'), 'data-testid': 'device-purge',
      onclick: () => purge(thing.name) }));
    return h('tr', { 'data-thing': thing.name, 'data-testid': 'device-row' },
      h('td', { 'data-label': t('devices.thing') }, h('strong', { text: thing.name })),
      h('td', { 'data-label': t('devices.serial'), class: 'pid', text: cur?.serial || '—' }),
      h('td', { 'data-label': t('devices.fingerprint'), class: 'pid', title: cur?.fingerprint || '', text: cur ? cur.fingerprint.slice(0, 16) + '…' : '—' }),
      h('td', { 'data-label': t('devices.expires'), text: cur ? showInstant(cur.not_after_ms) : '—' }),
      h('td', { 'data-label': t('devices.state'), 'data-testid': 'device-state', dataset: { state }, text: t('devices.state.' + state) }),
      h('td', { class: 'act' }, buttons));
  }

  async function load() {
    if (!building) { tbody.replaceChildren(); return; }
    const things = (await get(`${buildingPath(customer, building)}/things`)).things;
    const certs = await Promise.all(things.map((th) => get(certPath(th.name)).catch(() => null)));
    tbody.replaceChildren(...things.map((th, i) => row(th, certs[i])));
  }

  app.append(h('section', { class: 'devices' }, head, status,
    building ? null : message('info', t('overview.noBuildings')),
    h('div', { class: 'table-wrap' }, table), building ? form : null));
  await load();
  return {};
}
