/**
 * Decide: one turn's step of the flow for a loaded (or new) conversation, and what it
 * means to save — the conversation as it now stands, the messages, the outbox row and
 * the effects' rows. Reads through the turn's ports; writes nothing.
 */
import { checkContactWindow } from '../compliance/index.js';
import type { ChannelName, Clock, InboundMessage, TurnResult } from '../core/index.js';
import type { Flow } from '../flows/index.js';
import type { Logger } from '../log.js';
import { detectThirdParty, type NluResult } from '../nlu/index.js';
import { runAction } from './actions.js';
import { newConversation, type ConversationRow, type StoredMessage, type TurnSession, type TurnWrite } from './conversations.js';
import { effectRows } from './effect-rows.js';
import { normalizeMobile } from './identity.js';
import { runTurn, type StepResult } from './runner.js';
import { readSignals, signalVariables } from './signals.js';
import { ownContact, type TurnPorts } from './turn-ports.js';

/** Context keys starting with "_" are the engine's own and never leave it. */
export function publicContext(context: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(context)) if (!k.startsWith('_')) out[k] = v;
  return out;
}

/** What the shell and tests see beyond the channel contract. */
export interface EngineTurnResult extends TurnResult {
  previousState?: string;
  /** The conversation's status before this turn (open or handoff); undefined when the turn started it. */
  previousStatus?: ConversationRow['status'];
  nlu?: NluResult;
  status: ConversationRow['status'];
  /** The states entered this turn and the rule that fired, for the shell and the logs. */
  trace?: { path: string[]; matched: string };
}

export interface Decision {
  conv: ConversationRow;
  write: TurnWrite;
  step: StepResult;
  result: EngineTurnResult;
}

export interface DeciderDeps {
  flows: ReadonlyMap<string, Flow>;
  defaultFlow: Flow;
  clock: Clock;
  log: Logger;
  ports: TurnPorts;
  maxSteps: number;
  /** Channels answered inline (their replies are stored as sent). */
  inline: ReadonlySet<ChannelName>;
  durability?: 'effects' | 'all';
  messageLimit?: (tier: string) => number | undefined;
}

export function createDecider(
  deps: DeciderDeps,
): (session: TurnSession, loaded: ConversationRow | undefined, message: InboundMessage, nlu: NluResult | undefined, documents?: { text: string }) => Promise<Decision> {
  const { flows, defaultFlow, clock, log } = deps;
  /** Steps the flow for a loaded (or new) conversation and prepares what to save. Writes nothing. */
  return async function decide(session: TurnSession, loaded: ConversationRow | undefined, message: InboundMessage, nlu: NluResult | undefined, documents?: { text: string }): Promise<Decision> {
    const now = clock.now();
    const isNew = !loaded;
    // A copy: a failed save must leave the cached row as it was.
    let conv: ConversationRow = loaded ? { ...loaded } : newConversation(message.channel, message.from, defaultFlow.name, defaultFlow.start, now);
    // Campaign attribution: the deep link that opened it (conversations.source reads it back).
    if (isNew && message.source) conv.context = { ...conv.context, _source: message.source };
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

    const limit = deps.messageLimit?.(conv.tier);
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
        // Past the tier's message limit, a person takes the conversation.
        escalate: overLimit ? 'limit' : undefined,
      },
      {
        text: message.text,
        buttonId: message.buttonId,
        media: message.media,
        nlu,
        // What the words say beyond the intent: the compliance module's opt-out detector among them.
        signals: {
          ...signalVariables(readSignals(message.text, nlu)),
          ...(checkContactWindow(now).allowed ? {} : { fuera_de_horario: true }),
          // The agency's documents' reply to a general question (knowledge-port.ts).
          ...(documents ? { respuesta_documentos: documents.text } : {}),
        },
        now,
        // Ley 2300 art. 4: someone writing for the debtor never gets the debt.
        thirdParty: detectThirdParty(message.text)?.relation,
        contact: message.contact !== undefined,
      },
      { runAction: (name, req) => runAction(name, req, deps.ports(session, message, now)), log, maxSteps: deps.maxSteps },
    );

    conv.state = step.state;
    conv.context = step.context;
    conv.fallback_count = step.fallbackCount;
    const rows = effectRows(conv, step.effects, now, message);
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
      durable: deps.durability !== 'effects' || step.effects.some((e) => e.kind !== 'bind_debtor'),
      isNew,
      expectedVersion: isNew ? undefined : conv.version,
      previousState,
      messages,
      // Replies answered in the caller's response need no queue: the messages record them.
      outbox: step.replies.length && !deps.inline.has(message.channel) ? { recipient: message.from, replies: step.replies, status: 'pending', kind: 'reply' } : undefined,
      now,
    };
    const result: EngineTurnResult = {
      conversationId: conv.id,
      state: conv.state,
      replies: step.replies,
      context: publicContext(conv.context),
      duplicate: false,
      previousState,
      previousStatus: loaded?.status,
      nlu,
      status: conv.status,
      trace: { path: step.path, matched: step.matched },
    };
    return { conv, write, step, result };
  };
}
