/**
 * Keyword rules: the last layer, used when the model is unsure and OpenAI is not
 * configured, is switched off, or failed. Deliberately few and conservative; the order
 * is the priority (a revocation outranks everything, a bare "no" comes last).
 */
import { chatWords } from './normalize.js';
import type { Intent } from './types.js';

export interface RuleMatch {
  intent: Intent;
  /** The rule's precision on the training corpus, discounted (see docs/nlu.md): a coarse probability. */
  confidence: number;
  rule: string;
}

interface Rule {
  name: string;
  intent: Intent;
  confidence: number;
  re: RegExp;
}

/** Matched against the normalized words joined by single spaces, with a space at both ends. */
const RULES: Rule[] = [
  {
    name: 'revocation',
    intent: 'no_contactar',
    confidence: 0.9,
    re: / no me (vuelvan a |sigan )?(escrib|llam|contact|molest|jod|fastidi)| no (les? )?(escriban|llamen|manden|envien|molesten|jodan|fastidien|contacten)| no quiero (que me (escrib|llam|contact)|recibir|mas mensajes)| autoriz| dejen de | paren de | borr\w* (mis|mi|todos mis) (datos|numero|informacion)| elimin\w* (mis|mi) | de baja | desuscrib| acos[oa]| acosa| denunci| habeas data| stop | no autoriz| revoc| quiten mi numero| saquen(me)? (de|mi numero)| no mas mensajes| basta de | unsubscrib| stop (texting|calling|messaging|sending)| do not (text|call|contact|message)| dont (text|call|contact|message)| remove my (number|data)| leave me alone/,
  },
  {
    name: 'human',
    intent: 'solicitar_asesor',
    confidence: 0.9,
    re: / asesor| agente| humano| persona real| una persona| supervisor| robot | bot | maquina| operador| servicio al cliente| alguien de verdad| manager| human| real person| talk to (someone|somebody)| speak (to|with) (someone|somebody)/,
  },
  {
    name: 'dispute',
    intent: 'disputa',
    confidence: 0.85,
    re: / ya (le |les )?pag(e|ue)| ya (la |lo )?cancel| paz y salvo| no es mi| no es mia| no son mi| no debo| no les? debo| prescri| suplant| fraude| estaf| soporte| comprobante| pruebas?| cobro indebido| de mas | equivoca| no reconozco| robaron (la|mi) (identidad|cedula)/,
  },
  {
    // "ese saldo está raro": a doubt about the amount, not yet a dispute: a low confidence, so the flow asks first.
    name: 'doubt',
    intent: 'disputa',
    confidence: 0.6,
    re: / (esta|estan|muy|como|algo|es) (rar[oa]s?|rarisim[oa]|extran[oa]s?)| no cuadra| sospechos/,
  },
  {
    name: 'hardship',
    intent: 'sin_capacidad_pago',
    confidence: 0.85,
    re: / no tengo (plata|dinero|como|con que|trabajo|empleo|ni |ingresos)| sin (trabajo|empleo|plata|un peso)| desemplead| enferm| hospitaliz| incapacit| no me alcanza| quebrad| pelad[oa]?| (otro|proximo) mes| mes que viene| cuando (me paguen|tenga|consiga|pueda)| no puedo pagar| ahorita no (puedo|tengo)/,
  },
  {
    name: 'refusal',
    intent: 'rechazo',
    confidence: 0.85,
    re: /^ no (quiero|acepto|me interesa|gracias|voy a (aceptar|negociar|pagar|firmar)|pienso|me sirve|me conviene|me parece|estoy interesad)| no (le |les )?(quiero|pienso|voy a) (pagar|dar)| no (le |les )?(pago|doy) (nada|ni)| ni (un|mi) peso/,
  },
  {
    name: 'plan',
    intent: 'solicitud_plan',
    confidence: 0.65,
    re: / cuotas?| plazo| descuento| rebaj| refinanc| acuerdo de pago| plan(es)? de pago| difer| negoci| intereses| por partes| xnum (mil|lucas?|palos?|millones)| mensual/,
  },
  {
    name: 'payment',
    intent: 'intencion_pago',
    confidence: 0.65,
    re: / pagar| pago | consign| transfer| link| pse | efecty| baloto| nequi| daviplata| numero de cuenta| ponerme al dia| cancelar (la|todo|lo)/,
  },
  {
    name: 'debt-question',
    intent: 'consulta_deuda',
    confidence: 0.65,
    re: / cuanto (debo|es|le debo)| saldo| que debo| deuda| por que me (escrib|llam|contact)| quien (me )?cobra| de que (es|banco|entidad|se trata)| estado de cuenta/,
  },
  {
    name: 'identification',
    intent: 'identificacion',
    confidence: 0.9,
    re: / cedula| documento| identific/,
  },
  {
    name: 'farewell',
    intent: 'despedida',
    confidence: 0.85,
    re: / chao| adios| hasta (luego|pronto|manana)| bendicion| gracias /,
  },
  {
    name: 'greeting',
    intent: 'saludo',
    confidence: 0.85,
    re: /^ (hola|holi|buen|buenas|buenos|que mas|quiubo|que hubo|alo|saludos)/,
  },
  {
    name: 'yes',
    intent: 'confirmacion',
    confidence: 0.85,
    re: /^ (si|ok|dale|listo|de una|hagale|acepto|claro|perfecto|de acuerdo|vale|correcto|xemojisi|yes|yeah|yep|sure|deal|agreed)( |$)/,
  },
  {
    name: 'no',
    intent: 'rechazo',
    confidence: 0.7,
    // A bare no, maybe with courtesy words; "no hay plata…" or "no hay condonación…" say more.
    re: /^ (no|ni loc[oa]|paso|mejor no|ninguna|jamas|nunca|xemojino|nope|no way)( (no|gracias|muchas|senor|senora|senorita|mijo|mija|parce|que pena|q pena|thanks|thank you|por ahora|todavia|mejor))* $/,
  },
];

/** The first rule that matches the message, or null. */
export function applyRules(text: string): RuleMatch | null {
  const words = chatWords(text);
  if (words.length === 0) return null;
  const joined = ` ${words.join(' ')} `;
  for (const rule of RULES) {
    if (rule.re.test(joined)) return { intent: rule.intent, confidence: rule.confidence, rule: rule.name };
  }
  return null;
}

export const RULE_NAMES: readonly string[] = RULES.map((r) => r.name);
