// How point values look, by BACnet object type.
import { t, lang } from './i18n.js';

export const isBinary = (type) => ['BI', 'BO', 'BV'].includes(type);
export const isMultiState = (type) => ['MI', 'MO', 'MV', 'MSI', 'MSO', 'MSV'].includes(type);

const formatters = new Map();
function numberFormat(digits) {
  const key = lang() + digits;
  if (!formatters.has(key)) formatters.set(key, new Intl.NumberFormat(lang() === 'ko' ? 'ko-KR' : 'en-US', { maximumFractionDigits: digits }));
  return formatters.get(key);
}

export function formatValue(value, type) {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  if (isBinary(type)) return value === 1 ? t('value.on') : value === 0 ? t('value.off') : String(value);
  if (isMultiState(type)) return String(Math.round(value));
  const abs = Math.abs(value);
  return numberFormat(abs >= 1000 ? 1 : 2).format(value);
}
