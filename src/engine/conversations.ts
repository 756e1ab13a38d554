/**
 * The conversation store: the SQL the engine runs in a turn, kept in one place and
 * written for few round trips (docs/engine.md). A turn's whole write is one statement,
 * `select * from acuerdo_save_turn($1)` (a function the migrations define), with the
 * turn as one bound JSON parameter: it takes the channel user's advisory lock, saves the
 * conversation only if it still has the version the turn was computed from, and writes
 * the messages, the outbox row and the effects' rows. Every value is bound; nothing is
 * escaped by hand, and only knex's public API is used.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { NluResult } from '../nlu/index.js';
import type { DebtorColumns } from '../store/index.js';
import { readMessages, type StoredMessageRow } from '../store/index.js';
import type { DebtorRecord } from './actions.js';
import { InvariantError, type Button, type ChannelName, type Reply } from '../core/index.js';

export type Db = Knex | Knex.Transaction;

export type ConversationStatus = 'open' | 'handoff' | 'closed' | 'archived';

export interface ConversationRow {
  id: string;
  channel: ChannelName;
  user_id: string;
  debtor_id: number | null;
  portfolio_id: number | null;
  flow: string;
  state: string;
  context: Record<string, unknown>;
  status: ConversationStatus;
  tier: string;
  message_count: number;
  fallback_count: number;
  handoff_reason: string | null;
  close_reason: string | null;
  channel_ref: unknown;
  opened_at: Date;
  last_activity_at: Date;
  handoff_at: Date | null;
  closed_at: Date | null;
  /** Bumped by a trigger on every update, by any writer: the engine's staleness check. */
  version: number;
}

/**
 * Serializes turns of one channel user across every process: a transaction-scoped
 * advisory lock on a 64-bit hash of "channel:user" (channel names have no colon, so
 * the key is unambiguous). Released at commit or rollback.
 */
export async function lockChannelUser(trx: Knex.Transaction, channel: string, userId: string): Promise<void> {
  await trx.raw('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`${channel}:${userId}`]);
}

export function newConversation(channel: ChannelName, userId: string, flow: string, state: string, now: Date): ConversationRow {
  return {
    id: randomUUID(),
    channel,
    user_id: userId,
    debtor_id: null,
    portfolio_id: null,
    flow,
    state,
    context: {},
    status: 'open',
    tier: 'default',
    message_count: 0,
    fallback_count: 0,
    handoff_reason: null,
    close_reason: null,
    channel_ref: null,
    opened_at: now,
    last_activity_at: now,
    handoff_at: null,
    closed_at: null,
    version: 0,
  };
}

export interface StoredMessage {
  direction: 'in' | 'out';
  author: 'debtor' | 'bot' | 'agent' | 'system';
  externalId?: string;
  text?: string;
  buttonId?: string;
  buttons?: Button[];
  mediaKind?: string;
  nlu?: NluResult;
  /** An inbound message's time by the platform (InboundMessage.at); replies have none. */
  sentAt?: Date;
}

/**
 * A row a turn's effect adds. `parent` names an agreement by its reference when the row
 * belongs to one written in the same turn (an installment): its id is looked up in the
 * same statement.
 */
export interface TurnRow {
  table: 'agreements' | 'agreement_installments' | 'opt_outs' | 'conversation_events' | 'disputes' | 'identity_attempts' | 'third_party_contacts' | 'channel_contacts';
  values: Record<string, unknown>;
  parent?: { column: 'agreement_id' | 'replaced_by'; reference: string };
  /** Update the rows matching these values instead of inserting (`parent` then sets its column too). */
  where?: Record<string, unknown>;
}

export interface TurnWrite {
  conversation: ConversationRow;
  /** True when the conversation row does not exist yet. */
  isNew: boolean;
  previousState: string;
  messages: StoredMessage[];
  /** Replies for the outbox, with the status they start in (none for channels answered inline: the caller delivers them). */
  outbox?: { recipient: string; replies: Reply[]; status: 'pending'; kind: string };
  /** Rows the turn's effects add (agreements, opt-outs, events), written in the same transaction. */
  rows: TurnRow[];
  /** Commit synchronously (wait for the WAL flush). */
  durable: boolean;
  /** The version the turn was computed from; the save fails if the row has changed since. */
  expectedVersion?: number;
  now: Date;
}

export interface SavedTurn {
  outboxId?: number;
  /** The conversation's version after the save. */
  version: number;
}

/** The conversation columns a turn reads, with the version it is computed from. */
const CONVERSATION_SELECT = `select c.id, c.channel, c.user_id, c.debtor_id, c.portfolio_id, c.flow, c.state, c.context, c.status, c.tier,
  c.message_count, c.fallback_count, c.handoff_reason, c.close_reason, c.channel_ref, c.opened_at, c.last_activity_at,
  c.handoff_at, c.closed_at, c.version
  from conversations c where c.channel = ? and c.user_id = ? and c.status in ('open', 'handoff')`;

const DUPLICATE_SELECT = `select exists (select 1 from messages m where m.channel = ? and m.external_id = ? and m.direction = 'in') as duplicate`;

/** The turn as acuerdo_save_turn reads it (its JSON keys are the function's contract). */
function turnJson(w: TurnWrite): string {
  if (!w.messages.length) throw new InvariantError('a turn saves at least the inbound message', { conversationId: w.conversation.id });
  const { version: _version, ...conversation } = w.conversation;
  return JSON.stringify({
    conversation,
    isNew: w.isNew,
    expectedVersion: w.expectedVersion ?? null,
    previousState: w.previousState,
    now: w.now,
    durable: w.durable,
    messages: w.messages.map((m) => ({
      direction: m.direction,
      author: m.author,
      external_id: m.externalId ?? null,
      text: m.text ?? null,
      button_id: m.buttonId ?? null,
      buttons: m.buttons?.length ? m.buttons : null,
      media_kind: m.mediaKind ?? null,
      intent: m.nlu?.intent ?? null,
      confidence: m.nlu?.confidence ?? null,
      nlu_source: m.nlu?.source ?? null,
      entities: m.nlu?.entities ?? null,
      sent_at: m.sentAt ?? null,
    })),
    outbox: w.outbox ?? null,
    rows: w.rows,
  });
}

async function saveTurn(db: Db, w: TurnWrite): Promise<SavedTurn> {
  const { rows } = (await db.raw('select * from acuerdo_save_turn(?::jsonb)', [turnJson(w)])) as { rows: { outbox_id: string | number | null; version: number }[] };
  const row = rows[0];
  if (!row) throw new InvariantError('the turn was not saved: acuerdo_save_turn returned no row', { conversationId: w.conversation.id });
  return { outboxId: row.outbox_id === null ? undefined : Number(row.outbox_id), version: row.version };
}

/** PostgreSQL's answer when a save met a newer conversation or a unique index: read again under the lock. */
export function isStaleTurn(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === '40001' || code === '23505';
}

/**
 * Where a turn reads (the actions' ports) and saves: outside any transaction for the
 * optimistic paths, or inside the locked one. Reads take $1-style placeholders.
 */
export class TurnSession {
  constructor(private readonly db: Db) {}

  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    if (sql.includes('?')) throw new InvariantError('turn reads use $n placeholders, not ?', { sql });
    const bindings: unknown[] = [];
    const text = sql.replace(/\$(\d+)/g, (_m, n: string) => {
      bindings.push(params[Number(n) - 1]);
      return '?';
    });
    return ((await this.db.raw(text, bindings as Knex.RawBinding[])) as { rows: T[] }).rows;
  }

  /** The live conversation of a channel user, and whether this delivery was seen before. */
  async peek(channel: string, userId: string, messageId: string): Promise<{ conversation?: ConversationRow; duplicate: boolean }> {
    // One statement: the delivery check, and the live conversation beside it (none: nulls).
    const { rows } = (await this.db.raw(`select d.duplicate, c.* from (${DUPLICATE_SELECT}) d left join lateral (${CONVERSATION_SELECT}) c on true`, [
      channel,
      messageId,
      channel,
      userId,
    ])) as { rows: (ConversationRow & { duplicate: boolean })[] };
    const row = rows[0];
    if (!row) return { duplicate: false };
    const { duplicate, ...conversation } = row;
    return { duplicate: Boolean(duplicate), conversation: conversation.id ? conversation : undefined };
  }

  /** Saves the turn: one statement (in the session's transaction, if it has one). */
  save(w: TurnWrite): Promise<SavedTurn> {
    return saveTurn(this.db, w);
  }
}

/** A session with no transaction of its own: each read and the save run on the pool. */
export function optimisticSession(knex: Knex): TurnSession {
  return new TurnSession(knex);
}

/**
 * Runs `fn` in a transaction holding the channel user's advisory lock, with the live
 * conversation loaded FOR UPDATE (writers that do not take the advisory lock, such as an
 * agent's console, wait for the turn) and the delivery's id checked.
 */
export async function withLockedTurn<T>(
  knex: Knex,
  key: { channel: string; userId: string; messageId: string },
  fn: (session: TurnSession, loaded: { conversation?: ConversationRow; duplicate: boolean }) => Promise<T>,
): Promise<T> {
  return knex.transaction(async (trx) => {
    await lockChannelUser(trx, key.channel, key.userId);
    const dup = (await trx.raw(DUPLICATE_SELECT, [key.channel, key.messageId])) as { rows: { duplicate: boolean }[] };
    const conv = (await trx.raw(`${CONVERSATION_SELECT} for update`, [key.channel, key.userId])) as { rows: ConversationRow[] };
    return fn(new TurnSession(trx), { duplicate: Boolean(dup.rows[0]?.duplicate), conversation: conv.rows[0] });
  });
}

interface DebtorJoinRow extends DebtorColumns {
  id: number;
  portfolio_id: number;
  portfolio_name: string;
  tier: string;
  phone: string | null;
  fecha_expedicion: string | null;
  numero_obligacion: string | null;
}

function toDebtor(r: DebtorJoinRow): DebtorRecord {
  return {
    id: r.id,
    portfolioId: r.portfolio_id,
    portfolioName: r.portfolio_name,
    cedula: r.cedula,
    nombreDelCliente: r.nombre_del_cliente,
    saldoTotal: r.saldo_total,
    banco: r.banco,
    oferta1: r.oferta_1,
    oferta2: r.oferta_2,
    hasta3: r.hasta_3_cuotas,
    hasta6: r.hasta_6_cuotas,
    hasta12: r.hasta_12_cuotas,
    tier: r.tier,
    phone: r.phone,
    fechaExpedicion: r.fecha_expedicion,
    numeroObligacion: r.numero_obligacion,
  };
}

const DEBTOR_SELECT = `select d.id, d.portfolio_id, p.name as portfolio_name, d.cedula, d.nombre_del_cliente, d.saldo_total, d.banco,
  d.oferta_1, d.oferta_2, d.hasta_3_cuotas, d.hasta_6_cuotas, d.hasta_12_cuotas, d.tier,
  d.phone, d.fecha_expedicion, d.numero_obligacion
  from debtors d join portfolios p on p.id = d.portfolio_id`;

export async function findDebtorsByCedula(session: TurnSession, cedula: string): Promise<DebtorRecord[]> {
  return (await session.query<DebtorJoinRow>(`${DEBTOR_SELECT} where d.cedula = $1 order by d.id`, [cedula])).map(toDebtor);
}

export async function findDebtorById(session: TurnSession, id: number): Promise<DebtorRecord | undefined> {
  if (!Number.isSafeInteger(id)) return undefined;
  const [row] = await session.query<DebtorJoinRow>(`${DEBTOR_SELECT} where d.id = $1`, [id]);
  return row ? toDebtor(row) : undefined;
}

/**
 * Failed identity answers within the lockout window, counted since the last success:
 * for any of the debtor rows (one cédula), and for the channel user writing.
 */
export async function recentIdentityFailures(
  session: TurnSession,
  debtorIds: number[],
  channel: string,
  userId: string,
  since: Date,
): Promise<{ debtor: number; user: number }> {
  const [row] = await session.query<{ debtor: number; user: number }>(
    `select
       (select count(*)::int from identity_attempts a
         where a.debtor_id = any($1::bigint[]) and a.outcome = 'fallido' and a.created_at > $4
           and a.created_at > coalesce((select max(v.created_at) from identity_attempts v
                                         where v.debtor_id = any($1::bigint[]) and v.outcome = 'verificado'), '-infinity')) as debtor,
       (select count(*)::int from identity_attempts a
         where a.channel = $2 and a.user_id = $3 and a.outcome = 'fallido' and a.created_at > $4
           and a.created_at > coalesce((select max(v.created_at) from identity_attempts v
                                         where v.channel = $2 and v.user_id = $3 and v.outcome = 'verificado'), '-infinity')) as user`,
    [debtorIds, channel, userId, since]
  );
  return { debtor: row?.debtor ?? 0, user: row?.user ?? 0 };
}

/** The last phone a channel proved for one of its users (a Telegram contact they shared). */
export async function channelContactPhone(session: TurnSession, channel: string, userId: string): Promise<string | undefined> {
  const [row] = await session.query<{ phone: string }>(
    'select phone from channel_contacts where channel = $1 and user_id = $2 order by created_at desc, id desc limit 1',
    [channel, userId]
  );
  return row?.phone;
}

export async function portfolioPolicyRow(session: TurnSession, portfolioId: number): Promise<{ name: string; policy: unknown } | undefined> {
  const [row] = await session.query<{ name: string; policy: unknown }>('select name, policy from portfolios where id = $1', [portfolioId]);
  return row;
}

/** One conversation with its messages, oldest first (the chat API's historial, an agent's view). */
export interface Transcript {
  conversation: ConversationRow;
  messages: Omit<StoredMessageRow, 'conversation_id' | 'external_id'>[];
}

export async function loadTranscript(db: Db, conversationId: string): Promise<Transcript | undefined> {
  const conversation = (await db('conversations').where({ id: conversationId }).first()) as ConversationRow | undefined;
  if (!conversation) return undefined;
  const messages = (await readMessages(db, { conversationId })).map(({ conversation_id: _c, external_id: _e, ...m }) => m);
  return { conversation, messages };
}
