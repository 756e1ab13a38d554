/**
 * A small, deterministic Understander for engine tests: intents by keywords, entities
 * by the real extractor. Engine tests check the engine, not the model; flow tests use
 * the real understander (see nlu.ts).
 */
import { foldText } from '../../../src/flows/format.js';
import { extractEntities } from '../../../src/nlu/entities.js';
import type { Intent, NluResult, Understander, UnderstandOptions } from '../../../src/nlu/types.js';

const RULES: [Intent, RegExp][] = [
  ['no_contactar', /\b(no me (escriban|contacten|llamen)|stop|baja)\b/],
  ['solicitar_asesor', /\b(asesor|humano|persona|agente)\b/],
  ['despedida', /\b(chao|adios|hasta luego|bye)\b/],
  ['disputa', /\b(no reconozco|no debo|ya pague|no es mia|fraude|error)\b/],
  ['sin_capacidad_pago', /\b(no tengo (plata|dinero|como)|no me alcanza|desempleado|sin trabajo|no puedo pagar)\b/],
  ['rechazo', /^(no|nop|no gracias|no me interesa|ninguna)\b/],
  ['confirmacion', /^(si|sii|listo|dale|de una|hagale|ok|confirmo|claro|perfecto|me sirve)\b/],
  ['solicitud_plan', /\b(cuotas|plan|opciones|financiar)\b/],
  ['intencion_pago', /\b(quiero pagar|pagar|ponerme al dia)\b/],
  ['consulta_deuda', /\b(cuanto debo|deuda|saldo)\b/],
  ['saludo', /^(hola|buenas|buenos dias|buenas tardes|que mas)\b/],
];

export function keywordUnderstander(): Understander & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async understand(text: string, options: UnderstandOptions): Promise<NluResult> {
      calls.push(text);
      const folded = foldText(text);
      const entities = extractEntities(text, options.now);
      if (entities.cedula) return { text, intent: 'identificacion', confidence: 1, source: 'cedula', entities };
      const hit = RULES.find(([, re]) => re.test(folded));
      return { text, intent: hit?.[0] ?? 'fuera_de_tema', confidence: hit ? 0.9 : 0.2, source: 'rules', entities };
    },
  };
}
