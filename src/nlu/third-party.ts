/**
 * Someone writing for another person ("soy la esposa de Carlos", "le escribo por mi
 * hijo", "el que debe es mi papá"). Ley 2300 de 2023 art. 4: a debt is never revealed
 * to a third party, whatever they know (a cédula is printed on every contract), so the
 * engine treats such a conversation as a third party's for good.
 *
 * Rules, not the intent model: the statement must be caught in any state, next to any
 * other intent ("soy la mamá de Juan, cuánto debe?" is also a consulta_deuda), and a
 * false negative is a legal breach while a false positive costs the debtor one
 * "escríbanos usted mismo". The phrases need a relation word AND a construction that
 * says the writer is not the debtor, so "mi hijo se enfermó y no pude pagar" or
 * "soy mamá soltera" (a debtor explaining) do not count.
 */

/** Relatives and other people who write for a debtor, folded (no accents), with common typos. */
const RELATIONS = [
  'esposo', 'esposa', 'espos', 'esposito', 'esposita', 'marido', 'mujer', 'conyuge', 'compañero', 'companero', 'compañera', 'companera',
  'pareja', 'novio', 'novia', 'mama', 'mami', 'mamita', 'madre', 'papa', 'papi', 'papito', 'padre', 'padrastro', 'madrastra',
  'hijo', 'hija', 'hijos', 'hijas', 'hijastro', 'hijastra', 'hermano', 'hermana', 'hermanos', 'hermanas', 'hno', 'hna',
  'tio', 'tia', 'primo', 'prima', 'abuelo', 'abuela', 'abuelito', 'abuelita', 'nieto', 'nieta', 'sobrino', 'sobrina',
  'cuñado', 'cunado', 'cuñada', 'cunada', 'suegro', 'suegra', 'yerno', 'nuera', 'amigo', 'amiga', 'vecino', 'vecina',
  'jefe', 'jefa', 'empleado', 'empleada', 'patron', 'patrona', 'familiar', 'pariente', 'abogado', 'abogada', 'apoderado',
  'apoderada', 'representante', 'secretaria', 'hermanito', 'hermanita', 'viejo', 'vieja', 'cucho', 'cucha',
].map(fold);

const REL = `(${[...new Set(RELATIONS)].sort((a, b) => b.length - a.length).join('|')})`;
/** The same without the parents: "soy madre de dos niños" is a debtor speaking. */
const REL_NOT_PARENT = `(${[...new Set(RELATIONS)]
  .filter((r) => !['madre', 'padre', 'mama', 'papa', 'mami', 'papi'].includes(r))
  .sort((a, b) => b.length - a.length)
  .join('|')})`;
/** "mi", "su", "la", "el"… before the relation. */
const DET = '(?:mi|mis|su|sus|el|la|los|las|un|una)';
const SOY = 'so[yi]';
const VERB_WRITE =
  '(?:escribo|escribimos|escribe|hablo|hablamos|pregunto|preguntamos|consulto|averiguo|llamo|contacto|vengo|comunico|estoy escribiendo|estoy preguntando|estoy averiguando|estoy consultando|estoy llamando|quiero preguntar|quiero saber|quisiera saber|necesito saber|queria saber|quiero averiguar|necesito averiguar)';
/** Words that name a debt (not "la plata" or "la cuenta", which a debtor's relatives may just hold). */
const DEBT_WORD = '(?:deuda|deudas|obligacion|obligaciones|credito|creditos|prestamo|prestamos|mora|tarjeta de credito|saldo pendiente)';
/** What may follow "mi papá debe" when it means money ("debe plata", "debe una cuota"), not "debe ir". */
const OWES_NEXT = '(?= (?:a ustedes|al banco|con ustedes|una|un|unos|unas|plata|dinero|la|el|esa|ese|eso|mucho|poco|ahi|todavia|aun|\\d)\\b|\\s*[.?!]|$)';

const PATTERNS: { re: RegExp; relation: number }[] = [
  // "soy la esposa de carlos", "soy su mamá", "soy el hermano", "yo soy la hija del señor"
  { re: new RegExp(`\\b${SOY} (?:el|la|su) ${REL}\\b`), relation: 1 },
  // "soy hermano de carlos", "soy una amiga de él" (not "soy madre de dos niños", "soy una mujer cabeza de hogar")
  { re: new RegExp(`\\b${SOY} (?:un |una )?${REL_NOT_PARENT} (?:de|del)\\b`), relation: 1 },
  // "le escribo por mi hijo", "pregunto por la deuda de mi mamá", "escribo de parte de mi esposo"
  { re: new RegExp(`\\b${VERB_WRITE}\\b[^.?!]{0,30}?\\b(?:por|de parte de|en nombre de) ${DET} ${REL}\\b`), relation: 1 },
  // "de parte de mi esposo", "en nombre de mi mamá", "por parte de mi papá"
  { re: new RegExp(`\\b(?:de parte|por parte|en nombre|en representacion) de ${DET} ${REL}\\b`), relation: 1 },
  // "de parte de carlos", "en nombre del señor fajardo" (not "¿de parte de quién?")
  { re: /\b(?:de parte|por parte|en nombre|en representacion) (?:de|del)\b(?! (?:quien|quienes|que|ustedes|cual|la empresa|su empresa|el banco|que banco|que entidad)\b)/, relation: -1 },
  // "no soy yo, es mi hermano", "no soy yo el que debe, es mi papá"
  { re: new RegExp(`\\bno so[yi] yo\\b[^.?!]{0,25}?\\bes ${DET} ${REL}\\b`), relation: 1 },
  { re: /\b(?:escribo|hablo|pregunto|consulto) a nombre de\b/, relation: -1 },
  // "el que debe es mi papá", "la que debe es mi hija", "quien debe es mi esposo"
  { re: new RegExp(`\\b(?:el|la) que (?:debe|esta debiendo|tiene la deuda|tiene el credito|saco el credito)\\b[^.?!]{0,20}?\\b${DET} ${REL}\\b`), relation: 1 },
  { re: new RegExp(`\\bquien debe\\b[^.?!]{0,20}?\\b${DET} ${REL}\\b`), relation: 1 },
  // "mi mamá tiene una deuda", "mi esposo tiene un crédito con ustedes", "mi hijo está reportado"
  { re: new RegExp(`\\b(?:mi|mis|su) ${REL}\\b[^.?!]{0,25}?\\b(?:tiene|tenia|tienen|saco|sacaron|debe|deben)\\b[^.?!]{0,25}?\\b${DEBT_WORD}\\b`), relation: 1 },
  { re: new RegExp(`\\b(?:mi|mis|su) ${REL} (?:esta|estan|quedo) (?:en mora|reportad[oa]s?|atrasad[oa]s?)\\b`), relation: 1 },
  // "mi hijo debe", "mi papá le debe al banco", "mi esposa debe plata" (not "mi hijo debe ir al médico")
  { re: new RegExp(`\\b(?:mi|mis|su) ${REL} (?:le |les )?(?:debe|deben|esta debiendo|quedo debiendo)${OWES_NEXT}`), relation: 1 },
  // "la deuda de mi esposo", "cuánto debe mi mamá", "lo que debe mi hijo", "el crédito de mi papá"
  { re: new RegExp(`\\b${DEBT_WORD} (?:de|del|a nombre de) ${DET} ${REL}\\b`), relation: 1 },
  { re: new RegExp(`\\b(?:cuanto|que|lo que) (?:debe|le debe|esta debiendo|tiene que pagar|adeuda) ${DET} ${REL}\\b`), relation: 1 },
  // "la deuda es de mi hijo", "el crédito está a nombre de mi mamá", "la tarjeta es de mi hija"
  { re: new RegExp(`\\b(?:${DEBT_WORD.slice(3, -1)}|tarjeta|cuenta) (?:es|esta|era|estaba|quedo) (?:de|a nombre de) ${DET} ${REL}\\b`), relation: 1 },
  // "es de mi esposo la deuda"
  { re: new RegExp(`\\bes de ${DET} ${REL}\\b[^.?!]{0,15}?\\b${DEBT_WORD}\\b`), relation: 1 },
  // "por la cuenta de mi esposa", "la tarjeta de mi hija" (not "pago desde la cuenta de mi esposo")
  { re: new RegExp(`(?<!(?:desde|con|en|a) )\\b(?:la|el) (?:cuenta|tarjeta) de ${DET} ${REL}\\b`), relation: 1 },
  // "el titular es mi esposo", "la titular es mi mamá"
  { re: new RegExp(`\\b(?:el|la) (?:titular|deudor|deudora) es ${DET} ${REL}\\b`), relation: 1 },
  // "mi esposo me pidió que les escribiera", "mi papá está enfermo y me pidió averiguar"
  { re: new RegExp(`\\b(?:mi|su) ${REL}\\b[^.?!]{0,40}?\\bme (?:pidio|dijo|encargo|mando) (?:que )?(?:le |les )?(?:escrib|pregunt|averigu|consult|llam|hablar|contact)`), relation: 1 },
  // "no soy el titular", "no soy la deudora", "yo no soy el que debe"
  { re: /\bno so[yi] (?:yo )?(?:el|la) (?:titular|deudor|deudora|que debe|dueno|duena|persona que debe)\b/, relation: -1 },
  // "es para mi mamá que no sabe usar el celular"
  { re: new RegExp(`\\b(?:es|pregunto|consulto) para ${DET} ${REL}\\b`), relation: 1 },
];

/** Lowercase, no accents (ñ kept as n), punctuation as spaces. */
function fold(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}.?!]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** What a third party said they are: the relation ("esposa") when they named one, else "tercero". */
export interface ThirdPartyStatement {
  relation: string;
}

/** Whether the text says the writer is someone other than the debtor. */
export function detectThirdParty(text: string | undefined): ThirdPartyStatement | undefined {
  if (!text) return undefined;
  const folded = fold(text);
  if (!folded) return undefined;
  for (const { re, relation } of PATTERNS) {
    const m = re.exec(folded);
    if (m) return { relation: relation > 0 ? (m[relation] ?? 'tercero') : 'tercero' };
  }
  return undefined;
}
