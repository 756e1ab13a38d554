import type { ChannelPorts, HistoryMessage } from '../../src/core/index.js';
import type { ChatMessage } from './protocol.js';

/** How many messages a first load shows (the latest ones). */
export const HISTORY_LIMIT = 200;

/** The inbound message id the engine dedupes on: the client's id, scoped to its visitor. */
export function inboundMessageId(visitorId: string, clientId: string): string {
  return `${visitorId}:${clientId}`;
}

function toChatMessage(row: HistoryMessage, visitorId: string): ChatMessage {
  const inbound = row.direction === 'in';
  const prefix = `${visitorId}:`;
  const message: ChatMessage = {
    id: row.id,
    from: inbound ? 'visitor' : row.author === 'agent' ? 'agent' : 'bot',
    text: row.text ?? (row.mediaKind ? `(${row.mediaKind})` : ''),
    at: row.at.toISOString(),
  };
  if (!inbound && row.buttons?.length) message.buttons = row.buttons;
  if (inbound && row.externalId?.startsWith(prefix)) message.clientId = row.externalId.slice(prefix.length);
  return message;
}

/** How the widget reads a visitor's messages: the service's transcript port. */
export type HistoryPort = ChannelPorts['history'];

/**
 * A visitor's conversation as the widget shows it, across every web chat conversation
 * the visitor has had, oldest first: without `after` the latest HISTORY_LIMIT messages,
 * with it the messages after that id. Internal system notes are left out.
 */
export async function readHistory(history: HistoryPort, visitorId: string, after?: number): Promise<ChatMessage[]> {
  const rows = await history('webchat', visitorId, after !== undefined ? { after, limit: HISTORY_LIMIT * 5 } : { limit: HISTORY_LIMIT });
  return rows.map((row) => toChatMessage(row, visitorId));
}
