// The REST client. The session is the HttpOnly cookie nbms_session that
// POST /api/v1/auth/login sets; we never see or store the token. A 401 from any
// call (other than the login itself) sends the user back to the login page.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
  }
}

let unauthorizedHandler = () => {};
/** Called with no arguments whenever the server says 401 (session gone). */
export function onUnauthorized(fn) { unauthorizedHandler = fn; }

export async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch('/api/v1' + path, init);
  } catch (e) {
    throw new ApiError(0, 'network', e.message);
  }
  if (res.status === 204) return null;
  let data = null;
  try { data = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) {
    const err = new ApiError(res.status, data?.error?.code, data?.error?.message);
    if (res.status === 401 && path !== '/auth/login') unauthorizedHandler();
    throw err;
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body ?? {});
export const del = (path) => api('DELETE', path);
export const put = (path, body) => api('PUT', path, body ?? {});

/** Percent-encodes one path segment (point ids contain ':' and '.'). */
export const seg = (s) => encodeURIComponent(s);

/** Builds a query string from an object, skipping empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? '?' + s : '';
}

export function buildingPath(c, b) { return `/customers/${seg(c)}/buildings/${seg(b)}`; }
