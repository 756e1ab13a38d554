/**
 * The conversation store: the SQL the engine runs in a turn, kept in one place and
 * written for few round trips (docs/engine.md). The fast path is one: BEGIN + advisory
 * lock + a version-checked save of the conversation, its messages and its outbox row +
 * COMMIT. The full path is two: BEGIN + lock + load, then save + COMMIT. The
 * statements are prepared once per connection. (Measured on the 2-core machine: five
 * separate unprepared statements per turn cost PostgreSQL several times more.)
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import pg from 'pg';
import type { NluResult } from '../nlu/types.js';
import type { DebtorColumns } from '../store/import.js';
import { readMessages } from '../store/transcripts.js';
import type { DebtorRecord } from './actions.js';
import { InvariantError, type Button, type ChannelName, type Reply } from '../core/index.js';

export type Db = Knex | Knex.Transaction;

/**
 * pg's escapeLiteral, without its character-by-character loop (a turn escapes a few
 * kilobytes of JSON): quotes doubled, and with backslashes an E'' literal with them doubled.
 */
export function escapeLiteral(text: string): string {
  const quoted = text.replace(/'/g, "''");
  return text.includes('\\') ? ` E'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`;
}

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
  /** Replies for the outbox, with the status they start in (sent for channels answered inline). */
  outbox?: { recipient: string; replies: Reply[]; status: 'pending' | 'sent'; kind: string };
  /** Rows the turn's effects add (agreements, opt-outs, events), written in the same transaction. */
  rows: TurnRow[];
  /** Commit synchronously (wait for the WAL flush). */
  durable: boolean;
  /** The version the turn was computed from; the save fails if the row has changed since. */
  expectedVersion?: number;
  now: Date;
}

/** A value as an SQL literal. Only for values the engine builds (numbers, dates, text, JSON). */
export function sqlLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new InvariantError('a turn value is not a finite number', { value: v });
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (v instanceof Date) return `${escapeLiteral(v.toISOString())}::timestamptz`;
  if (typeof v === 'object') return `${escapeLiteral(JSON.stringify(v))}::jsonb`;
  return escapeLiteral(String(v));
}

const json = (v: unknown) => (v === undefined || v === null ? 'NULL' : `${escapeLiteral(JSON.stringify(v))}::jsonb`);

const CONVERSATION_COLUMNS = [
  'id',
  'channel',
  'user_id',
  'debtor_id',
  'portfolio_id',
  'flow',
  'state',
  'context',
  'status',
  'tier',
  'message_count',
  'fallback_count',
  'handoff_reason',
  'close_reason',
  'channel_ref',
  'opened_at',
  'last_activity_at',
  'handoff_at',
  'closed_at',
] as const satisfies readonly (keyof ConversationRow)[];

const CONVERSATION_TYPES = [
  'uuid',
  'text',
  'text',
  'bigint',
  'integer',
  'text',
  'text',
  'jsonb',
  'text',
  'text',
  'integer',
  'integer',
  'text',
  'text',
  'jsonb',
  'timestamptz',
  'timestamptz',
  'timestamptz',
  'timestamptz',
];

/** $n of a conversation column in acuerdo_save ($2 … $20). */
const col = (name: (typeof CONVERSATION_COLUMNS)[number]) => `$${CONVERSATION_COLUMNS.indexOf(name) + 2}`;

/**
 * The turn's statements, prepared once per connection (planning them on every turn cost
 * PostgreSQL as much as running them). Values are passed with EXECUTE inside the
 * batched simple queries.
 */
const PREPARE = [
  `prepare acuerdo_lock(text) as select pg_advisory_xact_lock(hashtextextended($1, 0))`,
  `prepare acuerdo_dup(text, text) as select exists (
     select 1 from messages m where m.channel = $1 and m.external_id = $2 and m.direction = 'in') as duplicate`,
  `prepare acuerdo_load(text, text) as select ${CONVERSATION_COLUMNS.join(', ')}, version from conversations c
     where c.channel = $1 and c.user_id = $2 and c.status in ('open', 'handoff') for update`,
  // $1 is new; $2-$20 the conversation; $21 the version it must still have (null: unchecked);
  // $22-$32 the messages as arrays; $33 previous state; $34 now; $35-$38 the outbox row (null recipient: none).
  `prepare acuerdo_save(boolean, ${CONVERSATION_TYPES.join(', ')}, bigint,
       text[], text[], text[], text[], text[], jsonb[], text[], text[], real[], text[], jsonb[],
       text, timestamptz, text, text, jsonb, text) as
   with ins as (
     insert into conversations (${CONVERSATION_COLUMNS.join(', ')})
     select ${CONVERSATION_COLUMNS.map((c) => col(c)).join(', ')} where $1
     returning id, version
   ), upd as (
     update conversations set ${CONVERSATION_COLUMNS.filter((c) => !['id', 'channel', 'user_id', 'opened_at'].includes(c))
       .map((c) => `${c} = ${col(c)}`)
       .join(', ')}
     where not $1 and id = $2 and ($21::bigint is null or version = $21)
     returning id, version
   ), conv as (
     select id, version from ins union all select id, version from upd
   ), msgs as (
     -- A stale version leaves conv empty: the NULL conversation_id aborts the whole transaction.
     insert into messages (conversation_id, direction, author, channel, external_id, text, button_id, buttons, media_kind,
                           intent, confidence, nlu_source, entities, previous_state, next_state, created_at)
     select (select id from conv), d, a, $3, e, t, b, bu, mk, i, cf, ns, en, $33, $8, $34
     from unnest($22::text[], $23::text[], $24::text[], $25::text[], $26::text[], $27::jsonb[], $28::text[], $29::text[],
                 $30::real[], $31::text[], $32::jsonb[]) as x(d, a, e, t, b, bu, mk, i, cf, ns, en)
   ), box as (
     insert into outbox (conversation_id, channel, recipient, kind, payload, status, next_attempt_at, created_at, updated_at, sent_at)
     select id, $3, $35, $36, $37, $38, $34, $34, $34, case when $38 = 'sent' then $34 end from conv where $35 is not null
     returning id
   )
   select (select id from box) as outbox_id, (select version from conv) as version`,
].join(';\n');

function array(values: unknown[], type: string): string {
  return `array[${values.map((v) => (type === 'jsonb' ? json(v) : sqlLiteral(v))).join(', ')}]::${type}[]`;
}

/** EXECUTE acuerdo_save(…) for a turn. */
function saveCall(w: TurnWrite): string {
  const c = w.conversation;
  const m = w.messages;
  const args = [
    sqlLiteral(w.isNew),
    ...CONVERSATION_COLUMNS.map((k) => (k === 'context' || k === 'channel_ref' ? json(c[k]) : sqlLiteral(c[k]))),
    sqlLiteral(w.expectedVersion ?? null),
    array(m.map((x) => x.direction), 'text'),
    array(m.map((x) => x.author), 'text'),
    array(m.map((x) => x.externalId ?? null), 'text'),
    array(m.map((x) => x.text ?? null), 'text'),
    array(m.map((x) => x.buttonId ?? null), 'text'),
    array(m.map((x) => (x.buttons?.length ? x.buttons : null)), 'jsonb'),
    array(m.map((x) => x.mediaKind ?? null), 'text'),
    array(m.map((x) => x.nlu?.intent ?? null), 'text'),
    array(m.map((x) => x.nlu?.confidence ?? null), 'real'),
    array(m.map((x) => x.nlu?.source ?? null), 'text'),
    array(m.map((x) => x.nlu?.entities ?? null), 'jsonb'),
    sqlLiteral(w.previousState),
    sqlLiteral(w.now),
    sqlLiteral(w.outbox?.recipient ?? null),
    sqlLiteral(w.outbox?.kind ?? null),
    json(w.outbox?.replies ?? null),
    sqlLiteral(w.outbox?.status ?? null),
  ];
  return `execute acuerdo_save(${args.join(', ')})`;
}

export interface SavedTurn {
  outboxId?: number;
  /** The conversation's version after the save. */
  version: number;
}

function savedFrom(result: pg.QueryResult | undefined): SavedTurn {
  const row = result?.rows[0] as { outbox_id: number | null; version: number } | undefined;
  if (!row) throw new InvariantError('the turn was not saved: the save statement returned no row');
  return { outboxId: row.outbox_id ?? undefined, version: row.version };
}

function saveStatements(w: TurnWrite): string[] {
  if (!w.messages.length) throw new InvariantError('a turn saves at least the inbound message', { conversationId: w.conversation.id });
  const statements = [saveCall(w), ...w.rows.map((r) => (r.where ? updateStatement(r.table, r.values, r.where, r.parent) : insertStatement(r.table, r.values, r.parent)))];
  // A turn without legal or business facts need not wait for the disk (see EngineOptions.durability).
  if (!w.durable) statements.push('set local synchronous_commit to off');
  statements.push('commit');
  return statements;
}

function updateStatement(table: string, values: Record<string, unknown>, where: Record<string, unknown>, parent?: TurnRow['parent']): string {
  const sets = Object.entries(values).map(([k, v]) => `${k} = ${sqlLiteral(v)}`);
  if (parent) sets.push(`${parent.column} = (select a.id from agreements a where a.reference = ${sqlLiteral(parent.reference)})`);
  const conditions = Object.entries(where).map(([k, v]) => `${k} = ${sqlLiteral(v)}`);
  return `update ${table} set ${sets.join(', ')} where ${conditions.join(' and ')}`;
}

function insertStatement(table: string, values: Record<string, unknown>, parent?: TurnRow['parent']): string {
  const cols = Object.keys(values);
  const literals = cols.map((k) => sqlLiteral(values[k]));
  if (parent) {
    return `insert into ${table} (${parent.column}, ${cols.join(', ')}) select a.id, ${literals.join(', ')} from agreements a where a.reference = ${sqlLiteral(parent.reference)}`;
  }
  return `insert into ${table} (${cols.join(', ')}) values (${literals.join(', ')})`;
}

/** Connections that have the turn's statements prepared. */
const prepared = new WeakSet<pg.ClientBase>();

/**
 * One turn's transaction on one pooled connection, in two round trips: BEGIN + lock +
 * load, then save + COMMIT. Statements are sent together as one simple query, so the
 * values are inlined as literals (escaped by escapeLiteral above).
 */
export class TurnSession {
  private open = false;
  constructor(private readonly client: pg.ClientBase) {}

  /**
   * Begins, takes the channel user's advisory lock, checks the delivery's id and loads
   * the live conversation, locking its row (writers that do not take the advisory
   * lock, such as an agent's console, wait for the turn).
   */
  async begin(channel: string, userId: string, messageId: string): Promise<{ conversation?: ConversationRow; duplicate: boolean }> {
    await this.prepare();
    // A failed fast path left its transaction open and aborted: end it in the same round trip.
    const rollback = this.open ? ['rollback'] : [];
    this.open = true;
    const results = (await this.client.query(
      [
        ...rollback,
        'begin',
        `execute acuerdo_lock(${sqlLiteral(`${channel}:${userId}`)})`,
        `execute acuerdo_dup(${sqlLiteral(channel)}, ${sqlLiteral(messageId)})`,
        `execute acuerdo_load(${sqlLiteral(channel)}, ${sqlLiteral(userId)})`,
      ].join(';\n'),
    )) as unknown as pg.QueryResult[];
    const at = rollback.length;
    const duplicate = Boolean((results[at + 2]?.rows[0] as { duplicate?: boolean } | undefined)?.duplicate);
    const conversation = results[at + 3]?.rows[0] as ConversationRow | undefined;
    return { duplicate, conversation };
  }

  /** Prepares the turn's statements the first time this connection is used for a turn (they outlive rollbacks). */
  async prepare(): Promise<void> {
    if (prepared.has(this.client)) return;
    await this.client.query(PREPARE);
    prepared.add(this.client);
  }

  /** A read inside the turn (the actions' ports). Named queries are prepared once per connection. */
  async query<T>(sql: string, params: unknown[] = [], name?: string): Promise<T[]> {
    return (await this.client.query({ text: sql, values: params, name })).rows as T[];
  }

  /** Saves the turn and commits. */
  async commit(w: TurnWrite): Promise<SavedTurn> {
    const results = (await this.client.query(saveStatements(w).join(';\n'))) as unknown as pg.QueryResult[];
    this.open = false;
    return savedFrom(results[0]);
  }

  /**
   * One round trip for a turn computed from a cached conversation: begin, take the
   * lock, save only if the row still has `w.expectedVersion`, commit. Throws (and the
   * session rolls back) when the cache was stale or the delivery was a duplicate.
   */
  async saveOptimistic(channel: string, userId: string, w: TurnWrite): Promise<SavedTurn> {
    await this.prepare();
    this.open = true;
    const results = (await this.client.query(
      ['begin', `execute acuerdo_lock(${sqlLiteral(`${channel}:${userId}`)})`, ...saveStatements(w)].join(';\n'),
    )) as unknown as pg.QueryResult[];
    this.open = false;
    return savedFrom(results[2]);
  }

  async end(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    await this.client.query('rollback');
  }
}

/** Runs `fn` on a connection of the knex pool, ending any transaction it left open. */
export async function withTurnSession<T>(knex: Knex, fn: (session: TurnSession) => Promise<T>): Promise<T> {
  const client = (await knex.client.acquireConnection()) as pg.ClientBase;
  const session = new TurnSession(client);
  try {
    return await fn(session);
  } finally {
    try {
      await session.end();
    } finally {
      await knex.client.releaseConnection(client);
    }
  }
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
  return (await session.query<DebtorJoinRow>(`${DEBTOR_SELECT} where d.cedula = $1 order by d.id`, [cedula], 'acuerdo_debtors_by_cedula')).map(toDebtor);
}

export async function findDebtorById(session: TurnSession, id: number): Promise<DebtorRecord | undefined> {
  if (!Number.isSafeInteger(id)) return undefined;
  const [row] = await session.query<DebtorJoinRow>(`${DEBTOR_SELECT} where d.id = $1`, [id], 'acuerdo_debtor_by_id');
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
    [debtorIds, channel, userId, since],
    'acuerdo_identity_failures',
  );
  return { debtor: row?.debtor ?? 0, user: row?.user ?? 0 };
}

/** The last phone a channel proved for one of its users (a Telegram contact they shared). */
export async function channelContactPhone(session: TurnSession, channel: string, userId: string): Promise<string | undefined> {
  const [row] = await session.query<{ phone: string }>(
    'select phone from channel_contacts where channel = $1 and user_id = $2 order by created_at desc, id desc limit 1',
    [channel, userId],
    'acuerdo_channel_contact',
  );
  return row?.phone;
}

export async function portfolioPolicyRow(session: TurnSession, portfolioId: number): Promise<{ name: string; policy: unknown } | undefined> {
  const [row] = await session.query<{ name: string; policy: unknown }>('select name, policy from portfolios where id = $1', [portfolioId], 'acuerdo_portfolio_policy');
  return row;
}

/** One conversation with its messages, oldest first (the chat API's historial, an agent's view). */
export interface Transcript {
  conversation: ConversationRow;
  messages: {
    id: number;
    direction: 'in' | 'out';
    author: string;
    channel: string;
    text: string | null;
    button_id: string | null;
    buttons: Button[] | null;
    media_kind: string | null;
    intent: string | null;
    confidence: number | null;
    nlu_source: string | null;
    entities: Record<string, unknown> | null;
    previous_state: string | null;
    next_state: string | null;
    created_at: Date;
  }[];
}

export async function loadTranscript(db: Db, conversationId: string): Promise<Transcript | undefined> {
  const conversation = (await db('conversations').where({ id: conversationId }).first()) as ConversationRow | undefined;
  if (!conversation) return undefined;
  const messages = (await readMessages(db, { conversationId })).map(({ conversation_id: _c, external_id: _e, ...m }) => m);
  return { conversation, messages };
}
