/**
 * The compliance guard: every outbound collection message the debtor did not prompt
 * (campaigns, reminders, timeout warnings) passes here before it is queued. Replies in
 * a conversation the debtor started never do: they are not outbound contacts.
 *
 * Rules (Ley 2300 de 2023):
 * - only inside the legal window, or the debtor's recorded express request for other hours;
 * - at most one outbound contact per debtor per Bogotá day, across every channel;
 * - once the debtor answered on a channel, no other channel in the same week;
 * - never on a channel the debtor revoked.
 *
 * A blocked message is deferred to the next allowed time, never dropped; only a
 * revoked channel refuses it, and the caller records that refusal.
 */
import { InvariantError } from '../core/index.js';
import type { Knex } from '../store/index.js';
import {
  bogotaDay,
  checkDebtorWindow,
  parseClock,
  startOfNextBogotaDay,
  type ExpressHours,
  type WindowReason,
} from './contact-window.js';

/** The unprompted outbound kinds the guard governs (also outbox.kind and contact_log.kind). */
/**
 * The outbound contacts the agency starts (Ley 2300 governs them): campaigns,
 * reminders and timeout warnings. Replies and agents' messages are not among them.
 */
export const UNPROMPTED_KINDS = ['campaign', 'reminder', 'warning'] as const;
export type ContactKind = (typeof UNPROMPTED_KINDS)[number];

export type DeferReason = WindowReason | 'limite_diario' | 'otro_canal_semana';

export interface OutboundContact {
  channel: string;
  /** The address on that channel (phone, chat id). */
  recipient: string;
  /** The debtor, once known; the daily limit then spans every channel. */
  debtorId?: number | null;
  kind: ContactKind;
  /** When the message would go out. */
  at: Date;
}

export type ContactDecision =
  | { action: 'send'; at: Date }
  | { action: 'defer'; at: Date; reason: DeferReason }
  | { action: 'block'; reason: 'canal_revocado' };

const WEEK_MS = 7 * 24 * 60 * 60 * 1000;

type Db = Knex | Knex.Transaction;

/**
 * Every debtor row of the same person (one cédula can owe in several portfolios): the
 * rules are about the person, not the row.
 */
function samePerson(db: Db, debtorId: number): Knex.QueryBuilder {
  return db('debtors').whereIn('cedula', db('debtors').where({ id: debtorId }).select('cedula')).select('id');
}

/**
 * True when the debtor disputes the debt ("no debo eso") and no person has answered yet:
 * campaigns and reminders about that debt wait (disputa_abierta).
 */
export async function hasOpenDispute(db: Db, debtorId: number | null | undefined): Promise<boolean> {
  if (debtorId == null) return false;
  const row = (await db('disputes').where({ debtor_id: debtorId, status: 'abierta' }).first('id')) as { id: number } | undefined;
  return row !== undefined;
}

/** True when the debtor revoked this channel (for this address, or as a debtor). */
export async function isChannelRevoked(
  db: Db,
  who: { channel: string; recipient: string; debtorId?: number | null },
): Promise<boolean> {
  const row = (await db('opt_outs')
    .where({ kind: 'no_contactar', channel: who.channel })
    .whereNot('status', 'lifted')
    .where((q) => {
      q.where('user_id', who.recipient);
      if (who.debtorId != null) q.orWhereIn('debtor_id', samePerson(db, who.debtorId));
    })
    .first('id')) as { id: number } | undefined;
  return row !== undefined;
}

/** The debtor's express requests for other hours still in force at `at`. */
export async function expressHoursFor(db: Db, debtorId: number | null | undefined, channel: string, at: Date): Promise<ExpressHours[]> {
  if (debtorId == null) return [];
  const rows = (await db('contact_authorizations')
    .whereIn('debtor_id', samePerson(db, debtorId))
    .whereNull('revoked_at')
    .where((q) => q.whereNull('channel').orWhere('channel', channel))
    .where((q) => q.whereNull('valid_until').orWhere('valid_until', '>', at))
    .select('days', 'from_time', 'to_time', 'valid_until')) as {
    days: number[];
    from_time: string;
    to_time: string;
    valid_until: Date | null;
  }[];
  const out: ExpressHours[] = [];
  for (const r of rows) {
    const fromMinute = parseClock(r.from_time);
    const toMinute = parseClock(r.to_time);
    if (fromMinute === undefined || toMinute === undefined || fromMinute >= toMinute) continue;
    out.push({ days: r.days.map(Number), fromMinute, toMinute, validUntil: r.valid_until });
  }
  return out;
}

/**
 * The Bogotá days on which the debtor already has an outbound contact, sent or
 * reserved (a queued message reserves its day). Sends that failed before going out
 * do not count.
 */
async function contactedDays(db: Db, c: OutboundContact): Promise<Set<string>> {
  const rows = (await db('contact_log as l')
    .leftJoin('outbox as o', 'o.id', 'l.outbox_id')
    .where('l.contacted_at', '>=', new Date(c.at.getTime() - 24 * 60 * 60 * 1000))
    .where((q) => {
      q.where((w) => w.where('l.channel', c.channel).andWhere('l.recipient', c.recipient));
      if (c.debtorId != null) q.orWhereIn('l.debtor_id', samePerson(db, c.debtorId));
    })
    .where((q) => q.whereNull('o.id').orWhereNot('o.status', 'failed').orWhereNotNull('o.sent_at'))
    .select('l.contacted_at')) as { contacted_at: Date }[];
  return new Set(rows.map((r) => bogotaDay(r.contacted_at)));
}

/** The debtor's latest message to us within a week of `at`, on any channel (direct contact). */
async function lastDirectContact(db: Db, debtorId: number | null | undefined, at: Date): Promise<{ channel: string; at: Date } | undefined> {
  if (debtorId == null) return undefined;
  const row = (await db('messages as m')
    .join('conversations as c', 'c.id', 'm.conversation_id')
    .whereIn('c.debtor_id', samePerson(db, debtorId))
    .where('m.direction', 'in')
    .where('m.created_at', '>', new Date(at.getTime() - WEEK_MS))
    .orderBy('m.created_at', 'desc')
    .first('m.channel', 'm.created_at')) as { channel: string; created_at: Date } | undefined;
  return row ? { channel: row.channel, at: row.created_at } : undefined;
}

/** What the guard needs to know about a debtor, read once per decision. */
export interface ContactFacts {
  channel: string;
  express: readonly ExpressHours[];
  busyDays: ReadonlySet<string>;
  directContact?: { channel: string; at: Date };
}

/** Reads the facts for a contact, or 'revoked' when the channel is closed to it. */
export async function contactFacts(db: Db, c: OutboundContact): Promise<ContactFacts | 'revoked'> {
  if (await isChannelRevoked(db, c)) return 'revoked';
  // One after another: inside a transaction they share one connection.
  const express = await expressHoursFor(db, c.debtorId, c.channel, c.at);
  const busyDays = await contactedDays(db, c);
  const directContact = await lastDirectContact(db, c.debtorId, c.at);
  return { channel: c.channel, express, busyDays, ...(directContact ? { directContact } : {}) };
}

/**
 * Decides when an unprompted outbound contact may go out: now, deferred to the
 * earliest time every rule allows, or never on a revoked channel.
 */
export async function decideContact(db: Db, c: OutboundContact): Promise<ContactDecision> {
  const facts = await contactFacts(db, c);
  if (facts === 'revoked') return { action: 'block', reason: 'canal_revocado' };
  return earliestAllowed(c.at, facts);
}

/** The pure part of the guard: the first time at or after `from` every rule allows. */
export function earliestAllowed(
  from: Date,
  facts: ContactFacts,
): Exclude<ContactDecision, { action: 'block' }> {
  let t = from;
  let first: DeferReason | undefined;
  for (let i = 0; i < 400; i++) {
    const window = checkDebtorWindow(t, facts.express);
    if (!window.allowed) {
      first ??= window.reason;
      t = window.next;
      continue;
    }
    if (facts.busyDays.has(bogotaDay(t))) {
      first ??= 'limite_diario';
      t = startOfNextBogotaDay(t);
      continue;
    }
    const direct = facts.directContact;
    if (direct && direct.channel !== facts.channel && t.getTime() < direct.at.getTime() + WEEK_MS) {
      first ??= 'otro_canal_semana';
      t = new Date(direct.at.getTime() + WEEK_MS);
      continue;
    }
    return first ? { action: 'defer', at: t, reason: first } : { action: 'send', at: t };
  }
  throw new InvariantError('no allowed contact time found', { after: from.toISOString() });
}
