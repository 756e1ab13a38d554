/**
 * What the REST chat API asks of stored conversations beyond a turn: the numeric id the
 * seed system's clients use beside the UUID, and the replay of a turn already saved —
 * the replies and state a client gets again when it retries a message whose answer it
 * never received (the process died after the turn committed, the connection broke…).
 *
 * A turn's messages are saved together, in order, under the channel user's lock: the
 * inbound row (its `external_id` is the client's message id; `next_state` is the state
 * the turn ended in) and then the bot's replies. So the replies of a turn are the bot's
 * outbound rows that follow its inbound row in the same conversation, up to the next
 * message from anyone else.
 */
import type { Reply } from '../core/index.js';
import type { Knex } from '../store/index.js';
import { publicContext } from './decide.js';

export interface ConversationRef {
  id: string;
  number: number;
  channel: string;
  user_id: string;
  status: string;
}

export interface ReplayedTurn {
  conversation: ConversationRef;
  state: string;
  replies: Reply[];
  context: Record<string, unknown>;
}

export interface ChatConversations {
  /** The conversation with this UUID or this number, if any. */
  find(id: string | number): Promise<ConversationRef | undefined>;
  /** The saved outcome of the inbound message `externalId` on `channel`, if it was saved. */
  replay(channel: string, externalId: string): Promise<ReplayedTurn | undefined>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A turn writes at most this many replies (the engine caps a turn's steps far below). */
const MAX_REPLIES = 50;

export function createChatConversations(knex: Knex): ChatConversations {
  const columns = ['id', 'number', 'channel', 'user_id', 'status'];
  return {
    async find(id) {
      const text = String(id);
      if (UUID.test(text)) return (await knex('conversations').where({ id: text }).first(columns)) as ConversationRef | undefined;
      if (!/^\d{1,15}$/.test(text)) return undefined;
      return (await knex('conversations').where({ number: Number(text) }).first(columns)) as ConversationRef | undefined;
    },

    async replay(channel, externalId) {
      const inbound = (await knex('messages')
        .where({ channel, external_id: externalId, direction: 'in' })
        .first('id', 'conversation_id', 'next_state')) as { id: number; conversation_id: string; next_state: string | null } | undefined;
      if (!inbound) return undefined;
      const conversation = (await knex('conversations').where({ id: inbound.conversation_id }).first([...columns, 'context', 'state'])) as
        | (ConversationRef & { context: Record<string, unknown>; state: string })
        | undefined;
      if (!conversation) return undefined;
      const later = (await knex('messages')
        .where({ conversation_id: inbound.conversation_id })
        .andWhere('id', '>', inbound.id)
        .orderBy('id')
        .limit(MAX_REPLIES)
        .select('direction', 'author', 'text', 'buttons')) as { direction: string; author: string; text: string | null; buttons: Reply['buttons'] | null }[];
      const replies: Reply[] = [];
      for (const m of later) {
        if (m.direction !== 'out' || m.author !== 'bot') break;
        replies.push(m.buttons?.length ? { text: m.text ?? '', buttons: m.buttons } : { text: m.text ?? '' });
      }
      const { context, state, ...ref } = conversation;
      return { conversation: ref, state: inbound.next_state ?? state, replies, context: publicContext(context ?? {}) };
    },
  };
}
