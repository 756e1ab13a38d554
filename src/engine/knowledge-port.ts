/**
 * The engine's port to the agency's documents (src/knowledge implements it; the service
 * wires it). Like the NLU, it is consulted before the turn takes a connection — it may
 * call OpenAI — and only for text the flow does not answer itself: one of the flow's own
 * questions, an opt-out, a data request, "ya pagué", a dispute, a change to an agreement,
 * a third party, English or emojis. Its reply reaches the flow as the turn variable
 * `respuesta_documentos`; a global rule says it, and the conversation stays where it was.
 */
import type { ChannelName, Logger } from '../core/index.js';
import { detectThirdParty, type NluResult } from '../nlu/index.js';
import { readSignals } from './signals.js';

export interface DocumentQuestion {
  text: string;
  intent: string;
  confidence: number;
  entities: NluResult['entities'];
  channel: ChannelName;
  userId: string;
  /** The flow answers this message itself. */
  flowHandles: boolean;
}

export interface KnowledgePort {
  /** The reply to a general question (with its source), or undefined when the message is not one. */
  consult(question: DocumentQuestion): Promise<{ text: string } | undefined>;
}

/** Asks the documents about one message; a failure is logged and the turn goes on without them. */
export async function consultDocuments(
  port: KnowledgePort,
  message: { channel: ChannelName; from: string },
  text: string,
  nlu: NluResult,
  log: Logger,
): Promise<{ text: string } | undefined> {
  const s = readSignals(text, nlu);
  const flowHandles =
    s.pregunta !== undefined || s.pide_baja || s.pide_borrar_datos || s.ya_pague || s.no_reconoce || s.cambiar_acuerdo || s.cancelar_acuerdo || s.en_ingles || s.solo_emojis || detectThirdParty(text) !== undefined;
  try {
    return await port.consult({ text, intent: nlu.intent, confidence: nlu.confidence, entities: nlu.entities, channel: message.channel, userId: message.from, flowHandles });
  } catch (err) {
    log.warn({ err, channel: message.channel }, 'the documents could not be consulted; the turn goes on without them');
    return undefined;
  }
}
