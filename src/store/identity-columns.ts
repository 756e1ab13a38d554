/**
 * The identity facts a bank's file may carry besides the mobile (Ley 2300 art. 4: the
 * second fact asked after the cédula): the cédula's issue date (Fecha_expedicion) and
 * the obligation number (Numero_obligacion). Parsed the same way for an import and for
 * a debtor's answer in the chat.
 */

const MONTHS: Record<string, number> = {
  enero: 1, ene: 1, febrero: 2, feb: 2, marzo: 3, mar: 3, abril: 4, abr: 4, mayo: 5, may: 5, junio: 6, jun: 6,
  julio: 7, jul: 7, agosto: 8, ago: 8, septiembre: 9, setiembre: 9, sep: 9, sept: 9, set: 9, octubre: 10, oct: 10,
  noviembre: 11, nov: 11, diciembre: 12, dic: 12,
};

/** Excel's day 0 (its serial numbers count days from 1899-12-30, after its 1900 leap-year bug). */
const EXCEL_EPOCH_UTC = Date.UTC(1899, 11, 30);

function iso(year: number, month: number, day: number): string | undefined {
  if (!Number.isInteger(year) || !Number.isInteger(month) || !Number.isInteger(day)) return undefined;
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const d = new Date(Date.UTC(year, month - 1, day));
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return undefined;
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

function fullYear(raw: string, today: string): number {
  const n = Number(raw);
  if (raw.length !== 2) return n;
  const thisYear = Number(today.slice(2, 4));
  return n <= thisYear ? 2000 + n : 1900 + n;
}

export interface IssueDateOptions {
  /** Today, YYYY-MM-DD (from the service's clock): an issue date is never later. */
  today: string;
  /** Accept Excel's serial day numbers (a spreadsheet column; not a chat answer). */
  excelSerials?: boolean;
}

/**
 * An issue date as YYYY-MM-DD, from the forms people and spreadsheets write: 15/03/2005,
 * 15-03-2005, 15.03.05, 2005-03-15 (with or without a time after it), "15 de marzo de
 * 2005", "marzo 15 de 2005", and Excel's serial numbers (38426) when `excelSerials`.
 * Day first, as in Colombia. Undefined when it is not a real date between 1900 and today.
 */
export function parseIssueDate(raw: string, options: IssueDateOptions): string | undefined {
  const text = raw
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .trim()
    // An Excel export may add the time: "15/03/2005 0:00", "2005-03-15 00:00:00", "2005-03-15T00:00:00".
    .replace(/[ t]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?( ?[ap]\.? ?m\.?)?z?$/, '')
    .trim();
  let out: string | undefined;
  let m: RegExpExecArray | null;
  if (options.excelSerials && (m = /^(\d{4,5})(\.0+)?$/.exec(text))) {
    const serial = Number(m[1]);
    // 1 (1900-01-01) … 2958465 (9999); an issue date is after 1900 anyway.
    if (serial >= 367) {
      const d = new Date(EXCEL_EPOCH_UTC + serial * 86_400_000);
      out = iso(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
    }
  } else if ((m = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$/.exec(text))) {
    out = iso(Number(m[1]), Number(m[2]), Number(m[3]));
  } else if ((m = /^(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4}|\d{2})$/.exec(text)) || (m = /^(\d{1,2}) (\d{1,2}) (\d{4})$/.exec(text))) {
    out = iso(fullYear(m[3] as string, options.today), Number(m[2]), Number(m[1]));
  } else if ((m = /^(\d{1,2})\s*(?:de\s+|-|\/)?([a-z]+)\.?\s*(?:de(?:l)?\s+|-|\/)?(\d{4}|\d{2})$/.exec(text)) && MONTHS[m[2] as string]) {
    out = iso(fullYear(m[3] as string, options.today), MONTHS[m[2] as string] as number, Number(m[1]));
  } else if ((m = /^([a-z]+)\.?\s*(\d{1,2})\s*(?:de(?:l)?\s+|,\s*|\s)(\d{4})$/.exec(text)) && MONTHS[m[1] as string]) {
    out = iso(Number(m[3]), MONTHS[m[1] as string] as number, Number(m[2]));
  }
  if (!out || out < '1900-01-01' || out > options.today) return undefined;
  return out;
}

/**
 * The dates a chat answer mentions, each as YYYY-MM-DD: the whole text first ("15 de
 * marzo de 2005"), then each date-looking piece in it ("fue el 15/03/2005 creo").
 */
export function issueDatesIn(text: string, today: string): string[] {
  const found = new Set<string>();
  const whole = parseIssueDate(text.replace(/^(el|la fecha es|fue el|es el)\s+/i, ''), { today });
  if (whole) found.add(whole);
  const folded = text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
  const pieces = [
    ...folded.matchAll(/\b\d{1,2}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*(?:\d{4}|\d{2})\b/g),
    ...folded.matchAll(/\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b/g),
    ...folded.matchAll(/\b\d{1,2}\s*(?:de\s+)?[a-z]+\.?\s*(?:de(?:l)?\s+)?\d{4}\b/g),
    ...folded.matchAll(/\b[a-z]+\.?\s*\d{1,2}\s*(?:de(?:l)?\s+|,\s*|\s)\d{4}\b/g),
  ];
  for (const p of pieces) {
    const d = parseIssueDate(p[0], { today });
    if (d) found.add(d);
  }
  return [...found];
}

/**
 * An obligation number as the file gives it, checked: letters, digits and the usual
 * separators, with at least 4 digits (the bot asks for the last 4). Returns a reason
 * when it is not usable.
 */
export function checkObligationNumber(raw: string): { value: string } | { reason: string } {
  const value = raw.trim();
  if (/^\d+(\.\d+)?e\+\d+$/i.test(value)) {
    return { reason: `Numero_obligacion "${value}" was turned into scientific notation by Excel; format the column as text and export again` };
  }
  if (value.length > 40 || !/^[\p{L}\d][\p{L}\d .\-/#]*$/u.test(value)) {
    return { reason: `Numero_obligacion "${value}" is not an obligation number (letters, digits, spaces, . - / #; at most 40 characters)` };
  }
  if (value.replace(/\D/g, '').length < 4) return { reason: `Numero_obligacion "${value}" has fewer than 4 digits` };
  return { value };
}

/** The last `n` digits of a value's digits ("TC-0001234-5" → "2345"), or undefined with fewer. */
export function lastDigits(value: string | null | undefined, n = 4): string | undefined {
  const digits = (value ?? '').replace(/\D/g, '');
  return digits.length >= n ? digits.slice(-n) : undefined;
}
