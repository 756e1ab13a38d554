/**
 * How values read in a debtor's message: money as Colombian pesos ($123.456),
 * dates in Spanish ("viernes 28 de noviembre de 2026").
 */

const DAYS = ['domingo', 'lunes', 'martes', 'miércoles', 'jueves', 'viernes', 'sábado'];
const MONTHS = [
  'enero',
  'febrero',
  'marzo',
  'abril',
  'mayo',
  'junio',
  'julio',
  'agosto',
  'septiembre',
  'octubre',
  'noviembre',
  'diciembre',
];

/** Thousands separated by dots, as written in Colombia: 1234567 → "1.234.567". */
export function formatNumber(value: number): string {
  const rounded = Math.round(value);
  const digits = Math.abs(rounded).toString();
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, '.');
  return rounded < 0 ? `-${grouped}` : grouped;
}

/** COP in whole pesos: 123456 → "$123.456". */
export function formatMoney(value: number): string {
  const text = formatNumber(value);
  return text.startsWith('-') ? `-$${text.slice(1)}` : `$${text}`;
}

export const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A calendar date (YYYY-MM-DD) in Spanish: "viernes 28 de noviembre de 2026". */
export function formatDate(isoDate: string): string {
  const m = ISO_DATE.exec(isoDate);
  if (!m) return isoDate;
  const [, y, mo, d] = m;
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  return `${DAYS[date.getUTCDay()]} ${date.getUTCDate()} de ${MONTHS[date.getUTCMonth()]} de ${date.getUTCFullYear()}`;
}

/** "CARLOS ANDRÉS FAJARDO" → "Carlos Andrés Fajardo". */
export function titleCase(text: string): string {
  return text
    .toLocaleLowerCase('es-CO')
    .replace(/(^|[\s'-])(\p{L})/gu, (_, sep: string, ch: string) => sep + ch.toLocaleUpperCase('es-CO'));
}

/** The first given name, as a person is addressed in a chat: "CARLOS FAJARDO" → "Carlos". */
export function firstName(fullName: string): string {
  const first = fullName.trim().split(/\s+/)[0] ?? '';
  return titleCase(first);
}

/** Lowercase, accents folded, punctuation and extra spaces removed: for matching typed text. */
export function foldText(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}
