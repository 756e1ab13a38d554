/**
 * Finding a Colombian cédula de ciudadanía in free text.
 *
 * A cédula has 6 to 10 digits (10-digit ones start with 1) and no check digit, so the
 * number alone cannot prove it is one: the decision rests on what surrounds it. Phones,
 * NITs, dates, times, percentages and hyphenated codes are blanked out first; each
 * remaining number is then judged by its shape and the words right before and after it.
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

/** Words that say a number is something other than a cédula. */
const OTHER_LABEL = new RegExp(
  String.raw`\b(?:pagare|codigo|cod|referencia|ref|tarjeta|terminad[ao]\s+en|cuenta|cta|obligacion|credito|factura|radicado|pedido|orden|guia|ticket|convenio|nit|rut|telefono|tel|celular|cel|movil|whatsapp|wpp|wsp|fijo|contrato|poliza|placa|pin|clave|contrasena|producto|prestamo|libranza|comprobante|recibo|transaccion|aprobacion|operacion|serial|lote|expediente|proceso|caso|llam\w*\s+al|marc\w*\s+al|escrib\w*\s+al|comuni\w*\s+al)\b\.?\s*[:#.\-]?\s*` +
    String.raw`(?:(?:de|es|mi|el|la|del|en|numero|nro|no|n|num|n°|º|ahorros|ahorro|corriente|credito|:|#)\b\.?\s*[:#]?\s*){0,4}$`,
);

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
  if (!/\d/.test(folded)) return { folded, scrubbed: folded, cedula: null };
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

/**
 * The cédula in a message, as digits only, or null. A number labelled as a cédula
 * ("cc", "cédula", "documento"…) wins over a bare one; phones, money, NITs, dates,
 * card and credit numbers are never taken.
 */
export function detectCedula(text: string): string | null {
  return scanNumbers(text).cedula;
}
