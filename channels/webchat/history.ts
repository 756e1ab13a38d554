import type { Knex } from '../../src/store/db.js';
import type { ChatMessage } from './protocol.js';

/** How many messages a first load shows (the latest ones). */
export const HISTORY_LIMIT = 200;

interface MessageRow {
  id: number;
  direction: string;
  author: string;
  text: string | null;
  buttons: unknown;
  media_kind: string | null;
  external_id: string | null;
  created_at: Date;
}

/** The inbound message id the engine dedupes on: the client's id, scoped to its visitor. */
export function inboundMessageId(visitorId: string, clientId: string): string {
  return `${visitorId}:${clientId}`;
}

function buttonsOf(value: unknown): ChatMessage['buttons'] {
  if (!Array.isArray(value)) return undefined;
  const buttons = value.flatMap((b: unknown) => {
    const { id, text } = (b ?? {}) as { id?: unknown; text?: unknown };
    return typeof id === 'string' && typeof text === 'string' ? [{ id, text }] : [];
  });
  return buttons.length ? buttons : undefined;
}

function toChatMessage(row: MessageRow, visitorId: string): ChatMessage {
  const inbound = row.direction === 'in';
  const prefix = `${visitorId}:`;
  const message: ChatMessage = {
    id: row.id,
    from: inbound ? 'visitor' : row.author === 'agent' ? 'agent' : 'bot',
    text: row.text ?? (row.media_kind ? `(${row.media_kind})` : ''),
    at: row.created_at.toISOString(),
  };
  const buttons = inbound ? undefined : buttonsOf(row.buttons);
  if (buttons) message.buttons = buttons;
  if (inbound && row.external_id?.startsWith(prefix)) message.clientId = row.external_id.slice(prefix.length);
  return message;
}

/**
 * A visitor's conversation as the widget shows it, across every web chat conversation
 * the visitor has had, oldest first: without `after` the latest HISTORY_LIMIT messages,
 * with it the messages after that id. Internal system notes are left out.
 */
export async function readHistory(knex: Knex, visitorId: string, after?: number): Promise<ChatMessage[]> {
  const query = knex('messages as m')
    .join('conversations as c', 'c.id', 'm.conversation_id')
    .where({ 'c.channel': 'webchat', 'c.user_id': visitorId })
    .whereIn('m.author', ['debtor', 'bot', 'agent'])
    .select<MessageRow[]>('m.id', 'm.direction', 'm.author', 'm.text', 'm.buttons', 'm.media_kind', 'm.external_id', 'm.created_at');
  const rows =
    after !== undefined
      ? await query.where('m.id', '>', after).orderBy('m.id', 'asc').limit(HISTORY_LIMIT * 5)
      : (await query.orderBy('m.id', 'desc').limit(HISTORY_LIMIT)).reverse();
  return rows.map((row) => toChatMessage(row, visitorId));
}
