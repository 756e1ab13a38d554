/**
 * Queues an unprompted outbound message (campaign, reminder, timeout warning) through
 * the guard: it goes into the outbox due now, or deferred (status 'deferred',
 * next_attempt_at = the next allowed time), and its day is reserved in contact_log so
 * no second contact lands on the same day. A revoked channel gets nothing queued.
 */
import type { Knex } from '../store/index.js';
import { checkDebtorWindow } from './contact-window.js';
import {
  contactFacts,
  earliestAllowed,
  expressHoursFor,
  hasOpenDispute,
  isChannelRevoked,
  UNPROMPTED_KINDS,
  type ContactKind,
  type DeferReason,
  type OutboundContact,
} from './guard.js';

export interface UnpromptedMessage extends OutboundContact {
  conversationId?: string | null;
  campaignId?: number | null;
  /** What the outbox sends: the replies ([{ text, buttons? }]) or a template. */
  payload: unknown;
  /** Spaces sends on a channel: the paced time at or after a candidate time. */
  pace?: (candidate: Date) => Promise<Date>;
}

export type QueueResult =
  | { status: 'queued'; outboxId: number; sendAt: Date }
  | { status: 'deferred'; outboxId: number; sendAt: Date; reason: DeferReason }
  | { status: 'blocked'; reason: 'canal_revocado' | 'disputa_abierta' };

/** Serializes decisions about one person, so two channels cannot both take the same day. */
async function lockContact(trx: Knex.Transaction, m: OutboundContact): Promise<void> {
  if (m.debtorId != null) {
    // Per person: a cédula owing in two portfolios is one debtor for the daily limit.
    await trx.raw(
      `select pg_advisory_xact_lock(hashtext('acuerdo:contact:cedula:' || coalesce((select cedula from debtors where id = ?), ?::text)))`,
      [m.debtorId, String(m.debtorId)],
    );
  }
  // Per address too: an unidentified conversation and a debtor may share it.
  await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`acuerdo:contact:${m.channel}:${m.recipient}`]);
}

/**
 * Queues the message inside the caller's transaction. The caller commits; the outbox
 * worker sends it when it is due.
 */
export async function queueUnprompted(trx: Knex.Transaction, m: UnpromptedMessage): Promise<QueueResult> {
  await lockContact(trx, m);
  const facts = await contactFacts(trx, m);
  if (facts === 'revoked') return { status: 'blocked', reason: 'canal_revocado' };
  if (await hasOpenDispute(trx, m.debtorId)) return { status: 'blocked', reason: 'disputa_abierta' };

  const decision = earliestAllowed(m.at, facts);
  let reason: DeferReason | undefined = decision.action === 'defer' ? decision.reason : undefined;
  let sendAt = decision.at;
  if (m.pace) {
    // Take a paced slot; if the rules refuse that slot (the window closed meanwhile), try from where they allow.
    for (let candidate = sendAt, i = 0; ; i++) {
      const slot = await m.pace(candidate);
      const check = earliestAllowed(slot, facts);
      if (check.at.getTime() === slot.getTime() || i >= 1000) {
        sendAt = slot;
        break;
      }
      if (check.action === 'defer') reason ??= check.reason;
      candidate = check.at;
    }
  }
  const status = reason ? 'deferred' : 'pending';
  const [row] = (await trx('outbox')
    .insert({
      conversation_id: m.conversationId ?? null,
      channel: m.channel,
      recipient: m.recipient,
      kind: m.kind,
      payload: JSON.stringify(m.payload),
      status,
      next_attempt_at: sendAt,
      created_at: m.at,
      updated_at: m.at,
      ...(reason ? { last_error: `deferred: ${reason}` } : {}),
    })
    .returning('id')) as { id: number }[];
  const outboxId = row!.id;
  await trx('contact_log').insert({
    debtor_id: m.debtorId ?? null,
    channel: m.channel,
    recipient: m.recipient,
    kind: m.kind satisfies ContactKind,
    outbox_id: outboxId,
    contacted_at: sendAt,
    campaign_id: m.campaignId ?? null,
    conversation_id: m.conversationId ?? null,
  });
  return reason ? { status: 'deferred', outboxId, sendAt, reason } : { status: 'queued', outboxId, sendAt };
}


export type SendCheck =
  | { action: 'send' }
  | { action: 'defer'; at: Date; reason: DeferReason }
  /** canal_revocado: the debtor revoked the channel; superseded: the debtor wrote since, so it no longer applies. */
  | { action: 'cancel'; reason: 'canal_revocado' | 'superseded' | 'disputa_abierta' };

/**
 * The last look before the outbox sends an unprompted row: the channel may have been
 * revoked since it was queued, the debtor may have written meanwhile (a timeout warning
 * or a campaign opening no longer applies), or the worker may be late (a row due at
 * 18:58 picked up at 19:05 waits for the next window). Replies and agents' messages
 * always pass.
 */
export async function recheckBeforeSend(
  db: Knex | Knex.Transaction,
  row: { id: number; channel: string; recipient: string; kind: string; conversation_id?: string | null },
  now: Date,
): Promise<SendCheck> {
  if (!(UNPROMPTED_KINDS as readonly string[]).includes(row.kind)) return { action: 'send' };
  const logged = (await db('contact_log').where({ outbox_id: row.id }).first('debtor_id')) as { debtor_id: number | null } | undefined;
  const debtorId = logged?.debtor_id ?? null;
  const who = { channel: row.channel, recipient: row.recipient, debtorId, kind: row.kind as ContactKind, at: now };
  if (await isChannelRevoked(db, who)) return { action: 'cancel', reason: 'canal_revocado' };
  if (await hasOpenDispute(db, debtorId)) return { action: 'cancel', reason: 'disputa_abierta' };

  const queued = (await db('outbox').where({ id: row.id }).first('created_at')) as { created_at: Date } | undefined;
  if (queued) {
    if (row.kind === 'warning' && row.conversation_id) {
      const conv = (await db('conversations').where({ id: row.conversation_id }).first('status', 'last_activity_at')) as
        | { status: string; last_activity_at: Date }
        | undefined;
      if (!conv || conv.status !== 'open' || conv.last_activity_at > queued.created_at) return { action: 'cancel', reason: 'superseded' };
    }
    if (row.kind === 'campaign') {
      const wrote = await db('conversations')
        .where({ channel: row.channel, user_id: row.recipient })
        .where('last_activity_at', '>', queued.created_at)
        .first('id');
      if (wrote) return { action: 'cancel', reason: 'superseded' };
    }
  }

  const express = await expressHoursFor(db, debtorId, row.channel, now);
  const window = checkDebtorWindow(now, express);
  if (!window.allowed) {
    await db('contact_log').where({ outbox_id: row.id }).update({ contacted_at: window.next });
    return { action: 'defer', at: window.next, reason: window.reason };
  }
  return { action: 'send' };
}
