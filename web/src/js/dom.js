// Small DOM helpers: build elements without innerHTML (so no markup injection and
// nothing the Content-Security-Policy would refuse).

/**
 * h('button', {class: 'x', type: 'button', onclick: fn, dataset: {a: 1}}, 'text', child)
 * Attributes: `class`, `text`, `dataset`, `on<event>` handlers, boolean properties
 * (hidden, disabled, checked, open, required, selected), anything else via setAttribute.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (['hidden', 'disabled', 'checked', 'open', 'required', 'selected', 'multiple'].includes(k)) el[k] = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

/** A labelled form field: <label>text <input ...></label> wrapped for layout. */
export function field(labelText, input, extraClass = '') {
  return h('label', { class: 'field ' + extraClass }, h('span', { class: 'field-label', text: labelText }), input);
}

/** A message box (error / info) that tests and screen readers can find. */
export function message(kind, text, testid) {
  return h('div', { class: 'msg msg-' + kind, role: kind === 'error' ? 'alert' : 'status', 'data-testid': testid || 'msg-' + kind, text });
}
