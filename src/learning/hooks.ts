/**
 * The learning loop's hold on the conversation engine, without changing it: a wrapper
 * around Engine.handle that
 *  - reads a pending rating's answer (and comment) before the engine sees the message;
 *  - after each turn, puts an unsure turn in the review inbox and, when a conversation
 *    ended well, asks for the rating.
 * Whatever goes wrong here is logged; the debtor's turn is never failed by it.
 */
import type { ChannelName, Clock, InboundMessage, Reply } from '../core/index.js';
import { enqueueReplies, type Engine, type EngineTurnResult, type Outbox } from '../engine/index.js';
import type { Logger } from '../log.js';
import { detectCedula } from '../nlu/index.js';
import type { Knex } from '../store/index.js';
import { maskPersonalData } from './mask.js';
import {
  COMMENT_THANKS,
  declinesComment,
  pendingRating,
  RATING_QUESTION,
  RATING_THANKS,
  ratingEligibility,
  ratingFrom,
  recordAsked,
  recordComment,
  recordRating,
  type PendingRating,
} from './ratings.js';
import { recordForReview } from './review.js';

export interface LearningHooksOptions {
  knex: Knex;
  clock: Clock;
  log: Logger;
  outbox?: Pick<Outbox, 'dispatch'>;
  /** The NLU threshold in force (runtime settings). */
  threshold: () => number;
  /** Channels answered in the caller's response (the engine's inline channels). Default: api. */
  inlineChannels?: readonly ChannelName[];
  /** Whether ratings are asked (default true). */
  ratings?: () => boolean;
}

/** Wraps the engine; everything but handle() passes through. */
export function withLearning(engine: Engine, options: LearningHooksOptions): Engine {
  const { knex, clock, log } = options;
  const inline = new Set<ChannelName>(options.inlineChannels ?? ['api']);
  const ratingsOn = options.ratings ?? (() => true);

  /** Stores the bot's messages (and the debtor's, when given) in a closed conversation and sends them. */
  async function say(conversationId: string, message: InboundMessage, replies: Reply[], inbound?: { text: string | null }): Promise<void> {
    const now = clock.now();
    const id = await knex.transaction(async (trx) => {
      const rows: Record<string, unknown>[] = [];
      if (inbound) {
        rows.push({ conversation_id: conversationId, direction: 'in', author: 'debtor', channel: message.channel, external_id: message.messageId, text: inbound.text, button_id: message.buttonId ?? null, created_at: now, sent_at: message.at });
      }
      for (const r of replies) {
        rows.push({ conversation_id: conversationId, direction: 'out', author: 'bot', channel: message.channel, text: r.text, buttons: r.buttons ? JSON.stringify(r.buttons) : null, created_at: now });
      }
      await trx('messages').insert(rows);
      const box = await enqueueReplies(trx, { conversationId, channel: message.channel, recipient: message.from, replies, kind: 'reply' }, now);
      if (inline.has(message.channel)) await trx('outbox').where({ id: box }).update({ status: 'sent', sent_at: now });
      return box;
    });
    if (!inline.has(message.channel)) void options.outbox?.dispatch([id]);
  }

  function answered(conversationId: string, replies: Reply[]): EngineTurnResult {
    return { conversationId, state: 'calificacion', replies, context: {}, duplicate: false, status: 'closed' };
  }

  /** The rating's answer or comment; undefined when the message is for the engine. */
  async function answerRating(message: InboundMessage, pending: PendingRating): Promise<EngineTurnResult | undefined> {
    const now = clock.now();
    if (pending.status === 'asked') {
      const rating = ratingFrom(message);
      if (rating === undefined) {
        await knex('ratings').where({ id: pending.id }).update({ status: 'skipped' });
        return undefined;
      }
      await recordRating(knex, pending.id, rating, now);
      const replies = [{ text: RATING_THANKS }];
      await say(pending.conversation_id, message, replies, { text: message.text ?? null });
      return answered(pending.conversation_id, inline.has(message.channel) ? replies : []);
    }
    const text = message.text?.trim();
    // A cédula or a button starts over with the bot; a media message is not a comment.
    if (!text || message.buttonId || message.media || detectCedula(text) !== null) {
      await recordComment(knex, pending.id, null, now);
      return undefined;
    }
    const names = (await knex('ratings as r').join('debtors as d', 'd.id', 'r.debtor_id').where('r.id', pending.id).pluck('d.nombre_del_cliente')) as string[];
    const comment = declinesComment(text) ? null : maskPersonalData(text, { names }).slice(0, 2000);
    await recordComment(knex, pending.id, comment, now);
    const replies = comment === null ? [{ text: 'Listo. ¡Que esté muy bien! 👋' }] : [{ text: COMMENT_THANKS }];
    await say(pending.conversation_id, message, replies, { text: message.text ?? null });
    return answered(pending.conversation_id, inline.has(message.channel) ? replies : []);
  }

  async function afterTurn(message: InboundMessage, result: EngineTurnResult, before: string | undefined): Promise<Reply[]> {
    if (result.duplicate || !result.conversationId) return [];
    await recordForReview(
      knex,
      {
        channel: message.channel,
        messageId: message.messageId,
        nlu: result.nlu,
        matched: result.trace?.matched,
        status: result.status,
        previousStatus: before,
        state: result.state,
        conversationId: result.conversationId,
      },
      options.threshold(),
      clock,
    );
    if (result.status !== 'closed' || before === 'closed' || !ratingsOn()) return [];
    const who = await ratingEligibility(knex, result.conversationId);
    if (!who || !(await recordAsked(knex, result.conversationId, who, clock.now()))) return [];
    await say(result.conversationId, message, [RATING_QUESTION]);
    return [RATING_QUESTION];
  }

  return {
    ...engine,
    flows: engine.flows,
    reset: (channel, userId) => engine.reset(channel, userId),
    transcript: (id) => engine.transcript(id),
    hasLiveConversation: (message) => engine.hasLiveConversation(message),
    timeoutWarning: (conversation, hoursLeft) => engine.timeoutWarning(conversation, hoursLeft),
    async handle(message) {
      // A rating is asked when a turn closes the conversation: a debtor with a live
      // conversation is not answering one (a conversation opened after the question
      // supersedes it), and the ratings need not be read. Whether there is one comes from
      // the engine's cache, or from the read the turn would do anyway.
      // (If another process closed a cached conversation and asked meanwhile, the answer
      // starts a new conversation and the rating stays unanswered.)
      const live = ratingsOn() && message.from && message.channel ? await engine.hasLiveConversation(message).catch(() => false) : true;
      if (!live) {
        try {
          const pending = await pendingRating(knex, message.channel, message.from, clock.now());
          const done = pending ? await answerRating(message, pending) : undefined;
          if (done) return done;
        } catch (err) {
          if ((err as { code?: string }).code === '23505') return { conversationId: '', state: '', replies: [], context: {}, duplicate: true, status: 'closed' };
          log.error({ err }, 'could not read a rating answer; the message goes to the engine');
        }
      }
      const result = await engine.handle(message);
      try {
        // The status before the turn (the engine read it anyway) tells a new handoff or close from an old one.
        const extra = await afterTurn(message, result, result.previousStatus);
        if (extra.length && inline.has(message.channel)) return { ...result, replies: [...result.replies, ...extra] };
      } catch (err) {
        log.error({ err, conversationId: result.conversationId }, 'the learning loop could not look at a turn');
      }
      return result;
    },
  };
}
