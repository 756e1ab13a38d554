/**
 * What a message says beyond its intent, read from its words: an explicit yes, a
 * condition attached to a yes, a question the flow answers without moving, a message in
 * English or made only of emojis, "ya pagué", "no debo eso", a request about an
 * agreement. The flow reads them as turn variables (docs/flows.md, "Signals").
 *
 * Irreversible effects hang on these: an agreement only on `si_claro`, an opt-out only on
 * the compliance module's detector (`pide_baja`), never on a low-confidence guess. So each
 * detector errs on the side of "not sure": the flow then asks.
 */
import { detectComplianceRequests } from '../compliance/index.js';
import type { NluResult } from '../nlu/index.js';

/** The questions the flow answers wherever the conversation is, then resumes. */
export const QUESTIONS = ['como_pagar', 'referencia', 'paz_y_salvo', 'centrales', 'si_no_pago', 'horario', 'quien_escribe', 'fecha'] as const;
export type Question = (typeof QUESTIONS)[number];

export interface Signals {
  /** Ley 2300 art. 2: the message revokes this channel (the compliance module's detector). */
  pide_baja: boolean;
  /** Ley 1581: the message asks to delete or see personal data. */
  pide_borrar_datos: boolean;
  /** An unconditional yes: nothing but agreement words, no condition, figure, date or question. */
  si_claro: boolean;
  /** A reply that attaches a condition ("sí pero…", "listo si me quitan los intereses"). */
  con_condicion: boolean;
  /** The message asks something (a question mark or a question word first). */
  es_pregunta: boolean;
  /** Which question the flow can answer, if any. */
  pregunta?: Question;
  /** Written in English. */
  en_ingles: boolean;
  /** Only emojis or symbols, no words. */
  solo_emojis: boolean;
  /** Laughter, eye-rolls, "sí claro, cómo no": never read as agreement. */
  sarcasmo: boolean;
  /** The debtor says the debt is already paid. */
  ya_pague: boolean;
  /** The debtor does not recognize the debt. */
  no_reconoce: boolean;
  /** The debtor asks to change their agreement. */
  cambiar_acuerdo: boolean;
  /** The debtor asks to cancel (annul) their agreement. */
  cancelar_acuerdo: boolean;
}

/** Lowercase, no accents; punctuation kept apart so "?" can still be seen. */
function fold(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** Words only. */
function words(folded: string): string[] {
  return folded
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()
    .split(' ')
    .filter(Boolean);
}

function squeeze(word: string): string {
  return word.replace(/(\p{L})\1+/gu, '$1');
}

const AGREE = new Set(
  [
    'si', 'sisas', 'sip', 'claro', 'listo', 'listos', 'dale', 'ok', 'oki', 'okis', 'okey', 'okay', 'va', 'vale', 'confirmo', 'confirmado',
    'confirmamos', 'acepto', 'aceptado', 'aceptamos', 'acuerdo', 'perfecto', 'bueno', 'correcto', 'hagamosle', 'hagale', 'hagamoslo',
    'hagalo', 'supuesto', 'exacto', 'sirve', 'hecho', 'trato', 'adelante', 'super', 'genial', 'excelente', 'bien', 'registrelo',
    'confirmelo', 'confirmalo', 'vamos', 'deuna', 'dele', 'hagamosle', 'cancelelo', 'cancelalo', 'cancelenlo', 'anulelo', 'anulalo',
  ].map(squeeze),
);
/** Words that may sit around a yes without changing it. */
const FILLER = new Set(
  [
    'de', 'el', 'la', 'lo', 'los', 'las', 'me', 'esta', 'asi', 'por', 'favor', 'porfa', 'porfavor', 'gracias', 'muchas', 'senor', 'senora',
    'senorita', 'ya', 'eso', 'todo', 'plan', 'ese', 'esa', 'este', 'queda', 'quiero', 'que', 'una', 'con', 'gusto', 'entonces', 'pues', 'mijo',
    'mija', 'amiga', 'amigo', 'parece', 'y', 'a', 'en', 'mi', 'le', 'se', 'nos', 'bn', 'hay', 'problema', 'tambien', 'igual', 'estoy',
    'seria', 'sera', 'quedamos', 'asi', 'tal', 'cual', 'acuerdo', 'confirme', 'registre', 'registremos', 'hagamos', 'hoy', 'mismo',
  ].map(squeeze),
);

const CONDITION = [
  /\bpero\b/,
  /\bsiempre (?:y )?(?:que|cuando)\b/,
  /\bcon tal\b/,
  /\bsolo si\b/,
  /\bsolamente si\b/,
  /\ba cambio\b/,
  /\bcondicion/,
  /\bmientras\b/,
  /\baunque\b/,
  /\bsi (?:me|nos|ustedes|el banco|la entidad)\s+\w+(?:an|en)\b/,
  /\b(?:sin|quiten|quitan|quitar|quitarme|rebaj\w*|condon\w*|perdon\w*)\s+(?:los |el |la |lo )?(?:interes|intereses|mora|recargo|descuento)/,
  /\binteres(?:es)?\b/,
  /\bdescuento\b/,
  /\bmejor (?:en|a|de|el|la|para)\b/,
];

const SARCASM = [/\bja(?:ja)+\b/, /\bje(?:je)+\b/, /\bcomo no\b/, /\baja\b/, /[🙄😒🤣😂🤡😏]/u, /\bsi claro\b.*\b(?:como no|ahorita|ya mismo)\b/, /\bni loco\b/];

const QUESTION_START = /^(?:y\s+)?(?:como|cual|cuales|cuando|donde|adonde|que|quien|quienes|cuanto|cuanta|cuantos|por que|para que|a que|de que|en que|con quien|de donde|puedo|me pueden|hay|tienen|es|sera)\b/;

const QUESTION_PATTERNS: [Question, RegExp][] = [
  ['centrales', /\b(?:datacredito|data credito|datacred|cifin|transunion|experian|centrales? de riesgo|central de riesgo|reportad[oa]s?|reporte negativo|me reportaron|(?:me|lo|la) (?:van a |vana )?report(?:ar|an|en|aron)|historial crediticio|vida crediticia|score|puntaje)\b/],
  ['si_no_pago', /\b(?:que pasa|que me pasa|que sucede|que hacen|que me hacen)\b.{0,20}\bsi no (?:pago|puedo pagar|cancelo|les pago|le pago)\b/],
  ['paz_y_salvo', /\b(?:paz (?:y|i|e) salvo|pazysalvo|paz salvo|pas y salvo|paz y zalvo|certificado de (?:pago|deuda|cancelacion)|carta de (?:saldo|cancelacion))\b/],
  ['referencia', /\b(?:referencia|ref|numero de convenio|convenio|codigo de pago|que numero (?:pongo|uso|doy|coloco))\b/],
  [
    'como_pagar',
    /\b(?:como|donde|adonde|por donde|en donde|en que|que medios|que formas?|a que cuenta|que cuenta|por cual)\b.{0,40}\b(?:pag\w*|consign\w*|deposit\w*|transfer\w*|abon\w*)\b|\b(?:medios?|formas?|metodos?|canales?|puntos?) de pago\b|\b(?:aceptan|reciben|sirve|puedo pagar (?:por|con|en))\b.{0,20}\b(?:nequi|daviplata|pse|efecty|baloto|tarjeta|corresponsal|bancolombia)\b|\b(?:numero de cuenta|link de pago|enlace de pago)\b/,
  ],
  ['horario', /\b(?:horario|horarios|a que horas?|hasta que horas?|desde que horas?|horas? de atencion|que dias atienden|atienden (?:los )?(?:sabados?|domingos?|festivos?)|trabajan (?:los )?(?:sabados?|domingos?))\b/],
  [
    'quien_escribe',
    /\b(?:quien (?:es|habla|me escribe|escribe|son|me esta escribiendo)|quienes son|de parte de quien|de donde (?:me )?(?:escriben|son|llaman)|que empresa|con quien hablo|es (?:una )?estafa|esto es real|son de (?:verdad|que empresa)|para quien trabajan|a nombre de quien|de que entidad)\b/,
  ],
];

/** "si pago hoy…?": a hypothetical about a date, not a request to move it. */
const DATE_QUESTION = /^(?:y\s+)?(?:si|que pasa si|y si)\s+(?:le |les )?(?:pago|pagara|pagase|consigno|abono|cancelo)\b/;

const ENGLISH = new Set(
  'what is this about the you your are who why how please stop hello hi hey want dont don\'t not i my me pay paid debt speak english do does can could would this that which where when thanks thank yes no sorry message messages call'.split(' '),
);
const SPANISH_HINTS = /\b(?:que|de|el|la|los|las|por|para|con|quiero|pago|pague|deuda|cuota|cuotas|si|no me|usted|ustedes|es|esto|mas|hola|buenas|gracias|como|cuando|donde)\b/;

const PAID = /\b(?:ya (?:le |les |lo |la )?(?:pague|cancele|pagamos|cancelamos|consigne|consignamos|transferi|abone|hice el pago|realice el pago|pagué)|yo ya (?:pague|cancele)|(?:eso|esa deuda|la deuda|esa obligacion) ya (?:esta|quedo|la) (?:pag\w*|cancelad\w*|paga)|ya (?:esta|quedo) (?:pag\w*|cancelad\w*)|ya (?:me )?(?:puse|me puse) al dia|ya tengo paz y salvo|ya la (?:pague|cancele))\b/;
const NOT_MINE = /\b(?:no (?:le |les )?debo (?:nada|eso|esa|ese|eso a|ningun)|no (?:le |les )?debo\b(?! (?:tanto|todo))|(?:eso|esa deuda|esa obligacion|ese credito) no es (?:mio|mia)|no es mi deuda|no reconozco|nunca (?:he )?(?:saque|tuve|pedi|solicite|tome)|no tengo (?:ninguna )?(?:deuda|obligacion|credito)|yo no (?:saque|pedi|tengo) (?:ese|esa|ningun|credito|deuda)|suplantacion|me suplantaron|robo de identidad|no conozco (?:esa|ese) (?:entidad|banco|deuda))\b/;
const CHANGE_AGREEMENT = /\b(?:cambiar|modificar|mover|ajustar|reprogramar|cambio|cambie|cambien|modifiquen|modifique)\b.{0,30}\b(?:acuerdo|plan|cuotas?|fecha|compromiso)\b|\b(?:otro acuerdo|nuevo acuerdo|refinanciar|renegociar|reestructurar)\b/;
const CANCEL_AGREEMENT = /\b(?:cancelar|anular|deshacer|quitar|borrar|eliminar|echar para atras|reversar)\b.{0,20}\b(?:el |mi |ese |este )?(?:acuerdo|compromiso|plan)\b|\bya no quiero (?:el |ese |mi )?(?:acuerdo|compromiso)\b|\b(?:acuerdo|compromiso) (?:cancelado|anulado)\b/;

/** Reads the signals of one message. `nlu` may be absent (a button, media). */
export function readSignals(text: string | undefined, nlu?: NluResult): Signals {
  const raw = text ?? '';
  const requests = detectComplianceRequests(raw);
  const folded = fold(raw).trim();
  const ws = words(folded);
  const hasLetters = /[\p{L}\p{N}]/u.test(raw);
  const solo_emojis = raw.trim().length > 0 && !hasLetters;
  const joined = ws.join(' ');
  const es_pregunta = raw.includes('?') || raw.includes('¿') || QUESTION_START.test(joined);
  const sarcasmo = SARCASM.some((p) => p.test(folded)) || SARCASM.some((p) => p.test(joined));
  const con_condicion = CONDITION.some((p) => p.test(joined));
  const entities = nlu?.entities ?? {};
  const hasFigures = entities.amount !== undefined || entities.installments !== undefined || entities.date !== undefined;
  // Repeated letters squeezed only to recognise a yes ("siii", "okkk"); "perro" must stay a dog, not a "pero".
  // "de una" (right away) and "de one" are a yes in Colombia: read as one word.
  const squeezed = joined.replace(/\bde (?:una|one)\b/g, 'deuna').split(' ').filter(Boolean).map(squeeze);
  const onlyAgreement =
    squeezed.length > 0 && squeezed.length <= 12 && squeezed.every((w) => AGREE.has(w) || FILLER.has(w)) && squeezed.some((w) => AGREE.has(w));
  const si_claro = onlyAgreement && !con_condicion && !hasFigures && !es_pregunta && !sarcasmo && !/\bno\b/.test(joined);

  let pregunta: Question | undefined;
  for (const [name, re] of QUESTION_PATTERNS) {
    if (!re.test(joined)) continue;
    // "la referencia es AC-…" answers nothing; a mention of the bureaus or the paz y salvo is a question whatever the form.
    if ((name === 'referencia' || name === 'horario') && !es_pregunta && !/\b(?:cual|que|cuales|dame|deme|me da|me das|necesito|no tengo|olvide|perdi)\b/.test(joined)) continue;
    pregunta = name;
    break;
  }
  if (!pregunta && DATE_QUESTION.test(joined) && (es_pregunta || entities.date !== undefined)) pregunta = 'fecha';

  const englishWords = ws.filter((w) => ENGLISH.has(w)).length;
  const en_ingles = !requests.size && ws.length > 0 && englishWords >= Math.max(2, Math.ceil(ws.length * 0.6)) && !SPANISH_HINTS.test(joined);

  return {
    pide_baja: requests.has('no_contactar'),
    pide_borrar_datos: requests.has('borrar_datos'),
    si_claro,
    con_condicion,
    es_pregunta,
    pregunta,
    en_ingles,
    solo_emojis,
    sarcasmo,
    ya_pague: PAID.test(joined),
    no_reconoce: NOT_MINE.test(joined),
    cambiar_acuerdo: CHANGE_AGREEMENT.test(joined),
    cancelar_acuerdo: CANCEL_AGREEMENT.test(joined),
  };
}

/** The signals as turn variables (false and undefined left out, so `if: pregunta` reads naturally). */
export function signalVariables(s: Signals): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) if (v !== false && v !== undefined) out[k] = v;
  return out;
}
