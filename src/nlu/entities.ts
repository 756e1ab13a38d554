/**
 * Entities in a debtor's message: the cédula, an amount in COP, a number of
 * installments, and a date resolved in America/Bogota.
 */
import { DateTime } from 'luxon';
import { scanNumbers } from './cedula.js';
import type { Entities } from './types.js';

export const ZONE = 'America/Bogota';

interface Token {
  text: string;
  start: number;
  /** Set when the token is written in digits. */
  digits?: number;
}

/** Digits grouped in thousands (with dots, commas, apostrophes or spaces), a decimal, or words. */
const TOKEN = /\$|\d{1,3}(?:(?:['’.,]|\s)\d{3})+(?!\d)|\d+(?:[.,]\d+)?|[a-z]+/g;

/** "tres cientos", "cinco cientas": hundreds written in two words, joined (same length, so positions hold). */
const SPLIT_HUNDREDS = /\b(dos|tres|cuatro|cinco|seis|siete|ocho|nueve)\s(cient[oa]s)\b/g;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  if (text.includes('cient')) text = text.replace(SPLIT_HUNDREDS, '$1$2 ');
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(text); m !== null; m = TOKEN.exec(text)) {
    const t = m[0];
    const c = t.charCodeAt(0);
    if (c >= 48 && c <= 57) tokens.push({ text: t, start: m.index, digits: parseDigits(t) });
    else tokens.push({ text: t, start: m.index });
  }
  return tokens;
}

/** "1'500.000" → 1500000, "200.000" → 200000, "1.5" → 1.5, "2,5" → 2.5. */
export function parseDigits(t: string): number {
  if (/^\d+$/.test(t)) return Number(t);
  if (/['’]/.test(t) || /^\d{1,3}(?:[.,\s]\d{3})+$/.test(t)) return Number(t.replace(/\D/g, ''));
  return Number(t.replace(',', '.'));
}

const UNITS: Record<string, number> = {
  un: 1, uno: 1, una: 1, dos: 2, tres: 3, cuatro: 4, cinco: 5, seis: 6, siete: 7, ocho: 8, nueve: 9,
  diez: 10, once: 11, doce: 12, trece: 13, catorce: 14, quince: 15, dieciseis: 16, diecisiete: 17,
  dieciocho: 18, diecinueve: 19, veinte: 20, veintiun: 21, veintiuno: 21, veintiuna: 21, veintidos: 22,
  veintitres: 23, veinticuatro: 24, veinticinco: 25, veintiseis: 26, veintisiete: 27, veintiocho: 28,
  veintinueve: 29,
};
const TENS: Record<string, number> = {
  treinta: 30, cuarenta: 40, cincuenta: 50, sesenta: 60, setenta: 70, ochenta: 80, noventa: 90,
};
const HUNDREDS: Record<string, number> = {
  cien: 100, ciento: 100, doscientos: 200, doscientas: 200, trescientos: 300, trescientas: 300,
  cuatrocientos: 400, cuatrocientas: 400, quinientos: 500, quinientas: 500, seiscientos: 600,
  seiscientas: 600, setecientos: 700, setecientas: 700, ochocientos: 800, ochocientas: 800,
  novecientos: 900, novecientas: 900,
  // The joined spellings of "cinco cientos", "siete cientos", "nueve cientos" (see SPLIT_HUNDREDS).
  cincocientos: 500, cincocientas: 500, sietecientos: 700, sietecientas: 700, nuevecientos: 900, nuevecientas: 900,
};
const THOUSAND_WORDS = new Set(['mil', 'luca', 'lucas', 'luka', 'lukas', 'k', 'lucaz']);
const MILLION_SINGULAR = new Set(['millon', 'palo', 'palito', 'melon', 'mill', 'millo', 'm']);
const MILLION_WORDS = new Set([
  ...MILLION_SINGULAR, 'millones', 'millons', 'milones', 'palos', 'palitos', 'melones', 'millos',
]);
const CURRENCY_AFTER = new Set(['pesos', 'peso', 'cop', 'mcte', 'pesitos']);

const WORD_VALUES = new Map<string, number>([
  ...Object.entries(UNITS),
  ...Object.entries(TENS),
  ...Object.entries(HUNDREDS),
  ['medio', 0.5],
  ['media', 0.5],
]);
const SMALL_WORD_VALUES = new Map<string, number>([...Object.entries(UNITS), ...Object.entries(TENS)]);

/** The value of a number word below 1000 ("doscientos", "veinte", "medio"), or undefined. */
function wordValue(w: string): number | undefined {
  return WORD_VALUES.get(w);
}

/** Whether number word `next` fills a lower place of `current`: "doscientos" + "cincuenta", "treinta" + "cinco". */
function composes(current: number, next: number): boolean {
  if (current >= 100 && current % 100 === 0) return next >= 1 && next < 100;
  return current % 100 >= 20 && current % 10 === 0 && next >= 1 && next < 10;
}

interface AmountMatch {
  value: number;
  start: number;
  /** Index of the first token after the amount. */
  next: number;
}

/**
 * Reads an amount starting at token i: digits or Spanish number words, with multipliers
 * (mil, lucas, k, millones, palos) and the colloquial tails ("y medio", "dos palos
 * quinientos"). Returns undefined when what is there is not money.
 */
function readAmount(tokens: Token[], i: number, scrubbed: string): AmountMatch | undefined {
  let j = i;
  let dollar = false;
  if (tokens[j]?.text === '$') {
    dollar = true;
    j++;
  }
  const first = tokens[j];
  if (!first) return undefined;
  const firstIsDigits = first.digits !== undefined;
  if (!firstIsDigits && wordValue(first.text) === undefined && !MILLION_SINGULAR.has(first.text) && first.text !== 'mil') {
    return undefined;
  }

  let total = 0;
  let current: number | undefined;
  let lastMultiplier = 0;
  let numbersSeen = 0;
  let prevWasNumber = false;
  for (; j < tokens.length; j++) {
    const tok = tokens[j]!;
    const t = tok.text;
    if (tok.digits !== undefined) {
      if (prevWasNumber) break; // two numbers in a row are two things
      // A number right after a gap of other text is not part of this amount.
      if (numbersSeen > 0 && lastMultiplier === 0) break;
      current = (current ?? 0) + tok.digits;
      numbersSeen++;
      prevWasNumber = true;
      continue;
    }
    const wv = wordValue(t);
    if (wv !== undefined) {
      if (prevWasNumber && current !== undefined && !composes(current, wv)) break;
      current = (current ?? 0) + wv;
      numbersSeen++;
      prevWasNumber = true;
      continue;
    }
    if (THOUSAND_WORDS.has(t)) {
      if (current === undefined) {
        // "mil pesos" alone is 1000; "mil gracias" is not money.
        if (t === 'mil' && CURRENCY_AFTER.has(tokens[j + 1]?.text ?? '')) current = 1;
        else break;
      }
      total += current * 1000;
      current = undefined;
      lastMultiplier = 1000;
      prevWasNumber = false;
      continue;
    }
    if (MILLION_WORDS.has(t)) {
      if (t === 'm' && !firstIsDigits) break;
      if (current === undefined) {
        const after = tokens[j + 1]?.text;
        const implicitOne =
          MILLION_SINGULAR.has(t) && t !== 'm' && ((after === 'y' && /^medi[oa]$/.test(tokens[j + 2]?.text ?? '')) || CURRENCY_AFTER.has(after ?? ''));
        if (!implicitOne) break;
        current = 1;
      }
      total += current * 1_000_000;
      current = undefined;
      lastMultiplier = 1_000_000;
      prevWasNumber = false;
      continue;
    }
    if (t === 'y' || t === 'con') {
      const after = tokens[j + 1];
      if (after && /^medi[oa]$/.test(after.text) && lastMultiplier > 0 && current === undefined) {
        total += lastMultiplier / 2;
        j++;
        prevWasNumber = false;
        continue;
      }
      // "dos millones y 500 mil", "un palo con 200"
      if (after && lastMultiplier === 1_000_000 && current === undefined && (after.digits !== undefined || wordValue(after.text) !== undefined)) {
        prevWasNumber = false;
        continue;
      }
      // "treinta y cinco", "ciento cuarenta y dos"
      if (t === 'y' && after && current !== undefined && current % 100 >= 30 && current % 10 === 0 && (UNITS[after.text] ?? 10) < 10) {
        continue;
      }
    }
    if (t === 'de' && CURRENCY_AFTER.has(tokens[j + 1]?.text ?? '') && numbersSeen > 0) continue;
    break;
  }
  if (numbersSeen === 0 && total === 0) return undefined;

  const nextText = tokens[j]?.text ?? '';
  const currency = CURRENCY_AFTER.has(nextText);
  if (currency) j++;
  if (current !== undefined) {
    if (lastMultiplier === 1_000_000 && current < 1000) total += current * 1000; // "dos palos quinientos"
    else if (lastMultiplier > 0) total += current;
    else {
      // A bare number: money only with a currency sign or word, or clear context.
      if (!firstIsDigits && !currency && !dollar) return undefined;
      if (!dollar && !currency && !looksLikeBareAmount(first, current, scrubbed)) return undefined;
      total = current;
    }
  }
  if (total < 1 || !Number.isFinite(total)) return undefined;
  const value = Math.round(total);
  if (!dollar && !currency && value < 1000) return undefined;
  return { value, start: tokens[i]!.start, next: j };
}

const MONEY_CONTEXT =
  /(?:\bpag\w*|\babon\w*|\bdeb[oe]\w*|\bdeuda|\bsaldo|\bvalor|\bcuotas?\b|\bcuotic\w*|\bcuotit\w*|\btotal|\bconsign\w*|\btransf\w*|\bdoy|\bdar|\bdaria|\bofrezc\w*|\bofrec\w*|\btengo|\bcobr\w*|\bplata|\bmonto|\bdescuento|\brebaj\w*|\bmand\w*|\bdej\w*|\bqued\w*|\bsueldo|\bgano|\breun\w*|\bconsigo|\balcanza\w*)\s*(?:(?:de|en|los|las|unos|unas|como|mas|o|solo|solamente|hasta|por|es|a|el|la|un|una|total|ahora|ahorita|hoy|yo|le|te|les|me|puedo|podria|mensual\w*|al|mes|:)\b\s*){0,3}$/;

function looksLikeBareAmount(first: Token, value: number, scrubbed: string): boolean {
  if (value < 1000) return false;
  if (/[.,'’\s]\d{3}$/.test(first.text)) return true; // written with thousands separators
  const before = scrubbed.slice(Math.max(0, first.start - 40), first.start);
  if (MONEY_CONTEXT.test(before)) return true;
  return value % 1000 === 0 && value >= 10_000;
}

const PROPOSAL_BEFORE =
  /(?:\bpued\w*|\bpodr\w*|\balcanz\w*|\bofrez\w*|\bofrec\w*|\babon\w*|\bdar\b|\bdoy\b|\bdaria|\bpagaria|\bpagar\b|\bpago\b|\bconsign\w*|\bcuotas?\s+de|\bcuotic\w*\s+de|\bcuotit\w*\s+de|\bqued\w*\s+en|\bdej\w*\s+en|\brebaj\w*\s+a|\btengo\b|\breun\w*|\bmensual\w*\s+de|\bde\s+a)\s*(?:[a-z]+\s*){0,2}$/;
const DEBT_BEFORE = /(?:\bdebo|\bdeuda|\bsaldo|\bcobr\w*|\baparec\w*|\bdicen?\s+que|\bsale\b|\bdebia|\bvalor)\s*(?:[a-z]+\s*){0,3}$/;

function extractAmount(tokens: Token[], scrubbed: string): number | undefined {
  let best: { value: number; score: number } | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const match = readAmount(tokens, i, scrubbed);
    if (!match) continue;
    const before = scrubbed.slice(Math.max(0, match.start - 40), match.start);
    let score = 0;
    if (PROPOSAL_BEFORE.test(before)) score += 2;
    if (DEBT_BEFORE.test(before)) score -= 1;
    if (!best || score > best.score) best = { value: match.value, score };
    i = match.next - 1;
  }
  return best?.value;
}

const INSTALLMENT_UNITS = new Set([
  'cuota', 'cuotas', 'cuotica', 'cuoticas', 'cuotita', 'cuotitas', 'pago', 'pagos', 'partes', 'mensualidades',
  'contados', 'meses', 'mes', 'quincenas',
]);

/** The number of installments: "a 6 cuotas", "en seis cuotas", "12 meses", "en 3 pagos". */
function extractInstallments(tokens: Token[]): number | undefined {
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    let n: number | undefined;
    if (tok.digits !== undefined) {
      if (!/^\d{1,3}$/.test(tok.text)) continue;
      n = tok.digits;
    } else {
      const v = SMALL_WORD_VALUES.get(tok.text);
      if (v === undefined) {
        // "diferido a 24", "diferirlo a 36"
        if (tok.text.startsWith('difer') && tokens[i + 1]?.text === 'a') {
          const d = tokens[i + 2]?.digits;
          if (d !== undefined && d >= 2 && d <= 120 && Number.isInteger(d)) return d;
        }
        continue;
      }
      n = v;
      // "treinta y seis cuotas"
      if (TENS[tok.text] !== undefined && tokens[i + 1]?.text === 'y') {
        const u = UNITS[tokens[i + 2]?.text ?? ''];
        if (u !== undefined && u < 10) {
          n += u;
          i += 2;
        }
      }
    }
    if (!Number.isInteger(n) || n < 1 || n > 120) continue;
    let k = i + 1;
    if (tokens[k]?.text === 'sola' || tokens[k]?.text === 'solo') k++;
    const unit = tokens[k]?.text;
    if (unit === undefined || !INSTALLMENT_UNITS.has(unit)) continue;
    if (unit === 'pago' && tokens[i + 1]?.text !== 'solo') continue; // only "un solo pago"
    if (unit === 'pago' || unit === 'pagos' || unit === 'partes') {
      // "en 3 pagos", "un solo pago", "dos partes"; "los 2 pagos que hice" stays out
      const prev = tokens[i - 1]?.text;
      if (prev !== 'en' && prev !== 'a' && prev !== 'de' && tokens[i + 1]?.text !== 'solo' && tokens[i + 1]?.text !== 'sola') continue;
    }
    if (unit === 'mes' || unit === 'meses' || unit === 'quincenas') {
      if (!monthsMeanInstallments(tokens, i, k)) continue;
    }
    return n;
  }
  return undefined;
}

/** "a 12 meses" is a term; "hace 3 meses", "llevo 2 meses sin trabajo", "en 2 meses le pago" are not. */
function monthsMeanInstallments(tokens: Token[], i: number, unitIndex: number): boolean {
  const back1 = tokens[i - 1]?.text ?? '';
  const back2 = tokens[i - 2]?.text ?? '';
  const back3 = tokens[i - 3]?.text ?? '';
  const blockers = /^(hace|llevo|lleva|llevamos|desde|tengo|tiene|despues|dentro|durante|ultimos|pasados|como|unos|casi|mas)$/;
  // "cuotas mensuales de $90.000 durante 8 meses" is a term; "durante 3 meses estuve sin trabajo" is not.
  const termOfPayments = back1 === 'durante' && tokens.some((t) => /^(cuotas?|cuoticas?|cuotitas?|mensual(?:es)?|mensualidad(?:es)?|abonos?|quincenal(?:es)?)$/.test(t.text));
  if (!termOfPayments && (blockers.test(back1) || blockers.test(back2) || (back1 === 'de' && /^(dentro|despues|antes)$/.test(back2)))) return false;
  if (back3 === 'hace' || back2 === 'hace') return false;
  const after1 = tokens[unitIndex + 1]?.text ?? '';
  const after2 = tokens[unitIndex + 2]?.text ?? '';
  if (/^(sin|desempleado|desempleada|que|atrasado|atrasada|vencid\w*|parado|parada|enfermo|enferma|hospitalizad\w*|incapacitad\w*)$/.test(after1)) return false;
  if (after1 === 'de' && /^(atraso|mora|vencid\w*|retraso|incapacidad)$/.test(after2)) return false;
  if (back1 === 'en' || back1 === 'para' || back1 === 'pa') {
    // "en 2 meses le pago", "en un mes tengo": a deferral, not a term
    const deferral = /^(le|te|les|lo|se|yo|pago|pagare|pagaria|tengo|tendre|consigo|me|ya|cuando|vuelvo|puedo|podria)$/;
    if (deferral.test(after1)) return false;
  }
  return true;
}

const MONTHS: Record<string, number> = {
  enero: 1, ene: 1, febrero: 2, feb: 2, marzo: 3, mar: 3, abril: 4, abr: 4, mayo: 5, may: 5, junio: 6, jun: 6,
  julio: 7, jul: 7, agosto: 8, ago: 8, septiembre: 9, setiembre: 9, sep: 9, sept: 9, octubre: 10, oct: 10,
  noviembre: 11, nov: 11, diciembre: 12, dic: 12,
};
const WEEKDAYS: Record<string, number> = {
  lunes: 1, martes: 2, miercoles: 3, jueves: 4, viernes: 5, sabado: 6, domingo: 7,
};
const DAY_WORDS: Record<string, number> = { primero: 1, ...UNITS, treinta: 30 };

/** Each pattern runs only when its cheap hint is in the text: most messages carry no date. */
const DATE_PATTERNS: { hint: RegExp; re: RegExp; resolve: (m: RegExpExecArray, today: DateTime) => DateTime | undefined }[] = [
  {
    // 2026-12-15
    hint: /\d-\d/,
    re: /(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)/,
    resolve: (m, today) => exact(today, Number(m[1]), Number(m[2]), Number(m[3])),
  },
  {
    // 15/12, 15/12/2026, 15-12-26
    hint: /\d[/-]\d/,
    re: /(?<!\d)(\d{1,2})[/\-](\d{1,2})(?:[/\-](\d{2}|\d{4}))?(?!\d)/,
    resolve: (m, today) => dayMonth(today, Number(m[1]), Number(m[2]), m[3]),
  },
  {
    // el 15 de diciembre, 15 dic 2026, el quince de diciembre, primero de enero
    hint: /\b(?:ene|feb|mar|abr|may|jun|jul|ago|sep|oct|nov|dic)/,
    re: /(?<![\d\w])(\d{1,2}|primero|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|trece|catorce|quince|dieciseis|diecisiete|dieciocho|diecinueve|veinte|veintiun|veintiuno|veintidos|veintitres|veinticuatro|veinticinco|veintiseis|veintisiete|veintiocho|veintinueve|treinta)\s+(?:de\s+)?(enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre|ene|feb|mar|abr|may|jun|jul|ago|sept?|oct|nov|dic)\b\.?(?:\s*(?:de|del)?\s*(\d{4}))?/,
    resolve: (m, today) => {
      const day = /^\d+$/.test(m[1]!) ? Number(m[1]) : DAY_WORDS[m[1]!];
      if (day === undefined) return undefined;
      return dayMonth(today, day, MONTHS[m[2]!] ?? 0, m[3]);
    },
  },
  {
    hint: /manana/,
    re: /\bpasado\s+manana\b/,
    resolve: (_m, today) => today.plus({ days: 2 }),
  },
  {
    // "mañana" the day, not "en la mañana" the morning
    hint: /manana/,
    re: /(?<!\b(?:la|esta|por|en|de)\s)\bmanana\b/,
    resolve: (_m, today) => today.plus({ days: 1 }),
  },
  {
    hint: /hoy/,
    re: /\bhoy\b/,
    resolve: (_m, today) => today,
  },
  {
    // fin de mes, a final de mes, finales del mes, el ultimo dia del mes
    hint: /\bmes\b/,
    re: /\b(?:fin(?:al)?(?:es)?\s+de(?:l)?\s+mes|ultimo\s+dia\s+del\s+mes)\b/,
    resolve: (_m, today) => today.endOf('month').startOf('day'),
  },
  {
    // en marzo, desde enero, para febrero, a finales de enero: a month alone is its first day (its last, for "finales")
    hint: /\b(?:ene|feb|mar|abr|may|jun|jul|ago|sep|oct|nov|dic)/,
    re: /\b(?:(a finales de|a fin de|a finales del mes de)|en|para|desde|a partir de|a comienzos de|a principios de|a inicios de|empezando|iniciando)\s+(?:el mes de\s+)?(enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre)\b/,
    resolve: (m, today) => {
      const month = MONTHS[m[2]!] ?? 0;
      const first = dayMonth(today, 1, month, undefined);
      const start = first && first.month === today.month && first.year === today.year ? first : first;
      if (!start) return undefined;
      // "en noviembre" said in November means this month: its first day already passed, so today.
      if (month === today.month && !m[1]) return today;
      return m[1] ? start.endOf('month').startOf('day') : start;
    },
  },
  {
    // cuando me paguen la prima: the legal bonus (prima de servicios) is paid by June 30 and by December 20
    hint: /\bprima\b/,
    re: /\b(?:la|mi|de la|con la)\s+prima\b/,
    resolve: (_m, today) => {
      for (const [month, day] of [[6, 30], [12, 20]] as const) {
        const d = exact(today, today.year, month, day);
        if (d && d >= today) return d;
      }
      return exact(today, today.year + 1, 6, 30);
    },
  },
  {
    // esta quincena / la otra quincena / la proxima quincena: paydays are the 15th and the last day
    hint: /quincena/,
    re: /\b(?:(otra|proxima|siguiente)\s+)?quincena\b/,
    resolve: (m, today) => {
      const next = quincenaOnOrAfter(today);
      return m[1] ? quincenaOnOrAfter(next.plus({ days: 1 })) : next;
    },
  },
  {
    // el viernes, este sabado, el proximo lunes, el otro martes
    hint: /lunes|martes|miercoles|jueves|viernes|sabado|domingo/,
    // "el viernes 4 de diciembre": the explicit date wins, so a weekday followed by a day number is not read here
    re: /\b(?:(el\s+otro|el\s+proximo|proximo|este|el)\s+)?(lunes|martes|miercoles|jueves|viernes|sabado|domingo)\b(?!\s+\d)/,
    resolve: (m, today) => {
      const target = WEEKDAYS[m[2]!]!;
      let days = (target - today.weekday + 7) % 7;
      if (days === 0) days = 7;
      if (m[1] === 'el otro') days += 7;
      return today.plus({ days });
    },
  },
  {
    // en 8 dias, dentro de quince dias
    hint: /\bdias\b/,
    re: /\b(?:en|dentro\s+de)\s+(\d{1,2}|[a-z]+)\s+dias\b/,
    resolve: (m, today) => {
      const n = /^\d+$/.test(m[1]!) ? Number(m[1]) : UNITS[m[1]!];
      return n === undefined || n < 1 || n > 60 ? undefined : today.plus({ days: n });
    },
  },
  {
    // el 30, el dia 5, el 5 del otro mes
    hint: /\bel\s+(?:dia\s+)?\d/,
    re: /\bel\s+(?:dia\s+)?(\d{1,2})\b(?!\s*(?:de\s+)?(?:mil|lucas?|palos?|millon\w*|k\b|pesos|%|cuotas?|meses|por\s+ciento|de\s+(?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|sept?iembre|octubre|noviembre|diciembre)))(?:\s+(del?\s+(?:otro|proximo|siguiente)\s+mes|del?\s+mes\s+que\s+viene))?/,
    resolve: (m, today) => {
      const day = Number(m[1]);
      if (day < 1 || day > 31) return undefined;
      let month = today.startOf('month');
      if (m[2]) month = month.plus({ months: 1 });
      else if (day < today.day) month = month.plus({ months: 1 });
      for (let tries = 0; tries < 3; tries++) {
        const d = exact(today, month.year, month.month, day, false);
        if (d) return d;
        month = month.plus({ months: 1 });
      }
      return undefined;
    },
  },
];

/*
 * Dates are calendar days: once "today" is known in America/Bogota, the arithmetic runs in
 * UTC, where luxon needs no time-zone lookups (those were 30% of the pipeline's time).
 */
function exact(today: DateTime, year: number, month: number, day: number, allowPast = true): DateTime | undefined {
  const d = DateTime.fromObject({ year, month, day }, { zone: 'utc' });
  if (!d.isValid) return undefined;
  if (!allowPast && d < today) return undefined;
  return d;
}

/** A day and month with no year means the next time it comes (today included). */
function dayMonth(today: DateTime, day: number, month: number, year: string | undefined): DateTime | undefined {
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  if (year) return exact(today, year.length === 2 ? 2000 + Number(year) : Number(year), month, day);
  const thisYear = exact(today, today.year, month, day);
  if (thisYear && thisYear >= today) return thisYear;
  return exact(today, today.year + 1, month, day);
}

function quincenaOnOrAfter(day: DateTime): DateTime {
  if (day.day <= 15) return day.set({ day: 15 });
  return day.endOf('month').startOf('day');
}

let offsetCache: { hour: number; offsetMinutes: number } | undefined;

/** Today's calendar date in America/Bogota, as a UTC midnight. The zone's offset is looked up once an hour. */
function bogotaToday(now: Date): DateTime {
  const ms = now.getTime();
  const hour = Math.floor(ms / 3_600_000);
  if (offsetCache?.hour !== hour) offsetCache = { hour, offsetMinutes: DateTime.fromMillis(ms, { zone: ZONE }).offset };
  const local = new Date(ms + offsetCache.offsetMinutes * 60_000);
  return DateTime.utc(local.getUTCFullYear(), local.getUTCMonth() + 1, local.getUTCDate());
}

/** The first date mentioned, resolved against "today" in America/Bogota. */
function extractDate(folded: string, now: Date): string | undefined {
  let best: { at: number; date: DateTime } | undefined;
  let today: DateTime | undefined;
  for (const { hint, re, resolve } of DATE_PATTERNS) {
    if (!hint.test(folded)) continue;
    const m = re.exec(folded);
    if (!m || (best && m.index >= best.at)) continue;
    today ??= bogotaToday(now);
    const date = resolve(m, today);
    if (date) best = { at: m.index, date };
  }
  return best?.date.toISODate() ?? undefined;
}

/**
 * Every entity in a message. `now` resolves relative dates ("el viernes", "fin de mes");
 * it defaults to the current time.
 */
export function extractEntities(text: string, now: Date): Entities {
  const scan = scanNumbers(text);
  const entities: Entities = {};
  if (scan.cedula) entities.cedula = scan.cedula;
  const tokens = tokenize(scan.scrubbed);
  const amount = extractAmount(tokens, scan.scrubbed);
  // "no les pago ni un peso" is a refusal, not an offer of $1.
  const idiom = amount !== undefined && amount < 100 && /\bni (?:un|un solo|medio|mi) (?:peso|centavo|chavo)\b/.test(scan.folded);
  if (amount !== undefined && !idiom) entities.amount = amount;
  const installments = extractInstallments(tokens);
  if (installments !== undefined) entities.installments = installments;
  // Dates are read from the folded text: the scrubbed copy has blanked "15/12" on purpose.
  const date = extractDate(scan.folded, now);
  if (date !== undefined) entities.date = date;
  return entities;
}
