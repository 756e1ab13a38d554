import { AcuerdoError, type ChannelName, type Clock } from '../core/index.js';
import { enqueueReplies, lockChannelUser } from '../engine/index.js';
import type { Logger } from '../log.js';
import { agentRepliesTotal, handoffQueueDepth } from '../metrics.js';
import type { Knex } from '../store/index.js';
import { identityColumns, lastMessageColumn, SUMMARY_COLUMNS, summaryQuery, toSummary, type ConversationSummary } from './conversations.js';

/** A handoff action that cannot be done: no such conversation, or it is not with a person. */
export class HandoffError extends AcuerdoError {
  override name = 'HandoffError';
  constructor(
    message: string,
    readonly code: 'not_found' | 'not_in_handoff',
    readonly conversationId: string,
  ) {
    super(message);
  }
}

export interface QueueItem extends ConversationSummary {
  /** Seconds since the conversation was handed off. */
  waiting_seconds: number;
  /** Debtor messages since the last agent reply (or since the handoff). */
  unanswered: number;
}

export interface HandoffServiceOptions {
  knex: Knex;
  log: Logger;
  /** The outbox's dispatch: sends the given rows now (called after commit). */
  dispatch?: (outboxIds: number[]) => Promise<void> | void;
  /**
   * Channels answered in the HTTP response (the REST chat API): an agent's message is
   * stored as sent and reaches the client through the conversation's history. Default: api.
   */
  inlineChannels?: readonly ChannelName[];
  /** The service's clock: every time this writes or compares. */
  clock: Clock;
}

interface LockedConversation {
  id: string;
  channel: ChannelName;
  user_id: string;
  state: string;
  status: string;
  assigned_to: string | null;
}

/**
 * The human handoff: the queue of conversations the engine handed to a person, and
 * what an agent does with one. An agent's reply is stored with author 'agent' and
 * queued in the outbox (kind 'agent'), which delivers it on the debtor's own channel
 * exactly like a bot reply, retries included.
 */
export class HandoffService {
  private readonly knex: Knex;
  private readonly now: () => Date;
  private readonly inline: ReadonlySet<ChannelName>;

  constructor(private readonly options: HandoffServiceOptions) {
    this.knex = options.knex;
    this.inline = new Set(options.inlineChannels ?? ['api']);
    this.now = () => options.clock.now();
  }

  /** Conversations waiting for or held by a person, longest waiting first. */
  async queue(): Promise<QueueItem[]> {
    const { knex } = this;
    const rows = (await summaryQuery(knex)
      .where('c.status', 'handoff')
      .select(
        ...SUMMARY_COLUMNS,
        lastMessageColumn(knex),
        // Agents taking over see whether the person proved who they are (Ley 2300 art. 4).
        ...identityColumns(knex),
        knex.raw(
          `(select count(*)::int from messages m where m.conversation_id = c.id and m.direction = 'in'
             and m.created_at > coalesce(c.handoff_at, c.opened_at)
             and m.id > coalesce((select max(a.id) from messages a where a.conversation_id = c.id and a.author = 'agent'), 0)) as unanswered`,
        ),
      )
      .orderByRaw('c.handoff_at asc nulls last')) as Parameters<typeof toSummary>[0][];
    handoffQueueDepth.set(rows.length);
    const now = this.now().getTime();
    return rows.map((r) => {
      const summary = toSummary(r);
      const since = summary.handoff_at ? Date.parse(summary.handoff_at) : Date.parse(summary.opened_at);
      return { ...summary, waiting_seconds: Math.max(0, Math.round((now - since) / 1000)), unanswered: Number(r.unanswered ?? 0) };
    });
  }

  /** Assigns the conversation to an agent (taking it over from another one if need be). */
  async take(conversationId: string, agent: string): Promise<void> {
    await this.inHandoff(conversationId, async (trx, c) => {
      await trx('conversations').where({ id: c.id }).update({ assigned_to: agent, assigned_at: this.now() });
    });
    this.options.log.info({ conversationId, agent }, 'handoff taken');
  }

  /**
   * Sends the agent's text to the debtor on their channel, as the agency. Returns the
   * stored message id and the outbox row id.
   */
  async reply(conversationId: string, agent: string, text: string): Promise<{ message_id: number; outbox_id: number }> {
    let channel = '';
    const ids = await this.inHandoff(conversationId, async (trx, c) => {
      channel = c.channel;
      const sent = await this.queueMessage(trx, c, text);
      await trx('conversations')
        .where({ id: c.id })
        .update({
          last_activity_at: this.now(),
          ...(c.assigned_to ? {} : { assigned_to: agent, assigned_at: this.now() }),
        });
      return sent;
    });
    agentRepliesTotal.inc({ channel });
    await this.dispatch(ids.outbox_id, channel as ChannelName);
    this.options.log.info({ conversationId, agent, channel }, 'agent replied');
    return ids;
  }

  /**
   * Gives the conversation back to the bot, in the flow state it was in before the
   * handoff, with its fallback and message counts reset (a person has looked at it, so
   * the limits that escalated it start over). An optional message tells the debtor.
   */
  async release(conversationId: string, agent: string, message?: string): Promise<void> {
    const outboxId = await this.inHandoff(conversationId, async (trx, c) => {
      const sent = message ? await this.queueMessage(trx, c, message) : undefined;
      await trx('conversations')
        .where({ id: c.id })
        .update({
          status: 'open',
          state: await this.stateBeforeHandoff(trx, c),
          fallback_count: 0,
          message_count: 0,
          assigned_to: null,
          assigned_at: null,
          last_activity_at: this.now(),
        });
      return sent?.outbox_id;
    });
    await this.dispatch(outboxId);
    this.options.log.info({ conversationId, agent }, 'handoff released to the bot');
  }

  /** Closes the conversation; an optional message says goodbye to the debtor. */
  async close(conversationId: string, agent: string, message?: string): Promise<void> {
    const outboxId = await this.inHandoff(conversationId, async (trx, c) => {
      const sent = message ? await this.queueMessage(trx, c, message) : undefined;
      await trx('conversations')
        .where({ id: c.id })
        .update({ status: 'closed', closed_at: this.now(), close_reason: 'agent', last_activity_at: this.now() });
      return sent?.outbox_id;
    });
    await this.dispatch(outboxId);
    this.options.log.info({ conversationId, agent }, 'handoff closed by an agent');
  }

  private async dispatch(outboxId: number | undefined, channel?: ChannelName): Promise<void> {
    if (outboxId === undefined || !this.options.dispatch || (channel && this.inline.has(channel))) return;
    try {
      await this.options.dispatch([outboxId]);
    } catch (err) {
      // The row is committed: the outbox worker retries it.
      this.options.log.warn({ err, outboxId }, 'could not send an agent message at once; the outbox will retry');
    }
  }

  /** The state the debtor was in when the bot handed off (the flow's handoff state is a dead end). */
  private async stateBeforeHandoff(trx: Knex.Transaction, c: LockedConversation): Promise<string> {
    const row = (await trx('messages')
      .where({ conversation_id: c.id, direction: 'in' })
      .whereNotNull('previous_state')
      .whereRaw('previous_state is distinct from next_state')
      .where('next_state', c.state)
      .orderBy('id', 'desc')
      .first('previous_state')) as { previous_state: string } | undefined;
    return row?.previous_state ?? c.state;
  }

  private async queueMessage(trx: Knex.Transaction, c: LockedConversation, text: string): Promise<{ message_id: number; outbox_id: number }> {
    const now = this.now();
    const [message] = (await trx('messages')
      .insert({
        conversation_id: c.id,
        direction: 'out',
        author: 'agent',
        channel: c.channel,
        text,
        previous_state: c.state,
        next_state: c.state,
        created_at: now,
      })
      .returning('id')) as { id: number }[];
    // The message and its outbox row carry one reading of the clock, the one the outbox
    // compares due times with: the reply is due at once on any database server.
    const outboxId = await enqueueReplies(trx, { conversationId: c.id, channel: c.channel, recipient: c.user_id, replies: [{ text }], kind: 'agent' }, now);
    if (this.inline.has(c.channel)) {
      // Nothing to push to: the REST client reads the agent's message from the conversation's history.
      await trx('outbox').where({ id: outboxId }).update({ status: 'sent', sent_at: now, updated_at: now });
    }
    return { message_id: message!.id, outbox_id: outboxId };
  }

  /** Runs `fn` holding the engine's lock for the conversation's channel user, if it is with a person. */
  private async inHandoff<T>(conversationId: string, fn: (trx: Knex.Transaction, c: LockedConversation) => Promise<T>): Promise<T> {
    return this.knex.transaction(async (trx) => {
      const who = (await trx('conversations').where({ id: conversationId }).first('channel', 'user_id')) as
        | { channel: string; user_id: string }
        | undefined;
      if (!who) throw new HandoffError('no such conversation', 'not_found', conversationId);
      await lockChannelUser(trx, who.channel, who.user_id);
      const c = (await trx('conversations')
        .where({ id: conversationId })
        .first('id', 'channel', 'user_id', 'state', 'status', 'assigned_to')) as LockedConversation;
      if (c.status !== 'handoff') throw new HandoffError(`the conversation is ${c.status}, not with a person`, 'not_in_handoff', conversationId);
      return fn(trx, c);
    });
  }
}
