// Times. Samples carry the building's local time as YYYYMMDDhhmm with no zone.
// We keep such times as "naive" milliseconds: the wall-clock reading interpreted
// as if it were UTC, so arithmetic (a day back, a week back) never meets DST, and
// charts print them with the UTC zone to show the wall clock as it was sent.
// The browser is assumed to be in the building's zone when we compare with "now".

import { lang } from './i18n.js';

const re = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})$/;

/** 'YYYYMMDDhhmm' -> naive ms, or NaN. */
export function parseStamp(s) {
  const m = re.exec(s || '');
  if (!m) return NaN;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
}

const p2 = (n) => String(n).padStart(2, '0');

/** naive ms -> 'YYYYMMDDhhmm' */
export function formatStamp(ms) {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}`;
}

/** 'YYYYMMDDhhmm' -> 'YYYY-MM-DD hh:mm' (or '—'). */
export function showStamp(s) {
  const m = re.exec(s || '');
  return m ? `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}` : '—';
}

/** The browser's wall clock now, as naive ms. */
export function nowNaive() {
  const now = new Date();
  return now.getTime() - now.getTimezoneOffset() * 60000;
}

/** Unix ms (a real instant) -> naive ms of the browser's wall clock. */
export function toNaive(unixMs) {
  return unixMs - new Date(unixMs).getTimezoneOffset() * 60000;
}

/** Unix ms -> 'YYYY-MM-DD hh:mm:ss' in the browser's zone. */
export function showInstant(unixMs) {
  if (unixMs === null || unixMs === undefined) return '—';
  const d = new Date(unixMs);
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}

let rtfCache = null;
function relativeFormat() {
  if (!rtfCache || rtfCache.lang !== lang()) {
    rtfCache = { lang: lang(), fmt: new Intl.RelativeTimeFormat(lang(), { numeric: 'auto', style: 'short' }) };
  }
  return rtfCache.fmt;
}

/** A short relative age ("3 min ago") for an age in ms. */
export function ageText(ms) {
  if (!Number.isFinite(ms)) return '—';
  const rtf = relativeFormat();
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return rtf.format(-s, 'second');
  const m = Math.round(s / 60);
  if (m < 60) return rtf.format(-m, 'minute');
  const hr = Math.round(m / 60);
  if (hr < 48) return rtf.format(-hr, 'hour');
  return rtf.format(-Math.round(hr / 24), 'day');
}
