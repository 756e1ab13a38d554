/**
 * The conversation engine: one InboundMessage in, the turn's replies out, in four parts:
 *
 *   understand  the NLU reads the text, before any connection or lock is taken (it may
 *               call a remote model); one channel user's messages run in arrival order
 *   decide      decide.ts: the flow steps from the conversation as loaded; the actions read
 *               through the turn's ports (turn-ports.ts); effects become rows (effect-rows.ts)
 *   persist     persist.ts: one statement saves the turn if the conversation is still as
 *               read; otherwise the locked path decides again (docs/engine.md)
 *   deliver     deliver.ts: after commit, the replies leave through the outbox (or in the
 *               caller's response), revocations cancel queued contacts, metrics count
 */
import type { Knex } from 'knex';
import { CHANNELS, ConfigError, InvalidMessageError, KeyedSerialQueue, normalizeUserId, TurnError, type ChannelName, type Clock, type InboundMessage, type MessageHandler, type Reply, type TurnResult } from '../core/index.js';
import { createPolicySet, DEFAULT_FLOW_NAME, type Flow, type PolicySet } from '../flows/index.js';
import type { Logger } from '../log.js';
import { messagesTotal, nluResults, turnDuration, turnErrors } from '../metrics.js';
import type { NluResult, Understander } from '../nlu/index.js';
import { loadTranscript, lockChannelUser, type ConversationRow, type Transcript } from './conversations.js';
import { createDecider } from './decide.js';
import { createDelivery } from './deliver.js';
import type { Outbox } from './outbox.js';
import { createTurnPersister } from './persist.js';
import { DEFAULT_MAX_STEPS, renderMessages } from './runner.js';
import { createTurnPorts } from './turn-ports.js';
import { consultDocuments, type KnowledgePort } from './knowledge-port.js';

export { publicContext, type EngineTurnResult } from './decide.js';
import type { EngineTurnResult } from './decide.js';

export interface EngineOptions {
  knex: Knex;
  /**
   * The debtor's signed links (src/agreements): the online payment page of an agreement
   * (when a payment gateway is configured) and a paz y salvo's PDF. Absent: none are given.
   */
  agreementLinks?: { payment(reference: string): string | undefined; certificate(code: string): string | undefined };
  /**
   * Called after the turn that recorded an agreement has committed (src/agreements: a
   * replaced agreement's payments are credited to the new one). Errors are logged, never
   * thrown at the debtor.
   */
  afterAgreement?: (agreement: { reference: string; replaces?: number }) => Promise<void>;
  understander: Understander;
  /** The agency's documents, for a debtor's general questions (src/knowledge). Absent: none are answered. */
  knowledge?: KnowledgePort;
  /** The flows by name (or one flow). New conversations use `defaultFlow`. */
  flows: ReadonlyMap<string, Flow> | Flow;
  policies?: PolicySet;
  log: Logger;
  /**
   * The service's one clock: "now" for every timestamp the turn writes, due dates and
   * the NLU's relative dates ("el viernes"). The message's own `at` (when the platform
   * says the debtor wrote) is kept beside it as the inbound message's sent_at.
   */
  clock: Clock;
  outbox?: Outbox;
  defaultFlow?: string;
  maxStepsPerTurn?: number;
  /** Channels whose replies the caller delivers from the TurnResult (stored as sent). Default: api. */
  inlineChannels?: readonly ChannelName[];
  /**
   * The most inbound messages a conversation may have before a person takes it
   * (the per-tier limits). Undefined: no limit.
   */
  messageLimit?: (tier: string) => number | undefined;
  /**
   * Which turns wait for PostgreSQL to flush them to disk before answering:
   * - 'all' (default): every turn (synchronous_commit as configured on the server).
   *   Measured with `npm run bench`, it costs next to nothing: group commit absorbs it.
   * - 'effects': only turns that record an agreement, an opt-out, a data request, a
   *   dispute, a handoff or a close. Other turns commit asynchronously: a PostgreSQL
   *   crash within a fraction of a second after such a turn may lose it (the database
   *   stays consistent; the conversation resumes one step back).
   */
  durability?: 'effects' | 'all';
  /** Live conversations cached per process (default 5,000; 0: none). */
  turnCacheSize?: number;
}

export interface Engine extends MessageHandler {
  handle(message: InboundMessage): Promise<EngineTurnResult>;
  /** Closes the live conversation of a channel user (the chat API's reset). */
  reset(channel: ChannelName, userId: string): Promise<{ conversationId: string | null }>;
  transcript(conversationId: string): Promise<Transcript | undefined>;
  /**
   * Whether the sender of a message about to be handled has a live conversation: from
   * this process's cache (as its last turn left it; another process may have changed it
   * since, which the turn finds out when it saves), or read from PostgreSQL — a read the
   * message's turn then uses instead of repeating it.
   */
  hasLiveConversation(message: InboundMessage): Promise<boolean>;
  /**
   * The flow's timeout warning for a silent conversation (the scheduler sends it
   * through the outbox): the conversation's flow's `timeout_warning` messages.
   */
  timeoutWarning(conversation: { flow: string; context: Record<string, unknown> }, hoursLeft: number): Reply[];
  readonly flows: ReadonlyMap<string, Flow>;
}

/** Checks the message and drops what PostgreSQL text cannot hold (NUL characters). */
function sanitize(message: InboundMessage): InboundMessage {
  if (!(CHANNELS as readonly string[]).includes(message.channel)) throw new InvalidMessageError(`unknown channel '${message.channel}'`, 'channel');
  if (!message.from || message.from.includes('\u0000')) throw new InvalidMessageError('an inbound message needs a valid `from`', 'from');
  if (!message.messageId || message.messageId.includes('\u0000')) throw new InvalidMessageError('an inbound message needs a valid `messageId`', 'messageId');
  const strip = (s: string | undefined) => (s === undefined ? undefined : s.replace(/\u0000/g, ''));
  return {
    ...message,
    from: normalizeUserId(message.channel, message.from),
    text: strip(message.text),
    buttonId: strip(message.buttonId),
    media: message.media ? { kind: strip(message.media.kind) ?? 'unknown' } : undefined,
    verifiedPhone: strip(message.verifiedPhone),
    contact: message.contact ? { phone: strip(message.contact.phone) ?? '', userId: strip(message.contact.userId) } : undefined,
  };
}

export function createEngine(options: EngineOptions): Engine {
  const { knex, understander, log, clock } = options;
  const flows: ReadonlyMap<string, Flow> = 'states' in options.flows ? new Map([[(options.flows as Flow).name, options.flows as Flow]]) : (options.flows as ReadonlyMap<string, Flow>);
  const defaultFlowName = options.defaultFlow ?? (flows.has(DEFAULT_FLOW_NAME) ? DEFAULT_FLOW_NAME : ([...flows.keys()][0] ?? DEFAULT_FLOW_NAME));
  const defaultFlow = flows.get(defaultFlowName);
  if (!defaultFlow) throw new ConfigError([{ variable: 'defaultFlow', expected: `a loaded flow (no flow named '${defaultFlowName}')` }]);
  const inline = new Set<ChannelName>(options.inlineChannels ?? ['api']);
  const ports = createTurnPorts({ policies: options.policies ?? createPolicySet(), clock, agreementLinks: options.agreementLinks });
  const decide = createDecider({
    flows,
    defaultFlow,
    clock,
    log,
    ports,
    maxSteps: options.maxStepsPerTurn ?? DEFAULT_MAX_STEPS,
    inline,
    durability: options.durability,
    messageLimit: options.messageLimit,
  });
  const persister = createTurnPersister({ knex, log, decide, cacheSize: options.turnCacheSize });
  const deliver = createDelivery({ knex, clock, log, inline, outbox: options.outbox, afterAgreement: options.afterAgreement });
  /** One channel user's messages in this process one after another, in arrival order. */
  const arrivals = new KeyedSerialQueue();

  const engine: Engine = {
    flows,
    async handle(incoming) {
      const message = sanitize(incoming);
      const started = process.hrtime.bigint();
      const text = message.text?.trim() ? message.text : undefined;
      try {
        messagesTotal.inc({ channel: message.channel, direction: 'in' });
        let outcome;
        try {
          // One user's messages in arrival order; the NLU runs before the turn takes a connection.
          outcome = await arrivals.run(`${message.channel}:${message.from}`, async () => {
            // An OpenAI call's audit row carries the conversation: known now when cached, else once the turn commits.
            const live = persister.live(message.channel, message.from);
            let settle: (id: string | undefined) => void = () => {};
            const conversationId = live?.id ?? new Promise<string | undefined>((resolve) => (settle = resolve));
            let turnConversation: string | undefined;
            try {
              const nlu = text ? await understander.understand(text, { now: clock.now(), conversationId, knownNames: live?.names }) : undefined;
              if (nlu) nluResults.inc({ source: nlu.source });
              const documents = text && nlu && options.knowledge ? await consultDocuments(options.knowledge, message, text, nlu, log) : undefined;
              const turn = await persister.turn(message, nlu, documents);
              turnConversation = turn.result.conversationId || undefined;
              return turn;
            } finally {
              settle(turnConversation);
            }
          });
        } catch (err) {
          // Another delivery of the same id from a different sender raced us to the unique index.
          if ((err as { code?: string; constraint?: string }).code === '23505' && (err as { constraint?: string }).constraint === 'messages_dedup') {
            return { conversationId: '', state: '', replies: [], context: {}, duplicate: true, status: 'closed' };
          }
          throw err;
        }
        await deliver(message, outcome);
        return outcome.result;
      } catch (err) {
        turnErrors.inc({ channel: message.channel });
        if (err instanceof TurnError) throw err;
        // knex prefixes a database error's message with the whole SQL; keep the reason.
        const reason = String((err as Error).message ?? err).split(' - ').pop();
        throw new TurnError(`the turn for a ${message.channel} message failed: ${reason}`, undefined, { cause: err });
      } finally {
        turnDuration.observe({ channel: message.channel }, Number(process.hrtime.bigint() - started) / 1e9);
      }
    },

    async reset(channel, userId) {
      persister.forget(channel, userId);
      return knex.transaction(async (trx) => {
        await lockChannelUser(trx, channel, userId);
        const now = clock.now();
        const rows = (await trx('conversations')
          .where({ channel, user_id: userId })
          .whereIn('status', ['open', 'handoff'])
          .update({ status: 'closed', close_reason: 'reset', closed_at: now, last_activity_at: now })
          .returning('id')) as { id: string }[];
        return { conversationId: rows[0]?.id ?? null };
      });
    },

    transcript: (conversationId) => loadTranscript(knex, conversationId),

    hasLiveConversation: (message) => persister.lookAhead(sanitize(message)),

    timeoutWarning(conversation, hoursLeft) {
      const flow = flows.get(conversation.flow) ?? defaultFlow;
      return renderMessages(flow.timeoutWarning, { ...conversation.context, horas_restantes: hoursLeft });
    },
  };
  return engine;
}

export type { Reply };
