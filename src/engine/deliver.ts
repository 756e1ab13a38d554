/**
 * Deliver: what follows a committed turn — its replies leave through the outbox (or in
 * the caller's response, for channels answered inline, with no outbox row), a revocation cancels what was
 * queued for the person, an agreement gets its after-steps, and the metrics count it.
 */
import { revokeChannel } from '../compliance/index.js';
import type { ChannelName, Clock, InboundMessage } from '../core/index.js';
import type { Logger } from '../log.js';
import { agreementsTotal, handoffsTotal, messagesTotal } from '../metrics.js';
import type { Knex } from '../store/index.js';
import type { ConversationRow } from './conversations.js';
import type { Outbox } from './outbox.js';
import type { TurnOutcome } from './persist.js';

export interface DeliveryDeps {
  knex: Knex;
  clock: Clock;
  log: Logger;
  inline: ReadonlySet<ChannelName>;
  outbox?: Pick<Outbox, 'dispatch'>;
  afterAgreement?: (agreement: { reference: string; replaces?: number }) => Promise<void>;
}

export function createDelivery(deps: DeliveryDeps): (message: InboundMessage, outcome: TurnOutcome) => Promise<void> {
  const { knex, clock, log } = deps;

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

  return async (message, { result, outboxId, effects, conv }) => {
    if (conv) {
      for (const e of effects) {
        if (e.kind === 'record_agreement') agreementsTotal.inc({ portfolio: String(conv.context._cartera ?? e.portfolioId), kind: e.planKind });
        if (e.kind === 'handoff') handoffsTotal.inc({ reason: e.reason });
      }
      if (effects.some((e) => e.kind === 'opt_out')) await cancelQueuedContacts(conv, message);
    }
    for (const e of effects) {
      if (e.kind !== 'record_agreement' || !deps.afterAgreement) continue;
      await deps.afterAgreement({ reference: e.reference, ...(e.replaces !== undefined ? { replaces: e.replaces } : {}) }).catch((err: unknown) =>
        log.error({ err, reference: e.reference }, 'after-agreement step failed; the scheduled jobs will catch up'),
      );
    }
    if (deps.inline.has(message.channel)) {
      if (result.replies.length) messagesTotal.inc({ channel: message.channel, direction: 'out' }, result.replies.length);
    } else if (outboxId !== undefined) void deps.outbox?.dispatch([outboxId]);
  };
}
