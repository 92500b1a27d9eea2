// #/login: name + password -> POST /api/v1/auth/login (sets the HttpOnly cookie).
import { api, ApiError } from '../api.js';
import { t } from '../i18n.js';
import { h, field, message } from '../dom.js';
import { startSession, errorText } from '../main.js';

export function loginPage(app) {
  app.dataset.page = 'login';
  const user = h('input', { name: 'user', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false', 'data-testid': 'login-user' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, 'data-testid': 'login-password' });
  const submit = h('button', { type: 'submit', class: 'primary', text: t('login.submit'), 'data-testid': 'login-submit' });
  const status = h('div', { class: 'form-status', 'aria-live': 'polite' });

  const form = h('form', { class: 'login-form card', 'data-testid': 'login-form' },
    h('h1', { text: t('login.title') }),
    field(t('login.user'), user),
    field(t('login.password'), password),
    submit, status);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    status.replaceChildren(h('span', { class: 'muted', text: t('login.pending') }));
    try {
      const res = await api('POST', '/auth/login', { user: user.value.trim(), password: password.value });
      password.value = '';
      startSession(res.user);
    } catch (e) {
      let text;
      if (e instanceof ApiError && e.status === 401) text = t('login.failed');
      else if (e instanceof ApiError && e.status === 429) text = t('login.throttled');
      else text = errorText(e);
      status.replaceChildren(message('error', text, 'login-error'));
      submit.disabled = false;
      password.select();
    }
  });

  app.append(h('section', { class: 'login' }, form));
  user.focus();
  return {};
}
