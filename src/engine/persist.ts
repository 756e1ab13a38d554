/**
 * Persist: one turn decided and saved, optimistic first. The turn is decided from this
 * process's cached copy of the conversation, or (with none) from an unlocked read of the
 * live one, and saved in one statement that applies only if the row still has that
 * version (for a new conversation, only if no live one exists: the unique index says
 * so). When another writer got there first — an agent, the scheduler, another process —
 * or the delivery repeats one already saved, the locked path: lock → load → decide →
 * save, in one transaction. Reads on the optimistic paths take no lock; the save does.
 */
import type { InboundMessage } from '../core/index.js';
import type { Logger } from '../log.js';
import type { NluResult } from '../nlu/index.js';
import type { Knex } from '../store/index.js';
import { isStaleTurn, optimisticSession, withLockedTurn, type ConversationRow, type TurnSession } from './conversations.js';
import { publicContext, type Decision, type EngineTurnResult } from './decide.js';
import type { Effect } from './effects.js';

/** Live conversations kept in memory per process for the one-round-trip path (TURN_CACHE_SIZE). */
export const DEFAULT_TURN_CACHE_SIZE = 5_000;

export interface TurnOutcome {
  result: EngineTurnResult;
  outboxId?: number;
  effects: Effect[];
  conv?: ConversationRow;
}

export interface TurnPersister {
  /** `documents`: the agency's documents' reply to a general question, read before the turn. */
  turn(message: InboundMessage, nlu: NluResult | undefined, documents?: { text: string }): Promise<TurnOutcome>;
  /** Forgets the cached conversation of a channel user (another writer closed it). */
  forget(channel: string, userId: string): void;
  /** The live conversation this process has cached for a channel user: its id and the debtor's known name. */
  live(channel: string, userId: string): { id: string; names: string[] } | undefined;
  /**
   * Whether the message's sender has a live conversation: from the cache, or read now the
   * way the message's turn would read it — and then kept for that turn, which uses the
   * read instead of repeating it.
   */
  lookAhead(message: InboundMessage): Promise<boolean>;
}

/** Reads done ahead of their turns, kept at most this many and this long (the turn normally follows at once). */
const LOOK_AHEAD_KEEP = 1_000;
const LOOK_AHEAD_MS = 10_000;

export function createTurnPersister(deps: {
  knex: Knex;
  log: Logger;
  decide: (session: TurnSession, loaded: ConversationRow | undefined, message: InboundMessage, nlu: NluResult | undefined, documents?: { text: string }) => Promise<Decision>;
  /** How many live conversations to keep (0: none; every turn reads its conversation). */
  cacheSize?: number;
}): TurnPersister {
  const { knex, log, decide } = deps;
  const cacheSize = deps.cacheSize ?? DEFAULT_TURN_CACHE_SIZE;
  /** Live conversations as this process last saved them, by "channel:user" (most recent last). */
  const cache = new Map<string, ConversationRow>();

  /** Reads done by lookAhead for turns not yet taken, by "channel:user" + message id (most recent last). */
  const ahead = new Map<string, { conversation?: ConversationRow; duplicate: boolean; at: number }>();
  const aheadKey = (key: string, messageId: string) => `${key}\u001f${messageId}`;

  /** Remembers a live conversation as saved, or forgets a closed one. */
  function remember(key: string, conv: ConversationRow, version: number): void {
    cache.delete(key);
    if (conv.status === 'closed' || conv.status === 'archived' || cacheSize === 0) return;
    cache.set(key, { ...conv, version });
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value as string);
  }

  /** A delivery already handled: nothing is done and no reply is sent. */
  function duplicateOutcome(key: string, c: ConversationRow | undefined): TurnOutcome {
    if (c) remember(key, c, c.version);
    return {
      effects: [],
      result: { conversationId: c?.id ?? '', state: c?.state ?? '', replies: [], context: publicContext(c?.context ?? {}), duplicate: true, status: c?.status ?? 'closed' },
    };
  }

  function saved(key: string, d: Decision, s: { outboxId?: number; version: number }): TurnOutcome {
    remember(key, d.conv, s.version);
    return { result: d.result, outboxId: s.outboxId, effects: d.step.effects, conv: d.conv };
  }

  return {
    async turn(message, nlu, documents) {
      const key = `${message.channel}:${message.from}`;
      const reader = optimisticSession(knex);
      const cached = cache.get(key);
      const early = ahead.get(aheadKey(key, message.messageId));
      if (early) ahead.delete(aheadKey(key, message.messageId));
      const fresh = early && performance.now() - early.at < LOOK_AHEAD_MS ? early : undefined;
      const first = cached ? { conversation: cached, duplicate: false } : (fresh ?? (await reader.peek(message.channel, message.from, message.messageId)));
      if (first.duplicate) return duplicateOutcome(key, first.conversation);
      const optimistic = await decide(reader, first.conversation, message, nlu, documents);
      try {
        return saved(key, optimistic, await reader.save(optimistic.write));
      } catch (err) {
        if (!isStaleTurn(err)) throw err;
        log.debug({ err, conversationId: first.conversation?.id }, 'optimistic save declined; deciding the turn again under the lock');
        cache.delete(key);
      }
      return withLockedTurn(knex, { channel: message.channel, userId: message.from, messageId: message.messageId }, async (session, loaded) => {
        if (loaded.duplicate) return duplicateOutcome(key, loaded.conversation);
        const d = await decide(session, loaded.conversation, message, nlu, documents);
        return saved(key, d, await session.save(d.write));
      });
    },
    forget(channel, userId) {
      cache.delete(`${channel}:${userId}`);
    },
    async lookAhead(message) {
      const key = `${message.channel}:${message.from}`;
      if (cache.has(key)) return true;
      const read = await optimisticSession(knex).peek(message.channel, message.from, message.messageId);
      ahead.set(aheadKey(key, message.messageId), { ...read, at: performance.now() });
      if (ahead.size > LOOK_AHEAD_KEEP) ahead.delete(ahead.keys().next().value as string);
      return read.conversation !== undefined;
    },
    live(channel, userId) {
      const c = cache.get(`${channel}:${userId}`);
      if (!c) return undefined;
      const name = c.context.Nombre_del_cliente;
      return { id: c.id, names: typeof name === 'string' && name.trim() ? [name] : [] };
    },
  };
}
