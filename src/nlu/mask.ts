/**
 * What may leave the process: the text sent to OpenAI with everything personal masked.
 * The rules, in the order they run (docs/nlu.md lists them with examples):
 *
 *  1. e-mail addresses → [correo]
 *  2. street addresses (calle/cra/av/diagonal/transversal… with their numbers, "#", "No",
 *     "apto", "torre", "casa", "interior"…; barrio/conjunto/urbanización/vereda and the
 *     name after them) → [direccion]
 *  3. the debtor's known names, every word of them, accent- and case-insensitively → [nombre]
 *  4. names a message introduces: "me llamo …", "mi nombre es …", "soy …", "habla …",
 *     "de parte de …", family words ("mi mamá …", "mi esposo …") → [nombre]
 *  5. capitalized words inside a sentence that are not common words (proper names) → [nombre]
 *  6. numbers written in words when they spell four or more numbers in a row
 *     ("tres cero cero uno…", "noventa y tres millones trescientos…") → [numero]
 *  7. any number after a cédula/phone/card/account label, whatever its length → #
 *  8. six digits or more, however grouped (dots, commas, spaces, apostrophes, hyphens,
 *     underscores, slashes, parentheses, +57) → every digit becomes #, keeping the shape
 */
import { foldSameLength } from './normalize.js';

export interface MaskOptions {
  /** The debtor's names as the agency knows them ("Ana María Pérez Gómez"). */
  names?: readonly string[];
}

const EMAIL = /[\w.+-]+\s?@\s?[\w-]+(?:\.[\w-]+)+/g;

/** Street-type words of Colombian addresses (folded). */
const STREET =
  String.raw`(?:calle|cll|cl|carrera|carrea|cra|kra|kr|cr|crr|avenida|av|avda|ak|ac|diagonal|diag|dg|transversal|transv|trans|tv|tr|autopista|circular|circ|manzana|mz|mza|km|kilometro|lote)`;
/** "45", "45a", "45 bis", "45 a sur", "23-67", "# 23 - 67", "no. 23-67", "n° 23 67". */
const ADDRESS_NUMBER = String.raw`\d+\s?(?:[a-z]\b(?![°.]))?(?:\s?bis\b)?(?:\s?[a-z]\b(?![°.]))?(?:\s?(?:sur|norte|este|oeste)\b)?`;
const ADDRESS = new RegExp(
  String.raw`\b${STREET}\.?\s*(?:no\.?\s*|n°\s*|#\s*)?${ADDRESS_NUMBER}` +
    String.raw`(?:\s*(?:#|no\.?|n°|num(?:ero)?\.?|numero|con|-)?\s*${ADDRESS_NUMBER}(?:\s?-\s?\d+)?)*` +
    String.raw`(?:\s*,?\s*(?:apto|apartamento|apt|ap|torre|tor|casa|interior|int|bloque|bl|piso|oficina|of|local|etapa|mz|manzana|lote|conjunto)\.?\s*\w+)*`,
  'g',
);
/** "apto 1203", "torre 3 apto 502" standing alone. */
const UNIT = /\b(?:apto|apartamento|apt|torre|interior|bloque|casa)\.?\s*(?:no\.?\s*|#\s*)?\d+[a-z]?\b(?:\s*,?\s*(?:apto|apartamento|apt|torre|interior|bloque|piso)\.?\s*\d+[a-z]?\b)*/g;
/** Up to three words naming a neighbourhood, a building or a village. */
const PLACE = /\b(?:barrio|br|conjunto|urbanizacion|urb|vereda|edificio|unidad|ciudadela|sector)\.?\s+(?:(?:el|la|los|las|de|del|san|santa)\s+)?[a-z0-9ñ]+(?:\s+(?!(?:y|pero|porque|que|me|no|si|para|en|a|con|donde|por)\b)[a-z0-9ñ]+){0,2}/g;

/** Words that follow "soy", "mi mamá"… and are not a name. */
const NOT_A_NAME = new Set(
  `el la los las lo un una unos unas yo tu usted ustedes el ella ellos de del que y o u no ni si ya a al en con por para sin sobre
  es esta estoy estaba esta estan era fue ser son sera tiene tengo tenia tuvo hay murio fallecio quedo anda vive trabaja
  se le les me te nos mi mis su sus muy mas menos tan bien mal solo sola tambien aun todavia nunca siempre ahora ahorita
  titular dueno duena deudor deudora cliente persona senor senora senorita don dona
  pensionado pensionada independiente desempleado desempleada madre padre mama papa hijo hija esposo esposa cabeza hogar
  estudiante empleado empleada vendedor vendedora conductor trabajador trabajadora ama casa enfermo enferma
  familiar hermano hermana tio tia abuelo abuela primo prima amigo amiga vecino vecina novio novia mujer marido
  colombiano colombiana venezolano venezolana extranjero extranjera mayor menor
  quien quienes cual como cuando donde porque pues bueno listo claro gracias hola buenas
  dice dijo pide pidio paga pago pague debe debo deben sabe esta dejo manda mando escribe llama llamo
  tambien otra otro mismo misma nuevo nueva viejo vieja`.split(/\s+/).filter(Boolean),
);

/** Triggers after which the next words are a name (folded text). */
const STRONG_NAME_TRIGGER = /\b(?:me\s+llamo|mi\s+nombre\s+es|nombre\s*:|a\s+nombre\s+de|de\s+parte\s+de|habla\s+con|le\s+habla|les\s+habla|le\s+escribe|les\s+escribe|titular\s+es|firma\s*:?)\s+/g;
const SOFT_NAME_TRIGGER = /\b(?:soy|mi\s+(?:mama|mami|madre|papa|papi|padre|esposo|esposa|marido|mujer|hijo|hija|hermano|hermana|tio|tia|abuelo|abuela|primo|prima|suegro|suegra|novio|novia|companero|companera|jefe|vecino|vecina|cunado|cunada|sobrino|sobrina|nieto|nieta|amigo|amiga))\s+/g;

/** Capitalized words that are not names: places, banks, payment networks, months, days. */
const COMMON_CAPITALIZED = new Set(
  `colombia bogota medellin cali barranquilla cartagena bucaramanga pereira manizales cucuta santa marta ibague villavicencio pasto
  bancolombia davivienda bbva nequi daviplata efecty baloto pse bancoomeva falabella colpatria scotiabank itau avvillas popular occidente
  bogota caja social banco tarjeta visa mastercard whatsapp telegram facebook instagram google dios senor virgen jesus
  enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre
  lunes martes miercoles jueves viernes sabado domingo navidad semana santa cedula cc nit sic datacredito cifin`.split(/\s+/).filter(Boolean),
);

const NUMBER_WORDS = new Set(
  `cero uno una un dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince dieciseis diecisiete dieciocho
  diecinueve veinte veintiun veintiuno veintidos veintitres veinticuatro veinticinco veintiseis veintisiete veintiocho veintinueve
  treinta cuarenta cincuenta sesenta setenta ochenta noventa cien ciento doscientos doscientas trescientos trescientas cuatrocientos
  cuatrocientas quinientos quinientas seiscientos seiscientas setecientos setecientas ochocientos ochocientas novecientos novecientas
  mil millon millones`.split(/\s+/).filter(Boolean),
);

/** A label that makes any number after it personal, however short ("termina en 4567"). */
const PERSONAL_LABEL =
  /\b(?:c\.?\s?c|cedula|cdla|documento|doc|identificacion|nuip|celular|cel|telefono|tel|movil|whatsapp|wpp|fijo|numero|nro|tarjeta|cuenta|cta|termina(?:da|do)?\s+en|pin|clave|contrasena|codigo|cus|referencia|ref)\b\.?\s*(?:(?:de|es|mi|el|la|del|en|no|numero|:|#)\b\.?\s*[:#]?\s*){0,4}$/;

/** Six digits or more, however grouped: anything that could be a cédula, a phone, a card or an account. */
const PERSONAL_DIGITS = /\+?\d(?:[\s.,'’_\-()*]{0,3}\d){5,}/g;

/** The same length replacement of a span in both the folded and the original text. */
interface Span {
  start: number;
  end: number;
  with: string;
}

function collect(folded: string, re: RegExp, replacement: string, spans: Span[], group?: (m: RegExpExecArray) => [number, number] | undefined): void {
  re.lastIndex = 0;
  for (let m = re.exec(folded); m !== null; m = re.exec(folded)) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    const range: [number, number] | undefined = group ? group(m) : [m.index, m.index + m[0].length];
    if (range && range[1] > range[0]) spans.push({ start: range[0], end: range[1], with: replacement });
  }
}

/** Whole words after `index` that look like a name, up to four. */
function nameAfter(folded: string, original: string, index: number, strong: boolean): [number, number] | undefined {
  const re = /[a-zñ]+/g;
  re.lastIndex = index;
  let start = -1;
  let end = -1;
  let count = 0;
  for (let m = re.exec(folded); m !== null && count < 4; m = re.exec(folded)) {
    // Only words right after each other (spaces between them, no punctuation).
    const gap = folded.slice(end < 0 ? index : end, m.index);
    if (!/^\s*$/.test(gap)) break;
    const word = m[0];
    const capitalized = /^[A-ZÁÉÍÓÚÑ][a-záéíóúñ]/.test(original.slice(m.index, m.index + word.length));
    if (NOT_A_NAME.has(word) || NUMBER_WORDS.has(word)) {
      // "me llamo la señora…": skip nothing; a common word ends the name.
      if (count === 0 && !strong) return undefined;
      if (count === 0 && strong && !capitalized) return undefined;
      if (!capitalized) break;
    }
    if (start < 0) start = m.index;
    end = m.index + word.length;
    count++;
    if (!strong && !capitalized && count >= 2) break;
  }
  return start < 0 ? undefined : [start, end];
}

function fold(text: string): string {
  return foldSameLength(text);
}

/**
 * The text as it may leave the process: names, addresses, e-mails and every number that
 * could be a cédula, a phone, a card or an account masked. Stronger than the logger's
 * masking, which keeps two digits.
 */
export function maskForExternal(text: string, options: MaskOptions = {}): string {
  const folded = fold(text);
  const spans: Span[] = [];

  collect(folded, EMAIL, '[correo]', spans);
  collect(folded, ADDRESS, '[direccion]', spans, (m) => (/\d/.test(m[0]) ? [m.index, m.index + m[0].length] : undefined));
  collect(folded, UNIT, '[direccion]', spans);
  collect(folded, PLACE, '[direccion]', spans);

  for (const name of options.names ?? []) {
    for (const part of fold(name).split(/[^a-zñ]+/)) {
      if (part.length < 3 || NOT_A_NAME.has(part)) continue;
      collect(folded, new RegExp(String.raw`\b${part}\b`, 'g'), '[nombre]', spans);
    }
  }
  STRONG_NAME_TRIGGER.lastIndex = 0;
  for (let m = STRONG_NAME_TRIGGER.exec(folded); m !== null; m = STRONG_NAME_TRIGGER.exec(folded)) {
    const r = nameAfter(folded, text, m.index + m[0].length, true);
    if (r) spans.push({ start: r[0], end: r[1], with: '[nombre]' });
  }
  SOFT_NAME_TRIGGER.lastIndex = 0;
  for (let m = SOFT_NAME_TRIGGER.exec(folded); m !== null; m = SOFT_NAME_TRIGGER.exec(folded)) {
    const r = nameAfter(folded, text, m.index + m[0].length, false);
    if (r) spans.push({ start: r[0], end: r[1], with: '[nombre]' });
  }
  // Proper names written with a capital inside a sentence (ALL-CAPS messages are left alone).
  if (text !== text.toUpperCase()) {
    const cap = /(?<=[a-záéíóúñ,;]\s+)[A-ZÁÉÍÓÚÑ][a-záéíóúñ]+(?!\p{L})/gu;
    for (let m = cap.exec(text); m !== null; m = cap.exec(text)) {
      const word = folded.slice(m.index, m.index + m[0].length);
      if (!COMMON_CAPITALIZED.has(word) && !NOT_A_NAME.has(word)) spans.push({ start: m.index, end: m.index + m[0].length, with: '[nombre]' });
    }
  }

  // Numbers in words: four or more number words in a row (digits may be mixed in).
  const runs = /(?:\b(?:[a-z]+|\d+)\b[\s,.\-]*)+/g;
  collect(folded, runs, '[numero]', spans, (m) => {
    const words = m[0].split(/[\s,.\-]+/).filter(Boolean);
    let count = 0;
    let first = -1;
    let last = -1;
    let offset = m.index;
    let best: [number, number] | undefined;
    let spelled = 0;
    for (const w of words) {
      const at = folded.indexOf(w, offset);
      offset = at + w.length;
      const isNumber = NUMBER_WORDS.has(w) || /^\d{1,4}$/.test(w);
      if (isNumber || (w === 'y' && count > 0)) {
        if (isNumber) {
          if (count === 0) {
            first = at;
            spelled = 0;
          }
          count++;
          if (NUMBER_WORDS.has(w)) spelled++;
          last = at + w.length;
          // Digits alone are the digit rule's; here at least one number is spelled out.
          if (count >= 4 && spelled > 0) best = [first, last];
        }
      } else {
        if (best) break;
        count = 0;
      }
    }
    return best;
  });

  // Any number right after a personal label, however short.
  const shortNumber = /\d(?:[\s.\-_]?\d)*/g;
  for (let m = shortNumber.exec(folded); m !== null; m = shortNumber.exec(folded)) {
    if (PERSONAL_LABEL.test(folded.slice(Math.max(0, m.index - 40), m.index))) {
      spans.push({ start: m.index, end: m.index + m[0].length, with: '#' });
    }
  }
  collect(folded, PERSONAL_DIGITS, '#', spans);

  return applySpans(text, spans);
}

/** Applies the spans, merging overlaps; '#' spans keep the number's shape. */
function applySpans(text: string, spans: Span[]): string {
  if (spans.length === 0) return text;
  // Word replacements win over digit masking where they overlap.
  const rank = (s: Span) => (s.with === '#' ? 1 : 0);
  spans.sort((a, b) => a.start - b.start || rank(a) - rank(b) || b.end - a.end);
  let out = '';
  let pos = 0;
  let i = 0;
  while (i < spans.length) {
    const s = spans[i]!;
    let end = s.end;
    let kind = s.with;
    let j = i + 1;
    while (j < spans.length && spans[j]!.start < end) {
      if (spans[j]!.end > end) end = spans[j]!.end;
      if (kind === '#' && spans[j]!.with !== '#') kind = spans[j]!.with;
      j++;
    }
    if (s.start < pos) {
      i = j;
      continue;
    }
    out += text.slice(pos, s.start);
    out += kind === '#' ? text.slice(s.start, end).replace(/\d/g, '#') : kind;
    pos = end;
    i = j;
  }
  return out + text.slice(pos);
}
