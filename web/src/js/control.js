// The control dialog: writes a point over the WebSocket (`control` with a `ref`)
// and shows pending, then the `control_result` (accepted / failed / timeout) or
// the `error`. Only offered to managers and the admin (the server checks too).
import { t } from './i18n.js';
import { h, field } from './dom.js';
import { isBinary, isMultiState, formatValue } from './format.js';
import { realtime } from './ws.js';

const FORBIDDEN_PRIORITIES = new Set([1, 2, 6]);   // life safety, minimum on/off

export function openControlDialog({ point, current, onResult }) {
  const type = point.object_type;
  let input;
  if (isBinary(type)) {
    input = h('select', { 'data-testid': 'control-value', id: 'control-value' },
      h('option', { value: '0', text: `${t('value.off')} (0)`, selected: current === 0 }),
      h('option', { value: '1', text: `${t('value.on')} (1)`, selected: current === 1 }));
  } else if (isMultiState(type)) {
    input = h('input', { type: 'number', min: 1, step: 1, required: true, inputmode: 'numeric', 'data-testid': 'control-value', id: 'control-value',
      value: Number.isFinite(current) ? String(Math.round(current)) : '1' });
  } else {
    input = h('input', { type: 'number', step: 'any', required: true, inputmode: 'decimal', 'data-testid': 'control-value', id: 'control-value',
      value: Number.isFinite(current) ? String(current) : '' });
  }
  const priority = h('input', { type: 'number', min: 1, max: 16, step: 1, value: '8', required: true, 'data-testid': 'control-priority', id: 'control-priority' });
  const status = h('div', { class: 'control-status', 'data-testid': 'control-status', 'data-status': '', 'aria-live': 'polite' });
  const send = h('button', { type: 'submit', class: 'primary', text: t('control.send'), 'data-testid': 'control-send' });
  const close = h('button', { type: 'button', text: t('control.close'), 'data-testid': 'control-close' });

  const form = h('form', { method: 'dialog', class: 'dialog-body' },
    h('h2', { text: t('control.title') }),
    h('p', {}, h('strong', { text: point.name }), h('br'), h('code', { class: 'small', text: point.point_id })),
    h('p', { class: 'muted small', text: `${t('control.current')}: ${formatValue(current, type)} ${point.unit || ''} · ${type}` }),
    field(t('control.value') + (point.unit && !isBinary(type) ? ` (${point.unit})` : ''), input),
    field(t('control.priority'), priority),
    status,
    h('div', { class: 'dialog-actions' }, close, send));
  const dialog = h('dialog', { class: 'dialog', 'data-testid': 'control-dialog', 'aria-label': t('control.title') }, form);

  function show(kind, text) {
    status.dataset.status = kind;
    status.className = 'control-status status-' + kind;
    status.textContent = text;
  }

  close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => dialog.remove());
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const value = Number(input.value);
    const prio = Number(priority.value);
    if (input.value.trim() === '' || !Number.isFinite(value)) { show('invalid', t('control.badValue')); return; }
    if (isMultiState(type) && (!Number.isInteger(value) || value < 1)) { show('invalid', t('control.badValue')); return; }
    if (!Number.isInteger(prio) || prio < 1 || prio > 16 || FORBIDDEN_PRIORITIES.has(prio)) { show('invalid', t('control.badPriority')); return; }
    send.disabled = true;
    show('pending', t('control.pending'));
    const res = await realtime.control({ thing: point.thing, point_id: point.point_id, value, priority: prio });
    send.disabled = false;
    if (res.type === 'control_result') {
      if (res.status === 'accepted') {
        const shown = res.value === null || res.value === undefined ? '' : `: ${formatValue(res.value, type)} ${point.unit || ''}`;
        show('accepted', t('control.accepted') + shown.trimEnd());
        if (res.value !== null && res.value !== undefined) onResult?.(res.value);
      } else if (res.status === 'timeout') {
        show('timeout', t('control.timeout'));
      } else {
        show('failed', `${t('control.failed')}${res.message ? ': ' + res.message : ''}`);
      }
    } else {
      const known = t('error.' + res.code, {}, '');
      show('error', `${known || res.code}${res.message ? ': ' + res.message : ''}`);
      status.dataset.code = res.code || '';
    }
  });

  document.body.append(dialog);
  dialog.showModal();
  input.focus();
  return dialog;
}
