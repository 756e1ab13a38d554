/**
 * Finding a Colombian cédula de ciudadanía in free text.
 *
 * A cédula has 6 to 10 digits (10-digit ones start with 1) and no check digit, so the
 * number alone cannot prove it is one: the decision rests on what surrounds it.
 *
 * Right after a cédula label ("cc", "cédula", "documento"…) the number may be written
 * any way people write it: groups split by - _ , . or spaces, two-digit groups, digits
 * one by one, digits partly or wholly in words ("noventa y tres millones…", "uno cero
 * dos…"). Elsewhere, phones, NITs, dates, times, percentages and hyphenated codes are
 * blanked out first; each remaining number is then judged by its shape and the words
 * right before and after it (a PIN, a PSE CUS, "el código que me llegó", a reference
 * is never a cédula).
 */
import { foldSameLength } from './normalize.js';

/** A mobile (3xx) or landline (60x) number, 10 digits in any common grouping, optional +57. */
const PHONE = /(?<![\d$])(?:\+\s?57[\s.\-]?|57[\s.\-]?)?\(?(?:3\d{2}|60\d)\)?[\s.\-]?\d{3}[\s.\-]?\d{2}[\s.\-]?\d{2}(?!\d)/g;
/** A NIT with its check digit: 900.123.456-7. */
const NIT = /(?<![\d$])\d{3}[.\s]?\d{3}[.\s]?\d{3}\s?-\s?\d(?!\d)/g;
const DATE = /(?<!\d)\d{1,4}[/\-]\d{1,2}(?:[/\-]\d{2,4})?(?!\d)/g;
const TIME = /(?<!\d)\d{1,2}(?::\d{2}){1,2}(?!\d)/g;
const PERCENT = /\d+(?:[.,]\d+)?\s?%/g;
const HYPHENATED = /\d+(?:\s?-\s?\d+)+/g;
const EMAIL_OR_URL = /\S+@\S+|https?:\/\/\S+|www\.\S+/g;

/** A number, either grouped in thousands (93.388.915, 1'023.456.789, 93 388 915) or bare. */
const NUMBER = /(?<!\d)\d{1,3}(?:(?:['’.,]|\s)\d{3})+(?!\d)|(?<!\d)\d+(?!\d)/g;

const FILLER = String.raw`(?:(?:de|es|mi|el|la|del|en|numero|nro|no|n|num|n°|º|sera|seria|ciudadania|identidad|:|#)\b\.?\s*[:#]?\s*){0,4}`;

const CEDULA_LABEL = new RegExp(
  String.raw`(?:\bc\s?\.\s?c\b\.?|\bcc|\bcedula|\bcdla|\bced\b\.?|\bdocumento|\bdoc\b\.?|\bidentificacion|\bidentidad|\bnuip|\bnumero\s+de\s+(?:cedula|documento|identificacion))\s*[:#.\-]?\s*` +
    FILLER +
    '$',
);

/** Words that say a number is something other than a cédula (a few words may sit between: "el pin de efecty es"). */
const OTHER_LABEL = new RegExp(
  String.raw`\b(?:pagare|codigo|cod|referencia|ref|tarjeta|terminad[ao]\s+en|termina\s+en|cus|otp|token|verificacion|cuenta|cta|obligacion|credito|factura|radicado|pedido|orden|guia|ticket|convenio|nit|rut|telefono|tel|celular|cel|movil|whatsapp|wpp|wsp|fijo|contrato|poliza|placa|pin|clave|contrasena|producto|prestamo|libranza|comprobante|recibo|transaccion|aprobacion|operacion|serial|lote|expediente|proceso|caso|llam\w*\s+al|marc\w*\s+al|escrib\w*\s+al|comuni\w*\s+al)\b\.?\s*[:#.\-]?\s*` +
    String.raw`(?:(?:de|es|mi|el|la|del|en|numero|nro|no|n|num|n°|º|ahorros|ahorro|corriente|credito|:|#)\b\.?\s*[:#]?\s*){0,4}` +
    String.raw`(?:(?!(?:cedula|cc|documento|identificacion)\b)[a-z]+\s*[:#.\-]?\s*){0,4}$`,
);

/** A label that says the number after it is a cédula, followed by its filler, anchored at the end. */
const CEDULA_LABEL_GLOBAL = new RegExp(
  String.raw`(?:\bc\s?\.\s?c\b\.?|\bcc|\bcedula|\bcdla|\bced\b\.?|\bdocumento|\bdoc\b\.?|\bidentificacion|\bidentidad|\bnuip|\bnumero\s+de\s+(?:cedula|documento|identificacion))\s*[:#.\-]?\s*` +
    FILLER,
  'g',
);

const DIGIT_WORDS: Record<string, number> = { cero: 0, uno: 1, un: 1, una: 1, dos: 2, tres: 3, cuatro: 4, cinco: 5, seis: 6, siete: 7, ocho: 8, nueve: 9 };
const UNIT_WORDS: Record<string, number> = {
  ...DIGIT_WORDS, diez: 10, once: 11, doce: 12, trece: 13, catorce: 14, quince: 15, dieciseis: 16, diecisiete: 17, dieciocho: 18,
  diecinueve: 19, veinte: 20, veintiun: 21, veintiuno: 21, veintidos: 22, veintitres: 23, veinticuatro: 24, veinticinco: 25,
  veintiseis: 26, veintisiete: 27, veintiocho: 28, veintinueve: 29, treinta: 30, cuarenta: 40, cincuenta: 50, sesenta: 60,
  setenta: 70, ochenta: 80, noventa: 90, cien: 100, ciento: 100, doscientos: 200, trescientos: 300, cuatrocientos: 400,
  quinientos: 500, seiscientos: 600, setecientos: 700, ochocientos: 800, novecientos: 900,
};

/** A run of digits and number words right after a label: "52-345-678", "1 0 2 6…", "noventa y tres millones…". */
const LOOSE_NUMBER = /^(?:(?:\d+|[a-z]+)(?:[\s.,'’_\-]{1,3}|$))+/;

function validCedula(digits: string): boolean {
  if (digits.length < 6 || digits.length > 10) return false;
  if (digits.charCodeAt(0) === 48 /* 0 */) return false;
  return digits.length !== 10 || digits.charCodeAt(0) === 49 /* 1 */;
}

/**
 * Reads the number written right after a cédula label, however it is written: digit
 * groups with any separator, digits one by one, digit words, or a number spelled with
 * millones/mil. Returns its digits and where it ends, or undefined.
 */
function readLooseCedula(folded: string, from: number): { digits: string; end: number } | undefined {
  const m = LOOSE_NUMBER.exec(folded.slice(from, from + 160));
  if (!m) return undefined;
  const parts: { text: string; end: number }[] = [];
  const re = /\d+|[a-z]+/g;
  for (let t = re.exec(m[0]); t !== null; t = re.exec(m[0])) parts.push({ text: t[0], end: from + t.index + t[0].length });
  // Only number words, digits and "y"; stop at the first other word.
  let n = 0;
  while (n < parts.length && (/^\d/.test(parts[n]!.text) || parts[n]!.text in UNIT_WORDS || /^(?:y|mil|millon|millones)$/.test(parts[n]!.text))) n++;
  while (n > 0 && parts[n - 1]!.text === 'y') n--;
  const run = parts.slice(0, n);
  if (run.length === 0) return undefined;
  const words = run.map((p) => p.text);
  let digits: string;
  if (words.some((w) => w === 'mil' || w === 'millon' || w === 'millones')) {
    // A spelled number: "noventa y tres millones trescientos ochenta y ocho mil novecientos quince".
    let total = 0;
    let current = 0;
    for (const w of words) {
      if (w === 'y') continue;
      if (w === 'millon' || w === 'millones') {
        total += (current || 1) * 1_000_000;
        current = 0;
      } else if (w === 'mil') {
        total += (current || 1) * 1000;
        current = 0;
      } else current += /^\d/.test(w) ? Number(w) : UNIT_WORDS[w]!;
    }
    digits = String(total + current);
  } else {
    // Digits and digit words one after another: "1 0 2 3 cuatro cinco…", "52 34 56 78", "1004 567 812".
    if (words.some((w) => w === 'y' || (!/^\d/.test(w) && !(w in DIGIT_WORDS)))) return undefined;
    digits = words.map((w) => (/^\d/.test(w) ? w : String(DIGIT_WORDS[w]))).join('');
  }
  // A phone after the label ("cc y cel 300…") is not the cédula.
  if (!validCedula(digits)) return undefined;
  return { digits, end: run[run.length - 1]!.end };
}

/** The first number written after a cédula label, in any of the loose forms. */
function labelledLoose(folded: string): { digits: string; start: number; end: number } | undefined {
  CEDULA_LABEL_GLOBAL.lastIndex = 0;
  for (let m = CEDULA_LABEL_GLOBAL.exec(folded); m !== null; m = CEDULA_LABEL_GLOBAL.exec(folded)) {
    if (m[0].length === 0) {
      CEDULA_LABEL_GLOBAL.lastIndex++;
      continue;
    }
    const start = m.index + m[0].length;
    const found = readLooseCedula(folded, start);
    if (found) {
      const after = folded.slice(found.end, found.end + 24);
      if (MONEY_OR_COUNT_AFTER.test(after)) continue;
      return { digits: found.digits, start, end: found.end };
    }
  }
  return undefined;
}

/** Unlabelled thousands groups split by - or _ the same way throughout: 52-345-678, 80_234_517. */
const SEPARATED_GROUPS = /(?<![\d\-_.])\d{1,3}([\-_])\d{3}\1\d{3}(?:\1\d{3})?(?![\d\-_])/g;

/** Words right before a number that make it money. */
const MONEY_BEFORE = new RegExp(
  String.raw`(?:\$|\bcop|\bpesos|\bpag\w*|\babon\w*|\bdeb[oe]\w*|\bdeuda\w*|\bsaldo|\bvalor|\bcuota\w*|\btotal|\bconsign\w*|\btransf\w*|\bdoy|\bdar|\bdaria|\bofrezc\w*|\bofrec\w*|\btengo|\bcobr\w*|\bplata|\bmonto|\bdescuento|\brebaj\w*|\bprecio|\bvale|\bsuma|\bmand\w*|\benvi\w*|\bdej\w*|\breun\w*|\bqued\w*|\bpresta\w*|\bcancel\w*|\bgan\w*|\bsueldo|\bsalario|\bingreso\w*)\s*` +
    String.raw`(?:(?:de|en|los|las|unos|unas|como|mas|o|solo|solamente|hasta|por|es|a|el|la|un|una|total|maximo|minimo|ahora|ahorita|hoy|yo|le|te|les|me|puedo|podria|mensual\w*|al|mes|:)\b\s*){0,3}$`,
);

/** Words right after a number that make it money, a percentage, a count or a duration. */
const MONEY_OR_COUNT_AFTER =
  /^\s*(?:pesos|peso|mil\b|millon|millones|lucas?|palos?|k\b|cop\b|mcte|m\/cte|%|cuotas?|meses|mes\b|dias|anos|semanas|horas|minutos|veces|usd|dolares|euros|mensual|quincenal)/;

export interface NumberScan {
  /** The text lowercased with accents folded, same length as the input. */
  folded: string;
  /** `folded` with phones, NITs, dates, times, codes and the cédula blanked out. */
  scrubbed: string;
  cedula: string | null;
}

function blank(text: string, re: RegExp): string {
  return text.replace(re, (m) => ' '.repeat(m.length));
}

/** Blanks every number that is certainly not a cédula nor an amount. */
function scrubNonIdentifiers(folded: string): string {
  let t = folded;
  if (t.includes('@') || t.includes('http') || t.includes('www.')) t = blank(t, EMAIL_OR_URL);
  t = blank(t, PHONE);
  if (t.includes('-')) t = blank(blank(t, NIT), HYPHENATED);
  if (t.includes('/') || t.includes('-')) t = blank(t, DATE);
  if (t.includes(':')) t = blank(t, TIME);
  if (t.includes('%')) t = blank(t, PERCENT);
  return t;
}

/**
 * Scans the numbers of a message once: finds the cédula, and leaves a copy in which
 * everything that is not an amount or a count is blanked, for the entity extractor.
 */
export function scanNumbers(text: string): NumberScan {
  const folded = foldSameLength(text);
  const hasDigits = /\d/.test(folded);
  const loose = labelledLoose(folded);
  if (!hasDigits) {
    if (!loose) return { folded, scrubbed: folded, cedula: null };
    return { folded, scrubbed: blankRange(folded, loose.start, loose.end), cedula: loose.digits };
  }
  if (loose) return { folded, scrubbed: blankRange(scrubNonIdentifiers(folded), loose.start, loose.end), cedula: loose.digits };
  const separated = separatedGroups(folded);
  if (separated) return { folded, scrubbed: blankRange(scrubNonIdentifiers(folded), separated.start, separated.end), cedula: separated.digits };
  const scrubbed = scrubNonIdentifiers(folded);
  let labelled: { digits: string; start: number; end: number } | undefined;
  let unlabelled: { digits: string; start: number; end: number } | undefined;

  NUMBER.lastIndex = 0;
  for (let m = NUMBER.exec(scrubbed); m !== null; m = NUMBER.exec(scrubbed)) {
    const start = m.index;
    const end = start + m[0].length;
    const digits = m[0].replace(/\D/g, '');
    if (digits.length < 6 || digits.length > 10) continue;
    if (digits.charCodeAt(0) === 48 /* 0 */) continue;
    if (digits.length === 10 && digits.charCodeAt(0) !== 49 /* 1 */) continue;

    const after = scrubbed.slice(end, end + 24);
    if (/^[a-z]/.test(after)) continue; // glued to a word: a code, "150000k", "200000mil"
    if (MONEY_OR_COUNT_AFTER.test(after)) continue;

    const before = scrubbed.slice(Math.max(0, start - 48), start);
    if (CEDULA_LABEL.test(before)) {
      labelled = { digits, start, end };
      break;
    }
    if (unlabelled) continue;
    if (/[a-z]$/.test(before)) continue; // "ref12345678", "abc123456"
    if (OTHER_LABEL.test(before) || MONEY_BEFORE.test(before)) continue;
    if (digits.endsWith('000')) continue; // a round number without a label is money
    unlabelled = { digits, start, end };
  }
  const found = labelled ?? unlabelled;
  if (!found) return { folded, scrubbed, cedula: null };
  return {
    folded,
    scrubbed: scrubbed.slice(0, found.start) + ' '.repeat(found.end - found.start) + scrubbed.slice(found.end),
    cedula: found.digits,
  };
}

function blankRange(text: string, start: number, end: number): string {
  return text.slice(0, start) + ' '.repeat(end - start) + text.slice(end);
}

/** 52-345-678 or 80_234_517 with nothing saying it is something else. */
function separatedGroups(folded: string): { digits: string; start: number; end: number } | undefined {
  if (!folded.includes('-') && !folded.includes('_')) return undefined;
  SEPARATED_GROUPS.lastIndex = 0;
  for (let m = SEPARATED_GROUPS.exec(folded); m !== null; m = SEPARATED_GROUPS.exec(folded)) {
    const digits = m[0].replace(/\D/g, '');
    if (!validCedula(digits)) continue;
    // Nine digits from 8 or 9 is a NIT's shape; phones were never thousands groups.
    if (digits.length === 9 && /^[89]/.test(digits)) continue;
    const before = folded.slice(Math.max(0, m.index - 48), m.index);
    if (/[a-z0-9]$/.test(before) || OTHER_LABEL.test(before) || MONEY_BEFORE.test(before)) continue;
    const after = folded.slice(m.index + m[0].length, m.index + m[0].length + 24);
    if (/^[a-z0-9]/.test(after) || MONEY_OR_COUNT_AFTER.test(after)) continue;
    return { digits, start: m.index, end: m.index + m[0].length };
  }
  return undefined;
}

/**
 * The cédula in a message, as digits only, or null. A number labelled as a cédula
 * ("cc", "cédula", "documento"…) wins over a bare one; phones, money, NITs, dates,
 * card and credit numbers are never taken.
 */
export function detectCedula(text: string): string | null {
  return scanNumbers(text).cedula;
}
