/**
 * The one reader of stored messages: an agent's or supervisor's transcript of one
 * conversation, the chat API's historial, and a channel user's history across their
 * conversations (the web widget). Every view is this query with another filter.
 */
import type { Button, ChannelName, HistoryMessage } from '../core/index.js';
import type { Knex } from './db.js';

export interface StoredMessageRow {
  id: number;
  conversation_id: string;
  direction: 'in' | 'out';
  /** debtor | bot | agent | system */
  author: string;
  channel: string;
  external_id: string | null;
  text: string | null;
  button_id: string | null;
  buttons: Button[] | null;
  media_kind: string | null;
  intent: string | null;
  confidence: number | null;
  nlu_source: string | null;
  entities: Record<string, unknown> | null;
  previous_state: string | null;
  next_state: string | null;
  created_at: Date;
}

const COLUMNS = [
  'm.id',
  'm.conversation_id',
  'm.direction',
  'm.author',
  'm.channel',
  'm.external_id',
  'm.text',
  'm.button_id',
  'm.buttons',
  'm.media_kind',
  'm.intent',
  'm.confidence',
  'm.nlu_source',
  'm.entities',
  'm.previous_state',
  'm.next_state',
  'm.created_at',
];

/** Authors a debtor sees; 'system' rows are internal notes. */
const VISIBLE_AUTHORS = ['debtor', 'bot', 'agent'];

export type MessageFilter =
  | { conversationId: string }
  | {
      /** Every conversation of one channel user, debtor-visible messages only. */
      channel: ChannelName;
      userId: string;
      /** Only messages after this id (oldest first); without it the latest `limit`. */
      after?: number;
      limit: number;
    };

/** Stored messages, oldest first. */
export async function readMessages(db: Knex | Knex.Transaction, filter: MessageFilter): Promise<StoredMessageRow[]> {
  if ('conversationId' in filter) {
    return (await db('messages as m').where('m.conversation_id', filter.conversationId).orderBy('m.id').select(COLUMNS)) as StoredMessageRow[];
  }
  const query = db('messages as m')
    .join('conversations as c', 'c.id', 'm.conversation_id')
    .where({ 'c.channel': filter.channel, 'c.user_id': filter.userId })
    .whereIn('m.author', VISIBLE_AUTHORS)
    .select(COLUMNS);
  return filter.after !== undefined
    ? ((await query.where('m.id', '>', filter.after).orderBy('m.id', 'asc').limit(filter.limit)) as StoredMessageRow[])
    : ((await query.orderBy('m.id', 'desc').limit(filter.limit)) as StoredMessageRow[]).reverse();
}

/** Buttons as stored (jsonb), kept only when well formed. */
function buttonsOf(value: unknown): Button[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const buttons = value.flatMap((b: unknown) => {
    const { id, text } = (b ?? {}) as { id?: unknown; text?: unknown };
    return typeof id === 'string' && typeof text === 'string' ? [{ id, text }] : [];
  });
  return buttons.length ? buttons : undefined;
}

/** A channel user's history, as the channels' `history` port gives it. */
export async function channelHistory(
  db: Knex,
  channel: ChannelName,
  userId: string,
  options: { after?: number; limit: number },
): Promise<HistoryMessage[]> {
  const rows = await readMessages(db, { channel, userId, ...options });
  return rows.map((r) => {
    const buttons = buttonsOf(r.buttons);
    return {
      id: Number(r.id),
      direction: r.direction,
      author: r.author,
      text: r.text,
      ...(buttons ? { buttons } : {}),
      mediaKind: r.media_kind,
      externalId: r.external_id,
      at: r.created_at,
    };
  });
}
