/**
 * The conversation engine: one InboundMessage in, the turn's replies out.
 *
 * A turn: understand the text (before taking any lock: the NLU may call a remote
 * model), then in ONE transaction holding the channel user's advisory lock: dedupe the
 * delivery, find or open the conversation, step the flow, apply its effects, save the
 * inbound and outbound messages, the state and the outbox row. After commit the
 * replies leave through the outbox (or, for channels answered inline such as the REST
 * API, in the caller's response). docs/engine.md explains the one-round-trip fast path
 * and why the other writers (agents, the scheduler, other processes) are safe.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { AcuerdoError, TurnError, type Clock } from '../core/index.js';
import { DEFAULT_FLOW_NAME } from '../flows/index.js';
import type { Policy, PolicySet } from '../flows/policies.js';
import { createPolicySet } from '../flows/policies.js';
import type { Flow } from '../flows/types.js';
import type { Logger } from '../log.js';
import { agreementsTotal, handoffsTotal, messagesTotal, nluResults, turnDuration, turnErrors } from '../metrics.js';
import type { NluResult, Understander } from '../nlu/types.js';
import { runAction, type ActionPorts } from './actions.js';
import {
  channelContactPhone,
  findDebtorById,
  findDebtorsByCedula,
  recentIdentityFailures,
  loadTranscript,
  lockChannelUser,
  newConversation,
  portfolioPolicyRow,
  isStaleTurn,
  optimisticSession,
  withLockedTurn,
  type ConversationRow,
  type StoredMessage,
  type Transcript,
  type TurnSession,
  type TurnWrite,
} from './conversations.js';
import { buildSchedule } from '../agreements/schedule.js';
import { findActiveAgreement } from './agreement-memory.js';
import { bogotaDate } from '../core/index.js';
import { readSignals, signalVariables } from './signals.js';
import { detectThirdParty } from '../nlu/index.js';
import { LOCKOUT_WINDOW_MS, normalizeMobile } from './identity.js';
import { checkContactWindow, revokeChannel } from '../compliance/index.js';
import type { Effect } from './effects.js';
import type { Outbox } from './outbox.js';
import { DEFAULT_MAX_STEPS, renderMessages, runTurn } from './runner.js';
import { CHANNELS, type ChannelName, type InboundMessage, type MessageHandler, type Reply, type TurnResult } from '../core/index.js';

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
   * (issue 8's per-tier limits). Undefined: no limit.
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
}

/** What the shell and tests see beyond the channel contract. */
export interface EngineTurnResult extends TurnResult {
  previousState?: string;
  nlu?: NluResult;
  status: ConversationRow['status'];
  /** The states entered this turn and the rule that fired, for the shell and the logs. */
  trace?: { path: string[]; matched: string };
}

export interface Engine extends MessageHandler {
  handle(message: InboundMessage): Promise<EngineTurnResult>;
  /** Closes the live conversation of a channel user (the chat API's reset). */
  reset(channel: ChannelName, userId: string): Promise<{ conversationId: string | null }>;
  transcript(conversationId: string): Promise<Transcript | undefined>;
  /**
   * The flow's timeout warning for a silent conversation (issue 8's scheduler sends it
   * through the outbox): the conversation's flow's `timeout_warning` messages.
   */
  timeoutWarning(conversation: { flow: string; context: Record<string, unknown> }, hoursLeft: number): Reply[];
  readonly flows: ReadonlyMap<string, Flow>;
}

/** Context keys starting with "_" are the engine's own and never leave it. */
export function publicContext(context: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(context)) if (!k.startsWith('_')) out[k] = v;
  return out;
}

const REFERENCE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

function newReference(): string {
  const bytes = randomBytes(6);
  let out = 'AC-';
  for (const b of bytes) out += REFERENCE_ALPHABET[b % REFERENCE_ALPHABET.length];
  return out;
}

/** Checks the message and drops what PostgreSQL text cannot hold (NUL characters). */
function sanitize(message: InboundMessage): InboundMessage {
  if (!(CHANNELS as readonly string[]).includes(message.channel)) throw new AcuerdoError(`unknown channel '${message.channel}'`);
  if (!message.from || message.from.includes('\u0000')) throw new AcuerdoError('an inbound message needs a valid `from`');
  if (!message.messageId || message.messageId.includes('\u0000')) throw new AcuerdoError('an inbound message needs a valid `messageId`');
  const strip = (s: string | undefined) => (s === undefined ? undefined : s.replace(/\u0000/g, ''));
  return {
    ...message,
    text: strip(message.text),
    buttonId: strip(message.buttonId),
    media: message.media ? { kind: strip(message.media.kind) ?? 'unknown' } : undefined,
    verifiedPhone: strip(message.verifiedPhone),
    contact: message.contact ? { phone: strip(message.contact.phone) ?? '', userId: strip(message.contact.userId) } : undefined,
  };
}

/** A contact card the sender shared of themselves, proved by the platform (Telegram's request_contact). */
function ownContact(message: InboundMessage): boolean {
  return message.channel === 'telegram' && message.contact?.userId !== undefined && message.contact.userId === message.from;
}

const POLICY_CACHE_MS = 30_000;
/** Live conversations kept in memory per process for the one-round-trip fast path. */
const CACHE_SIZE = 5_000;

export function createEngine(options: EngineOptions): Engine {
  const { knex, understander, log } = options;
  const clock = options.clock;
  const flows: ReadonlyMap<string, Flow> = 'states' in options.flows ? new Map([[(options.flows as Flow).name, options.flows as Flow]]) : (options.flows as ReadonlyMap<string, Flow>);
  const defaultFlowName = options.defaultFlow ?? (flows.has(DEFAULT_FLOW_NAME) ? DEFAULT_FLOW_NAME : ([...flows.keys()][0] ?? DEFAULT_FLOW_NAME));
  const maybeDefault = flows.get(defaultFlowName);
  if (!maybeDefault) throw new AcuerdoError(`no flow named '${defaultFlowName}' is loaded`);
  const defaultFlow: Flow = maybeDefault;
  const policies = options.policies ?? createPolicySet();
  const inline = new Set<ChannelName>(options.inlineChannels ?? ['api']);
  const maxSteps = options.maxStepsPerTurn ?? DEFAULT_MAX_STEPS;
  const policyCache = new Map<number, { policy: Policy; until: number }>();
  /** Live conversations as this process last saved them, by "channel:user" (most recent last). */
  const cache = new Map<string, ConversationRow>();
  const queues = new Map<string, Promise<void>>();

  /**
   * The phone a channel's platform proves for the sender (Ley 2300 art. 4: it may stand
   * for the second identity fact). WhatsApp: the number the message came from. Telegram:
   * a contact card whose owner is the sender (this message, or remembered from an
   * earlier one). The web widget, the REST API and Bot Framework prove nothing.
   */
  function provedPhone(session: TurnSession, message: InboundMessage): () => Promise<string | undefined> {
    let memo: Promise<string | undefined> | undefined;
    return () =>
      (memo ??= (async () => {
        if (message.channel === 'whatsapp-cloud' || message.channel === 'whatsapp-web') {
          return normalizeMobile(message.verifiedPhone ?? (/^\d{10,15}$/.test(message.from) ? message.from : undefined));
        }
        if (message.channel !== 'telegram') return undefined;
        if (ownContact(message)) return normalizeMobile(message.contact?.phone);
        return normalizeMobile(await channelContactPhone(session, message.channel, message.from));
      })());
  }

  function portsFor(session: TurnSession, message: InboundMessage, now: Date): ActionPorts {
    return {
      identity: {
        channel: message.channel,
        channelPhone: provedPhone(session, message),
        sharedContact: message.contact ? (ownContact(message) ? 'own' : 'other') : undefined,
        recentFailures: (debtorIds) => recentIdentityFailures(session, debtorIds, message.channel, message.from, new Date(now.getTime() - LOCKOUT_WINDOW_MS)),
      },
      findDebtors: (cedula) => findDebtorsByCedula(session, cedula),
      activeAgreement: (debtorId) => findActiveAgreement(session, debtorId),
      paymentLink: (reference) => options.agreementLinks?.payment(reference),
      async paidAgreement(debtorId) {
        const [row] = await session.query<{ reference: string; code: string }>(
          `select a.reference, c.code from agreements a join paz_y_salvo c on c.agreement_id = a.id
            where a.debtor_id = $1 and a.status = 'cumplido' and c.revoked_at is null order by a.id desc limit 1`,
          [debtorId],
          'acuerdo_paid_agreement',
        );
        if (!row) return undefined;
        const link = options.agreementLinks?.certificate(row.code);
        return { reference: row.reference, code: row.code, ...(link ? { link } : {}) };
      },
      debtorById: (id) => findDebtorById(session, id),
      async policyFor(portfolioId) {
        if (portfolioId === null) return policies.defaultPolicy;
        const cached = policyCache.get(portfolioId);
        if (cached && cached.until > clock.now().getTime()) return cached.policy;
        const row = await portfolioPolicyRow(session, portfolioId);
        const policy = policies.forPortfolio(row?.name, row?.policy);
        policyCache.set(portfolioId, { policy, until: clock.now().getTime() + POLICY_CACHE_MS });
        return policy;
      },
      today: () => bogotaDate(clock.now()),
      newReference,
    };
  }

  /** Applies the effects to the conversation and lists the rows they add, written with the turn. */
  function applyEffects(conv: ConversationRow, effects: Effect[], now: Date, message: InboundMessage): TurnWrite['rows'] {
    const rows: TurnWrite['rows'] = [];
    for (const e of effects) {
      switch (e.kind) {
        case 'bind_debtor':
          conv.debtor_id = e.debtorId;
          conv.portfolio_id = e.portfolioId;
          conv.tier = e.tier;
          break;
        case 'record_agreement':
          // The one vigente agreement per debt: the replaced one steps aside first (the unique index), then points at the new one.
          if (e.replaces !== undefined) {
            rows.push({ table: 'agreements', where: { id: e.replaces, status: 'vigente' }, values: { status: 'reemplazado', status_changed_at: now } });
          }
          rows.push({
            table: 'agreements',
            values: {
              conversation_id: conv.id,
              debtor_id: e.debtorId,
              portfolio_id: e.portfolioId,
              kind: e.planKind,
              total: e.total,
              installments: e.installments,
              installment_amount: e.installmentAmount,
              first_due_date: e.firstDueDate,
              channel: conv.channel,
              reference: e.reference,
              status: 'vigente',
              status_changed_at: now,
              created_at: now,
            },
          });
          if (e.replaces !== undefined) {
            rows.push({ table: 'agreements', where: { id: e.replaces }, values: {}, parent: { column: 'replaced_by', reference: e.reference } });
          }
          // The schedule, in the same transaction: amounts sum to the total, due dates on business days.
          for (const i of buildSchedule({ total: e.total, installments: e.installments, installmentAmount: e.installmentAmount, firstDueDate: e.firstDueDate })) {
            rows.push({
              table: 'agreement_installments',
              parent: { column: 'agreement_id', reference: e.reference },
              values: { number: i.number, due_date: i.dueDate, amount: i.amount, paid_amount: 0, status: 'pendiente', created_at: now, updated_at: now },
            });
          }
          break;
        case 'cancel_agreement':
          rows.push({ table: 'agreements', where: { id: e.agreementId, status: 'vigente' }, values: { status: 'cancelado', status_changed_at: now } });
          rows.push({
            table: 'conversation_events',
            values: { conversation_id: conv.id, debtor_id: conv.debtor_id, kind: 'acuerdo_cancelado', details: { reference: e.reference }, created_at: now },
          });
          break;
        case 'record_dispute':
          rows.push({
            table: 'disputes',
            values: {
              debtor_id: e.debtorId,
              conversation_id: conv.id,
              channel: conv.channel,
              message: e.message ?? null,
              status: 'abierta',
              due_date: e.dueDate,
              created_at: now,
            },
          });
          break;
        case 'record_event':
          rows.push({
            table: 'conversation_events',
            values: { conversation_id: conv.id, debtor_id: conv.debtor_id, kind: e.event, details: e.details, created_at: now },
          });
          break;
        case 'data_request':
        case 'opt_out':
          rows.push({
            table: 'opt_outs',
            values: {
              debtor_id: conv.debtor_id,
              channel: conv.channel,
              user_id: message.from,
              kind: e.kind === 'opt_out' ? 'no_contactar' : 'borrar_datos',
              message: e.message ?? null,
              // A revocation takes effect at once; a data request waits for a person.
              status: e.kind === 'opt_out' ? 'done' : 'open',
              due_date: e.kind === 'data_request' ? e.dueDate : null,
              conversation_id: conv.id,
              created_at: now,
            },
          });
          break;
        case 'handoff':
          conv.status = 'handoff';
          conv.handoff_at = now;
          conv.handoff_reason = e.reason;
          rows.push({
            table: 'conversation_events',
            values: { conversation_id: conv.id, debtor_id: conv.debtor_id, kind: 'handoff', details: { reason: e.reason, ...e.details }, created_at: now },
          });
          break;
        case 'close':
          conv.status = 'closed';
          conv.closed_at = now;
          conv.close_reason = e.reason;
          break;
        case 'identity_attempt':
          rows.push({
            table: 'identity_attempts',
            values: { conversation_id: conv.id, channel: conv.channel, user_id: message.from, debtor_id: e.debtorId, method: e.method, outcome: e.outcome, created_at: now },
          });
          break;
        case 'third_party':
          rows.push({
            table: 'third_party_contacts',
            values: { conversation_id: conv.id, channel: conv.channel, user_id: message.from, debtor_id: e.debtorId, relation: e.relation, created_at: now },
          });
          break;
      }
    }
    return rows;
  }

  function countEffects(effects: Effect[], conv: ConversationRow): void {
    for (const e of effects) {
      if (e.kind === 'record_agreement') agreementsTotal.inc({ portfolio: String(conv.context._cartera ?? e.portfolioId), kind: e.planKind });
      if (e.kind === 'handoff') handoffsTotal.inc({ reason: e.reason });
    }
  }

  interface TurnOutcome {
    result: EngineTurnResult;
    outboxId?: number;
    effects: Effect[];
    conv?: ConversationRow;
  }

  /** Steps the flow for a loaded (or new) conversation and prepares what to save. Writes nothing. */
  async function compute(session: TurnSession, loaded: ConversationRow | undefined, message: InboundMessage, nlu: NluResult | undefined) {
    const now = clock.now();
    const isNew = !loaded;
    // A copy: a failed save must leave the cached row as it was.
    let conv: ConversationRow = loaded ? { ...loaded } : newConversation(message.channel, message.from, defaultFlowName, defaultFlow.start, now);
    let flow = flows.get(conv.flow);
    if (!flow || !flow.states.has(conv.state)) {
      log.warn({ conversationId: conv.id, flow: conv.flow, state: conv.state }, 'the conversation’s flow or state no longer exists; continuing from the default flow’s start');
      flow = defaultFlow;
      conv = { ...conv, flow: defaultFlow.name, state: defaultFlow.start };
    }
    const previousState = conv.state;
    conv.message_count += 1;
    conv.last_activity_at = now;
    if (message.channelRef !== undefined) conv.channel_ref = message.channelRef;

    const limit = options.messageLimit?.(conv.tier);
    const overLimit = conv.status === 'open' && limit !== undefined && conv.message_count > limit;
    const step = await runTurn(
      flow,
      {
        state: conv.state,
        context: conv.context,
        fallbackCount: conv.fallback_count,
        debtorId: conv.debtor_id,
        portfolioId: conv.portfolio_id,
        isNew,
        inHandoff: conv.status === 'handoff',
        // Issue 8: past the tier's message limit, a person takes the conversation.
        escalate: overLimit ? 'limit' : undefined,
      },
      {
        text: message.text,
        buttonId: message.buttonId,
        media: message.media,
        nlu,
        // What the words say beyond the intent: the compliance module's opt-out detector among them.
        signals: { ...signalVariables(readSignals(message.text, nlu)), ...(checkContactWindow(now).allowed ? {} : { fuera_de_horario: true }) },
        now,
        // Ley 2300 art. 4: someone writing for the debtor never gets the debt.
        thirdParty: detectThirdParty(message.text)?.relation,
        contact: message.contact !== undefined,
      },
      { runAction: (name, req) => runAction(name, req, portsFor(session, message, now)), log, maxSteps },
    );

    conv.state = step.state;
    conv.context = step.context;
    conv.fallback_count = step.fallbackCount;
    const rows = applyEffects(conv, step.effects, now, message);
    // A Telegram user's own contact card: the platform proved their number; later conversations count it.
    const proved = ownContact(message) ? normalizeMobile(message.contact?.phone) : undefined;
    if (proved) rows.push({ table: 'channel_contacts', values: { channel: message.channel, user_id: message.from, phone: `57${proved}`, created_at: now } });
    if (step.status === 'handoff' && conv.status !== 'handoff') {
      conv.status = 'handoff';
      conv.handoff_at = now;
    }
    if (step.status === 'closed' && conv.status !== 'closed') {
      conv.status = 'closed';
      conv.closed_at = now;
      conv.close_reason ??= step.state;
    }

    const messages: StoredMessage[] = [
      { direction: 'in', author: 'debtor', externalId: message.messageId, text: message.text, buttonId: message.buttonId, mediaKind: message.media?.kind, nlu, sentAt: message.at },
      ...step.replies.map((r): StoredMessage => ({ direction: 'out', author: 'bot', text: r.text, buttons: r.buttons, nlu })),
    ];
    const write: TurnWrite = {
      conversation: conv,
      rows,
      durable: options.durability !== 'effects' || step.effects.some((e) => e.kind !== 'bind_debtor'),
      isNew,
      expectedVersion: isNew ? undefined : conv.version,
      previousState,
      messages,
      outbox: step.replies.length
        ? { recipient: message.from, replies: step.replies, status: inline.has(message.channel) ? 'sent' : 'pending', kind: 'reply' }
        : undefined,
      now,
    };
    const result: EngineTurnResult = {
      conversationId: conv.id,
      state: conv.state,
      replies: step.replies,
      context: publicContext(conv.context),
      duplicate: false,
      previousState,
      nlu,
      status: conv.status,
      trace: { path: step.path, matched: step.matched },
    };
    return { conv, write, step, result };
  }

  /** Remembers a live conversation as saved, or forgets a closed one. */
  function remember(key: string, conv: ConversationRow, version: number): void {
    cache.delete(key);
    if (conv.status === 'closed' || conv.status === 'archived') return;
    cache.set(key, { ...conv, version });
    if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  }

  /**
   * One turn, optimistic first. The turn is computed from this process's cached copy of
   * the conversation, or (with none) from an unlocked read of the live one, and saved in
   * one statement that applies only if the row still has that version (for a new
   * conversation, only if no live one exists: the unique index says so). When another
   * writer got there first — an agent, the scheduler, another process — or the delivery
   * repeats one already saved, the locked path: lock → load → step → save, in one
   * transaction. Reads in the optimistic paths take no lock; the save takes it.
   */
  async function turn(message: InboundMessage, nlu: NluResult | undefined): Promise<TurnOutcome> {
    const key = `${message.channel}:${message.from}`;
    const reader = optimisticSession(knex);
    const cached = cache.get(key);
    const first = cached ? { conversation: cached, duplicate: false } : await reader.peek(message.channel, message.from, message.messageId);
    if (first.duplicate) return duplicateOutcome(key, first.conversation);
    const optimistic = await compute(reader, first.conversation, message, nlu);
    try {
      const saved = await reader.save(optimistic.write);
      remember(key, optimistic.conv, saved.version);
      return { result: optimistic.result, outboxId: saved.outboxId, effects: optimistic.step.effects, conv: optimistic.conv };
    } catch (err) {
      if (!isStaleTurn(err)) throw err;
      log.debug({ err, conversationId: first.conversation?.id }, 'optimistic save declined; computing the turn again under the lock');
      cache.delete(key);
    }
    return withLockedTurn(knex, { channel: message.channel, userId: message.from, messageId: message.messageId }, async (session, loaded) => {
      if (loaded.duplicate) return duplicateOutcome(key, loaded.conversation);
      const t = await compute(session, loaded.conversation, message, nlu);
      const saved = await session.save(t.write);
      remember(key, t.conv, saved.version);
      return { result: t.result, outboxId: saved.outboxId, effects: t.step.effects, conv: t.conv };
    });
  }

  /**
   * A revocation takes effect at once (Ley 2300 art. 2): the turn recorded the opt-out;
   * the compliance module's revokeChannel (idempotent: it finds that record) cancels every
   * campaign message, reminder or warning still queued for this person on this channel.
   * Should this process die first, the outbox's last look before sending cancels them.
   */
  async function cancelQueuedContacts(conv: ConversationRow, message: InboundMessage): Promise<void> {
    try {
      await knex.transaction((trx) =>
        revokeChannel(trx, { channel: message.channel, userId: message.from, debtorId: conv.debtor_id, conversationId: conv.id, message: message.text ?? null, at: clock.now() }),
      );
    } catch (err) {
      log.error({ err, conversationId: conv.id }, 'could not cancel the queued messages of a revoked channel now; the outbox will cancel them before sending');
    }
  }

  /** A delivery already handled: nothing is done and no reply is sent. */
  function duplicateOutcome(key: string, c: ConversationRow | undefined): TurnOutcome {
    if (c) remember(key, c, c.version);
    return {
      effects: [],
      result: { conversationId: c?.id ?? '', state: c?.state ?? '', replies: [], context: publicContext(c?.context ?? {}), duplicate: true, status: c?.status ?? 'closed' },
    };
  }

  /** Runs one channel user's turns in this process one after another, in arrival order. */
  function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = queues.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    queues.set(key, tail);
    void tail.then(() => {
      if (queues.get(key) === tail) queues.delete(key);
    });
    return run;
  }

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
          outcome = await serialized(`${message.channel}:${message.from}`, async () => {
            const nlu = text ? await understander.understand(text, { now: clock.now() }) : undefined;
            if (nlu) nluResults.inc({ source: nlu.source });
            return turn(message, nlu);
          });
        } catch (err) {
          // Another delivery of the same id from a different sender raced us to the unique index.
          if ((err as { code?: string; constraint?: string }).code === '23505' && (err as { constraint?: string }).constraint === 'messages_dedup') {
            return { conversationId: '', state: '', replies: [], context: {}, duplicate: true, status: 'closed' };
          }
          throw err;
        }
        const { result, outboxId, effects, conv } = outcome;
        if (conv) countEffects(effects, conv);
        if (conv && effects.some((e) => e.kind === 'opt_out')) await cancelQueuedContacts(conv, message);
        for (const e of effects) {
          if (e.kind !== 'record_agreement' || !options.afterAgreement) continue;
          await options.afterAgreement({ reference: e.reference, ...(e.replaces !== undefined ? { replaces: e.replaces } : {}) }).catch((err: unknown) =>
            log.error({ err, reference: e.reference }, 'after-agreement step failed; the scheduled jobs will catch up'),
          );
        }
        if (outboxId !== undefined) {
          if (inline.has(message.channel)) messagesTotal.inc({ channel: message.channel, direction: 'out' }, result.replies.length);
          else void options.outbox?.dispatch([outboxId]);
        }
        return result;
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
      cache.delete(`${channel}:${userId}`);
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

    timeoutWarning(conversation, hoursLeft) {
      const flow = flows.get(conversation.flow) ?? defaultFlow;
      return renderMessages(flow.timeoutWarning, { ...conversation.context, horas_restantes: hoursLeft });
    },
  };
  return engine;
}

export type { Reply };
