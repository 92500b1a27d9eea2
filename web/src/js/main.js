// The dashboard's entry point: session, header and the hash router.
//
// Routes:
//   #/login                         log in
//   #/                              overview (admin: first customer; others: their own)
//   #/c/{customer}                  overview of one customer (admin picks it)
//   #/b/{customer}/{building}       the building's equipment tree with live values
//   #/trend/{c}/{b}/{point_id}      one point's history chart
//   #/users                         user management (manager, admin)
//   #/audit                         audit log (manager, admin)
//   #/alarms/{customer}/{building}  the building's alarm console
//   #/notices                       notices of the customer (managers post)
//   #/notify                        the user's notification settings and delivery status
//   #/devices[/{c}[/{b}]]           middleware certificates of a building (manager, admin)

import { api, get, onUnauthorized, ApiError } from './api.js';
import { t, lang, setLang, onLangChange } from './i18n.js';
import { h, clear, message } from './dom.js';
import { realtime } from './ws.js';
import { session } from './session.js';
import { loginPage } from './pages/login.js';
import { overviewPage } from './pages/overview.js';
import { buildingPage } from './pages/building.js';
import { trendPage } from './pages/trend.js';
import { usersPage } from './pages/users.js';
import { auditPage } from './pages/audit.js';
import { alarmsPage } from './pages/alarms.js';
import { notifyPage } from './pages/notify.js';
import { noticesPage } from './pages/notices.js';
import { devicesPage } from './pages/devices.js';

const app = document.getElementById('app');
let current = null;        // {destroy()} of the page on screen
let renderSeq = 0;

const routes = [
  { re: /^\/login$/, page: loginPage, public: true },
  { re: /^\/?$/, page: overviewPage },
  { re: /^\/c\/([^/]+)$/, page: overviewPage, keys: ['customer'] },
  { re: /^\/b\/([^/]+)\/([^/]+)$/, page: buildingPage, keys: ['customer', 'building'] },
  { re: /^\/trend\/([^/]+)\/([^/]+)\/([^/]+)$/, page: trendPage, keys: ['customer', 'building', 'point'] },
  { re: /^\/users$/, page: usersPage, roles: ['admin', 'manager'] },
  { re: /^\/audit$/, page: auditPage, roles: ['admin', 'manager'] },
  { re: /^\/alarms\/([^/]+)\/([^/]+)$/, page: alarmsPage, keys: ['customer', 'building'] },
  { re: /^\/notify$/, page: notifyPage },
  { re: /^\/notices$/, page: noticesPage },
  { re: /^\/devices$/, page: devicesPage, roles: ['admin', 'manager'] },
  { re: /^\/devices\/([^/]+)$/, page: devicesPage, keys: ['customer'], roles: ['admin', 'manager'] },
  { re: /^\/devices\/([^/]+)\/([^/]+)$/, page: devicesPage, keys: ['customer', 'building'], roles: ['admin', 'manager'] },
];

function parseRoute() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const path = raw.split('?')[0];
  for (const r of routes) {
    const m = r.re.exec(path);
    if (!m) continue;
    const params = {};
    (r.keys || []).forEach((k, i) => { params[k] = decodeURIComponent(m[i + 1]); });
    return { route: r, params, path };
  }
  return { route: null, params: {}, path };
}

export function navigate(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

async function render() {
  const seq = ++renderSeq;
  if (current?.destroy) { try { current.destroy(); } catch (e) { console.error(e); } }
  current = null;
  realtime.unwatchAll();
  const { route, params, path } = parseRoute();

  if (!session.user && !(route && route.public)) {
    session.returnTo = location.hash && location.hash !== '#/login' ? location.hash : '';
    location.hash = '#/login';
    return;
  }
  if (session.user && route?.public) { location.hash = '#/'; return; }
  renderHeader(path);
  clear(app);
  app.dataset.page = '';
  if (!route) { app.append(notFound()); return; }
  if (route.roles && !route.roles.includes(session.user.role)) { app.append(notFound()); return; }
  try {
    const page = await route.page(app, params);
    if (seq !== renderSeq) { page?.destroy?.(); return; }
    current = page;
  } catch (e) {
    if (seq !== renderSeq) return;
    if (e instanceof ApiError && e.status === 401) return;  // on the way to the login page
    clear(app);
    app.append(e instanceof ApiError && e.status === 404 ? notFound() : message('error', errorText(e), 'page-error'));
  }
}

export function notFound() {
  return h('section', { class: 'not-found', 'data-testid': 'not-found' },
    h('h1', { text: t('notFound.title') }),
    h('p', { text: t('notFound.text') }),
    h('a', { href: '#/', text: t('nav.overview') }));
}

/** A readable line for an error thrown by api(). */
export function errorText(e) {
  if (e instanceof ApiError) {
    if (e.status === 0) return t('error.network');
    const known = t('error.' + e.code, {}, '');
    return known ? `${known} (${e.message})` : e.message;
  }
  return String(e?.message || e);
}

// ---- header ---------------------------------------------------------------

const nav = document.getElementById('nav');
const wsStatus = document.getElementById('ws-status');
const userEl = document.getElementById('user');
const langBtn = document.getElementById('lang');
const logoutBtn = document.getElementById('logout');

function renderHeader(path) {
  const u = session.user;
  clear(nav);
  nav.hidden = !u;
  wsStatus.hidden = !u;
  userEl.hidden = !u;
  logoutBtn.hidden = !u;
  if (u) {
    const link = (href, key, testid, active) =>
      h('a', { href, text: t(key), 'data-testid': testid, 'aria-current': active ? 'page' : null });
    nav.append(link('#/', 'nav.overview', 'nav-overview', path === '/' || path.startsWith('/c/') || path.startsWith('/b/') || path.startsWith('/alarms/')));
    if (u.role === 'admin' || u.role === 'manager') {
      nav.append(link('#/users', 'nav.users', 'nav-users', path === '/users'));
      nav.append(link('#/audit', 'nav.audit', 'nav-audit', path === '/audit'));
      nav.append(link('#/devices', 'nav.devices', 'nav-devices', path.startsWith('/devices')));
    }
    nav.append(link('#/notices', 'nav.notices', 'nav-notices', path === '/notices'));
    nav.append(link('#/notify', 'nav.notify', 'nav-notify', path === '/notify'));
    userEl.textContent = `${u.name} · ${t('role.' + u.role)}${u.customer ? ' · ' + u.customer : ''}`;
  }
  logoutBtn.textContent = t('nav.logout');
  langBtn.textContent = lang() === 'ko' ? 'English' : '한국어';
  langBtn.setAttribute('aria-label', t('nav.language'));
  langBtn.lang = lang() === 'ko' ? 'en' : 'ko';
  showWsState(realtime.state);
}

function showWsState(state) {
  wsStatus.dataset.state = state;
  wsStatus.querySelector('.ws-label').textContent = t('ws.' + state);
  wsStatus.title = t('ws.' + state);
}

realtime.onState(showWsState);
realtime.beforeReconnect = async () => {
  try { await get('/auth/me'); return true; } catch (e) { return !(e instanceof ApiError && e.status === 401); }
};
document.addEventListener('visibilitychange', () => { if (!document.hidden) realtime.kick(); });

langBtn.addEventListener('click', () => setLang(lang() === 'ko' ? 'en' : 'ko'));
onLangChange(() => render());

logoutBtn.addEventListener('click', async () => {
  try { await api('POST', '/auth/logout', {}); } catch { /* the session may be gone already */ }
  endSession();
});

function endSession() {
  session.user = null;
  realtime.stop();
  navigate('#/login');
}

onUnauthorized(() => {
  if (!session.user) return;
  session.returnTo = location.hash;
  endSession();
});

/** After a successful login (called by the login page). */
export function startSession(user) {
  session.user = user;
  realtime.start();
  const to = session.returnTo || '#/';
  session.returnTo = '';
  navigate(to);
}

// ---- start ------------------------------------------------------------------

window.addEventListener('hashchange', render);

(async function boot() {
  document.documentElement.lang = lang();
  try {
    session.user = await get('/auth/me');
    realtime.start();
  } catch {
    session.user = null;
  }
  render();
})();
