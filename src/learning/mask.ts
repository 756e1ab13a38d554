/**
 * Personal data out of a debtor's words before a supervisor reads them in the review
 * inbox or they leave in a fine-tuning export: e-mail addresses, phone numbers, cédulas,
 * amounts of money, links, agreement references and the debtor's own names become placeholders.
 */

const URL_ = /\bhttps?:\/\/\S+/gi;
/** An agreement's reference ("AC-7KQ2M9") or a paz y salvo's code. */
const REFERENCE = /\b(?:AC|PS)-[A-Z0-9]{4,}\b/g;
const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.[\p{L}]{2,}/gu;
/** A Colombian mobile (3xx xxx xxxx), with or without +57 and separators. */
const PHONE = /(?:\+?57[\s.-]?)?\b3\d{2}[\s.-]?\d{3}[\s.-]?\d{4}\b/g;
/** Money: "$120.000", "120.000 pesos", "1,5 millones", "200 mil", "2 palos", "50 lucas". */
const MONEY =
  /\$\s?\d[\d.,' ]*\d|\$\s?\d|\b\d[\d.,']*\s?(?:pesos|cop|mil(?:lones?)?|millon(?:es)?|palos?|lucas?|k)\b|\b\d{1,3}(?:[.,']\d{3})+\b/giu;
/** What is left of 4 or more digits: a cédula, an account, a reference, the last digits of a phone. */
const LONG_DIGITS = /\b\d(?:[\s.-]?\d){3,}\b/g;

export interface MaskOptions {
  /** The debtor's names (from the portfolio); each word of 3+ letters is replaced. */
  names?: readonly string[];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The text with personal data replaced by [correo], [telefono], [monto], [numero] and [nombre]. */
export function maskPersonalData(text: string, options: MaskOptions = {}): string {
  let out = text
    .replace(URL_, '[enlace]')
    .replace(REFERENCE, '[referencia]')
    .replace(EMAIL, '[correo]').replace(PHONE, '[telefono]').replace(MONEY, '[monto]').replace(LONG_DIGITS, '[numero]');
  const words = new Set<string>();
  for (const name of options.names ?? []) {
    for (const w of name.split(/[^\p{L}]+/u)) if (w.length >= 3) words.add(w.toLowerCase());
  }
  if (words.size) {
    const pattern = new RegExp(`(?<![\\p{L}])(?:${[...words].map(escapeRegExp).join('|')})(?![\\p{L}])`, 'giu');
    out = out.replace(pattern, '[nombre]');
  }
  return out;
}

/** Whether masked text has anything left to learn from (not just placeholders, digits and punctuation). */
export function hasWords(masked: string): boolean {
  return /\p{L}{2,}/u.test(masked.replace(/\[(?:correo|telefono|monto|numero|nombre|enlace|referencia)\]/g, ''));
}
