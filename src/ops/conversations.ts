import type { Knex } from '../store/index.js';
import { readMessages } from '../store/index.js';

/** The lifecycle statuses of the core schema. */
export const CONVERSATION_STATUSES = ['open', 'handoff', 'closed', 'archived'] as const;
export type ConversationStatus = (typeof CONVERSATION_STATUSES)[number];

/**
 * A conversation counts as "offered" when the debtor was shown an offer: it reached one
 * of these states (each says a plan and its figures) — the same test as the scheduler's
 * daily rollup (src/scheduler/jobs/maintenance.ts) — or it recorded an agreement. Plans
 * computed at identification (context `planes`) do not count: nobody saw them yet.
 */
export const OFFER_STATES = ['proponer_planes_pago', 'confirmar_acuerdo', 'proponer_contraoferta', 'objecion_sin_capacidad', 'objecion_rechazo'] as const;

export interface ConversationFilters {
  status?: ConversationStatus;
  /** The flow state, e.g. proponer_planes_pago. */
  state?: string;
  channel?: string;
  /** A portfolio id or name. */
  portfolio?: string;
  /** Opened at or after. */
  from?: Date;
  /** Opened before. */
  to?: Date;
  /** true: was handed to a person at some point; false: never was. */
  handoff?: boolean;
  /** Only these portfolios (and conversations without one): an agent's reach. */
  portfolioIds?: number[];
  limit: number;
  offset: number;
}

export interface ConversationSummary {
  id: string;
  channel: string;
  /** Where it came from: the deep-link payload that opened it (campaign attribution), if any. */
  source: string | null;
  user_id: string;
  state: string;
  status: ConversationStatus;
  tier: string;
  message_count: number;
  portfolio_id: number | null;
  portfolio: string | null;
  debtor_id: number | null;
  debtor_name: string | null;
  cedula: string | null;
  opened_at: string;
  last_activity_at: string;
  handoff_at: string | null;
  handoff_reason: string | null;
  assigned_to: string | null;
  closed_at: string | null;
  close_reason: string | null;
  last_message: string | null;
  /**
   * Who is writing (Ley 2300 art. 4): null before any cédula matched; pendiente (asked
   * the second fact), verificado, bloqueado (3 failures in 24 h), tercero (said they
   * write for the debtor: nothing disclosed).
   */
  verification: 'pendiente' | 'verificado' | 'bloqueado' | 'tercero' | null;
  /** How it was proved or what is asked: telefono, fecha_expedicion, obligacion, canal, ninguna… */
  verification_method: string | null;
  /** Wrong answers to the identity question in this conversation. */
  failed_attempts: number;
}

const iso = (v: Date | null | undefined): string | null => (v ? v.toISOString() : null);

/** Conversations `c` with their portfolio `p` and debtor `d`: what SUMMARY_COLUMNS reads from. */
export function summaryQuery(knex: Knex): Knex.QueryBuilder {
  return knex('conversations as c')
    .leftJoin('portfolios as p', 'p.id', 'c.portfolio_id')
    .leftJoin('debtors as d', 'd.id', 'c.debtor_id');
}

/** Applies a portfolio given by id or by name. */
export function wherePortfolio(q: Knex.QueryBuilder, column: string, nameColumn: string, portfolio: string): void {
  if (/^\d+$/.test(portfolio)) q.where(column, Number(portfolio));
  else q.where(nameColumn, portfolio);
}

type Row = Record<string, unknown> & {
  opened_at: Date;
  last_activity_at: Date;
  handoff_at: Date | null;
  closed_at: Date | null;
};

export function toSummary(r: Row): ConversationSummary {
  return {
    id: r.id as string,
    channel: r.channel as string,
    source: (r.source as string | null) ?? null,
    user_id: r.user_id as string,
    state: r.state as string,
    status: r.status as ConversationStatus,
    tier: r.tier as string,
    message_count: r.message_count as number,
    portfolio_id: (r.portfolio_id as number | null) ?? null,
    portfolio: (r.portfolio as string | null) ?? null,
    debtor_id: (r.debtor_id as number | null) ?? null,
    debtor_name: (r.debtor_name as string | null) ?? null,
    cedula: (r.cedula as string | null) ?? null,
    opened_at: r.opened_at.toISOString(),
    last_activity_at: r.last_activity_at.toISOString(),
    handoff_at: iso(r.handoff_at),
    handoff_reason: (r.handoff_reason as string | null) ?? null,
    assigned_to: (r.assigned_to as string | null) ?? null,
    closed_at: iso(r.closed_at),
    close_reason: (r.close_reason as string | null) ?? null,
    last_message: (r.last_message as string | null) ?? null,
    verification: (r.verification as ConversationSummary['verification']) ?? null,
    verification_method: (r.verification_method as string | null) ?? null,
    failed_attempts: Number(r.failed_attempts ?? 0),
  };
}

export const SUMMARY_COLUMNS = [
  'c.id',
  'c.channel',
  // Where it came from (a campaign's deep link), when known.
  'c.source',
  'c.user_id',
  'c.state',
  'c.status',
  'c.tier',
  'c.message_count',
  'c.portfolio_id',
  'p.name as portfolio',
  'c.debtor_id',
  'd.nombre_del_cliente as debtor_name',
  'd.cedula',
  'c.opened_at',
  'c.last_activity_at',
  'c.handoff_at',
  'c.handoff_reason',
  'c.assigned_to',
  'c.closed_at',
  'c.close_reason',
] as const;

/** The identity verification of `c` (its engine-private `_identidad`) and its failed attempts. */
export function identityColumns(knex: Knex): Knex.Raw[] {
  return [
    knex.raw(`c.context->'_identidad'->>'estado' as verification`),
    knex.raw(`c.context->'_identidad'->>'metodo' as verification_method`),
    knex.raw(`(select count(*)::int from identity_attempts ia where ia.conversation_id = c.id and ia.outcome = 'fallido') as failed_attempts`),
  ];
}

export function lastMessageColumn(knex: Knex): Knex.Raw {
  return knex.raw(
    `(select m.text from messages m where m.conversation_id = c.id and m.text is not null order by m.id desc limit 1) as last_message`,
  );
}

/** Conversations matching the filters, most recently active first, and how many match in all. */
export async function listConversations(knex: Knex, f: ConversationFilters): Promise<{ total: number; items: ConversationSummary[] }> {
  const q = summaryQuery(knex);
  if (f.status) q.where('c.status', f.status);
  if (f.state) q.where('c.state', f.state);
  if (f.channel) q.where('c.channel', f.channel);
  if (f.portfolio) wherePortfolio(q, 'c.portfolio_id', 'p.name', f.portfolio);
  // An agent limited to some portfolios also sees the conversations not yet tied to one.
  if (f.portfolioIds) q.where((w) => w.whereIn('c.portfolio_id', f.portfolioIds!).orWhereNull('c.portfolio_id'));
  if (f.from) q.where('c.opened_at', '>=', f.from);
  if (f.to) q.where('c.opened_at', '<', f.to);
  if (f.handoff === true) q.whereNotNull('c.handoff_at');
  if (f.handoff === false) q.whereNull('c.handoff_at');
  const [count] = (await q.clone().count<{ n: string }[]>({ n: '*' })) as { n: string | number }[];
  const rows = (await q
    .select(...SUMMARY_COLUMNS, lastMessageColumn(knex), ...identityColumns(knex))
    .orderBy('c.last_activity_at', 'desc')
    .orderBy('c.id')
    .limit(f.limit)
    .offset(f.offset)) as Row[];
  return { total: Number(count?.n ?? 0), items: rows.map(toSummary) };
}

export interface TranscriptMessage {
  id: number;
  direction: 'in' | 'out';
  author: 'debtor' | 'bot' | 'agent' | 'system';
  text: string | null;
  button_id: string | null;
  buttons: { id: string; text: string }[] | null;
  media_kind: string | null;
  intent: string | null;
  confidence: number | null;
  nlu_source: string | null;
  previous_state: string | null;
  next_state: string | null;
  created_at: string;
}

export interface Transcript {
  conversation: ConversationSummary & { context: Record<string, unknown> };
  messages: TranscriptMessage[];
}

/** One conversation with every message, oldest first; undefined when there is no such conversation. */
export async function getTranscript(knex: Knex, id: string): Promise<Transcript | undefined> {
  const row = (await summaryQuery(knex)
    .where('c.id', id)
    .first(...SUMMARY_COLUMNS, 'c.context', lastMessageColumn(knex), ...identityColumns(knex))) as (Row & { context: Record<string, unknown> }) | undefined;
  if (!row) return undefined;
  const messages = await readMessages(knex, { conversationId: id });
  return {
    conversation: { ...toSummary(row), context: row.context ?? {} },
    messages: messages.map((m) => ({
      id: m.id,
      direction: m.direction,
      author: m.author as TranscriptMessage['author'],
      text: m.text,
      button_id: m.button_id,
      buttons: m.buttons,
      media_kind: m.media_kind,
      intent: m.intent,
      confidence: m.confidence,
      nlu_source: m.nlu_source,
      previous_state: m.previous_state,
      next_state: m.next_state,
      created_at: m.created_at.toISOString(),
    })),
  };
}

export interface FunnelRow {
  portfolio_id: number | null;
  portfolio: string | null;
  channel: string;
  conversations: number;
  identified: number;
  offered: number;
  agreements: number;
}

/**
 * The negotiation funnel per portfolio and channel for conversations opened in the
 * window: conversations → identified (a debtor bound) → offered (reached an offer
 * state) → agreement. Each stage includes the later ones, so the funnel never widens.
 */
export async function funnel(knex: Knex, window: { from: Date; to: Date }): Promise<FunnelRow[]> {
  const { rows } = (await knex.raw(
    `with c as (
       select c.id, c.channel, c.portfolio_id, c.debtor_id,
              exists (select 1 from agreements a where a.conversation_id = c.id) as agreed,
              exists (select 1 from messages m where m.conversation_id = c.id and m.next_state = any(?)) as offered
         from conversations c
        where c.opened_at >= ? and c.opened_at < ?
     )
     select c.portfolio_id, p.name as portfolio, c.channel,
            count(*)::int as conversations,
            count(*) filter (where c.debtor_id is not null or c.agreed)::int as identified,
            count(*) filter (where c.offered or c.agreed)::int as offered,
            count(*) filter (where c.agreed)::int as agreements
       from c left join portfolios p on p.id = c.portfolio_id
      group by c.portfolio_id, p.name, c.channel
      order by p.name nulls last, c.channel`,
    [[...OFFER_STATES], window.from, window.to],
  )) as { rows: FunnelRow[] };
  return rows;
}

export interface NluOverview {
  threshold: number;
  sources: { source: string; messages: number; share: number; avg_confidence: number | null }[];
  low_confidence: {
    message_id: number;
    conversation_id: string;
    channel: string;
    text: string | null;
    intent: string | null;
    confidence: number;
    nlu_source: string | null;
    created_at: string;
  }[];
}

/** Inbound messages by NLU source in the window, and the latest ones under the threshold. */
export async function nluOverview(knex: Knex, window: { from: Date; to: Date }, threshold: number, limit = 20): Promise<NluOverview> {
  const counts = (await knex('messages')
    .where({ direction: 'in' })
    .whereNotNull('nlu_source')
    .where('created_at', '>=', window.from)
    .where('created_at', '<', window.to)
    .groupBy('nlu_source')
    .select('nlu_source as source', knex.raw('count(*)::int as messages'), knex.raw('avg(confidence) as avg_confidence'))
    .orderBy('messages', 'desc')) as { source: string; messages: number; avg_confidence: number | null }[];
  const total = counts.reduce((n, r) => n + r.messages, 0);
  const low = (await knex('messages')
    .where({ direction: 'in' })
    .whereNotNull('confidence')
    .where('confidence', '<', threshold)
    .whereNot('nlu_source', 'cedula')
    .orderBy('id', 'desc')
    .limit(limit)
    .select('id as message_id', 'conversation_id', 'channel', 'text', 'intent', 'confidence', 'nlu_source', 'created_at')) as (Omit<
    NluOverview['low_confidence'][number],
    'created_at'
  > & { created_at: Date })[];
  return {
    threshold,
    sources: counts.map((r) => ({
      source: r.source,
      messages: r.messages,
      share: total ? r.messages / total : 0,
      avg_confidence: r.avg_confidence === null ? null : Number(r.avg_confidence),
    })),
    low_confidence: low.map((m) => ({ ...m, created_at: m.created_at.toISOString() })),
  };
}
