/**
 * Which messages are a general question the agency's documents may answer. A debtor
 * negotiating writes questions too ("¿y en cuántas cuotas?"), and those belong to the
 * flow; so a message is a document question only when it asks (a question mark, a
 * question word first, or "quisiera saber…"), carries no figure, cédula or date, is not
 * about the debtor's own debt, and the intent model is not sure it is a negotiation move.
 * Questions about credit reports or legal outcomes are set apart: the documents never
 * answer them, and nothing is promised. Measured on test/fixtures/knowledge/detector.tsv.
 */

export type QuestionKind =
  /** A general question: the documents answer it (or honestly say they cannot). */
  | 'general'
  /** The debtor's own debt, figures or agreement: the flow answers from the portfolio. */
  | 'own_debt'
  /** Credit reports or legal outcomes: a fixed, promise-free answer. */
  | 'sensitive'
  /** Not a question for the documents. */
  | 'none';

export interface DetectorInput {
  text: string;
  intent?: string;
  confidence?: number;
  entities?: { cedula?: string; amount?: number; installments?: number; date?: string };
}

function fold(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}?¿]+/gu, ' ')
    .trim();
}

const QUESTION_WORD_FIRST =
  /^(?:y |oiga |disculpe |buenas |buenos dias |buenas tardes |hola )*(?:como|cual|cuales|cuando|donde|adonde|que|quien|quienes|cuanto|cuanta|cuantos|cuantas|por que|para que|a que|de que|en que|hasta que|desde que|con quien|puedo|pueden|se puede|me pueden|hay|tienen|atienden|abren)\b/;
const ASKS = /\b(?:quisiera saber|quiero saber|necesito saber|me (?:puede|podria|pueden|podrian) (?:decir|explicar|informar|indicar|contar)|me (?:dice|explica|informa|indica)|que significa|que quiere decir|informacion (?:sobre|de|del)|me gustaria saber)\b/;

/** What a general question is about: places, times, paperwork, words of the trade. */
const GENERAL_TOPIC =
  /\b(?:significa|quiere decir|que es (?:un|una|el|la|lo)?|direccion|oficina|oficinas|sede|queda|ubicad\w*|punto|puntos|horario|horarios|hora|horas|abren|cierran|atienden|sabados?|domingos?|festivos?|certificad\w*|constancia|paz y salvo|documentos?|requisitos?|papeles|tramite|correo|telefono|linea|whatsapp|pagina|web|corresponsal\w*|efecty|baloto|nequi|daviplata|pse|bancolombia|davivienda|castigad\w*|mora|moroso|cartera|obligacion(?:es)? castigad\w*|intereses? de mora|cobro prejuridico|prejuridico|juridico|novacion|reestructuracion|refinanciacion|datos personales|habeas data|peticion|queja|reclamo|pqr\w*|radicar|soporte|comprobante|recibo|consignacion)\b/;

/** The debtor's own figures or agreement: the portfolio answers those, not a document. */
const OWN_DEBT =
  /\b(?:cuanto (?:debo|le debo|les debo|es lo que debo|me falta|queda|me queda|tengo que pagar|pago|pagaria|seria|es la cuota|es el saldo|me sale|me cobran|me descuentan)|(?:mi|mis) (?:saldo|saldos|cuota|cuotas|deuda|deudas|acuerdo|plan|descuento|intereses)|(?:el|la) (?:saldo|deuda) (?:mia|mio|que tengo)|cuantas cuotas|que descuento|me hacen (?:un |algun )?descuento|puedo pagar en \d|en cuantas cuotas|cuando vence (?:mi|la) cuota|que opciones tengo|que planes)\b/;

/** Credit reports and legal outcomes: never promised, never answered from a document. */
const SENSITIVE =
  /\b(?:datacredito|data credito|cifin|transunion|experian|centrales? de riesgo|reportad[oa]s?|reporte negativo|(?:me|lo|la|los|nos) (?:van a |pueden |vana )?report\w*|report(?:an|aron|ar) (?:a|en) (?:datacredito|centrales)|historial crediticio|score|embarg\w*|demanda\w*|demandar|juzgado|juez|carcel|preso|policia|prescri\w*|caduc\w*|me (?:van|pueden) a (?:quitar|embargar|demandar|meter))\b/;

/** Intents that are a negotiation move when the model is sure. */
const NEGOTIATION_INTENTS = new Set(['identificacion', 'intencion_pago', 'solicitud_plan', 'confirmacion', 'rechazo', 'sin_capacidad_pago', 'disputa', 'solicitar_asesor', 'no_contactar', 'despedida']);

/** How sure the intent model must be for its negotiation intent to overrule a general-looking question. */
export const INTENT_VETO_CONFIDENCE = 0.85;

/** Classifies one message. */
export function classifyQuestion(input: DetectorInput): QuestionKind {
  const raw = input.text ?? '';
  const folded = fold(raw);
  if (!folded) return 'none';
  const words = folded.replace(/[?¿]/g, ' ').trim();
  const asks = raw.includes('?') || raw.includes('¿') || QUESTION_WORD_FIRST.test(words) || ASKS.test(words);
  if (!asks) return 'none';
  const e = input.entities ?? {};
  if (e.cedula !== undefined || e.amount !== undefined || e.installments !== undefined) return 'none';
  if (SENSITIVE.test(words)) return 'sensitive';
  const topic = GENERAL_TOPIC.test(words);
  const definition = /\b(?:que significa|que quiere decir|significado)\b/.test(words);
  if (OWN_DEBT.test(words) && !definition) return 'own_debt';
  if (e.date !== undefined && !topic) return 'none';
  if (!topic && input.intent && NEGOTIATION_INTENTS.has(input.intent) && (input.confidence ?? 0) >= INTENT_VETO_CONFIDENCE) return 'none';
  // A bare "¿sí?" or "¿cómo?" asks nothing the documents could hold.
  if (words.split(' ').length < 2) return 'none';
  return 'general';
}
