/**
 * The housekeeping jobs: retention (every 4 hours), archiving (06:00) and the daily
 * metrics rollup (07:00), America/Bogota.
 */
import type { Knex } from '../../store/index.js';
import type { Job } from '../scheduler.js';
import { OFFER_STATES } from '../../ops/index.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionSettings {
  /** llm_calls: the AI usage audit. */
  aiAuditDays: number;
  /** scheduler_runs, finished outbox rows (not campaigns'), turn_stats, resolved alerts. */
  logDays: number;
  /** contact_log: the evidence of every unprompted contact (Ley 2300). */
  contactLogDays: number;
}

interface RetentionRule {
  table: string;
  column: string;
  days: (s: RetentionSettings) => number;
  where?: (q: Knex.QueryBuilder) => void;
}

const RULES: RetentionRule[] = [
  { table: 'llm_calls', column: 'created_at', days: (s) => s.aiAuditDays },
  { table: 'scheduler_runs', column: 'started_at', days: (s) => s.logDays, where: (q) => void q.whereNot('status', 'running') },
  {
    table: 'outbox',
    column: 'created_at',
    days: (s) => s.logDays,
    where: (q) => void q.whereIn('status', ['sent', 'delivered', 'read', 'failed']).whereNot('kind', 'campaign'),
  },
  { table: 'turn_stats', column: 'minute', days: (s) => s.logDays },
  { table: 'alerts', column: 'resolved_at', days: (s) => s.logDays, where: (q) => void q.whereNotNull('resolved_at') },
  { table: 'contact_log', column: 'contacted_at', days: (s) => s.contactLogDays },
];

/** Deletes the rows older than their retention; returns how many per table. */
export async function cleanUp(knex: Knex, now: Date, settings: RetentionSettings): Promise<Record<string, number>> {
  const deleted: Record<string, number> = {};
  for (const rule of RULES) {
    // Tables of features that are not installed are skipped.
    if (!(await knex.schema.hasTable(rule.table))) continue;
    const q = knex(rule.table).where(rule.column, '<', new Date(now.getTime() - rule.days(settings) * DAY_MS));
    rule.where?.(q);
    deleted[rule.table] = await q.delete();
  }
  return deleted;
}

export function retentionJob(settings: () => RetentionSettings): Job {
  return {
    name: 'retention-cleanup',
    schedule: '0 */4 * * *',
    description: 'every 4 hours: delete audit and log rows older than their retention',
    run: async (ctx) => ({ deleted: await cleanUp(ctx.knex, ctx.now, settings()) }),
  };
}

/** Marks closed conversations older than `days` as archived; their messages stay. */
export async function archiveConversations(knex: Knex, now: Date, days: number): Promise<number> {
  return knex('conversations')
    .where({ status: 'closed' })
    .where('closed_at', '<', new Date(now.getTime() - days * DAY_MS))
    .update({ status: 'archived' });
}

export function archiveJob(days: () => number): Job {
  return {
    name: 'archive-conversations',
    schedule: '0 6 * * *',
    description: 'daily at 06:00: archive closed conversations older than CONVERSATION_ARCHIVE_DAYS',
    run: async (ctx) => ({ archived: await archiveConversations(ctx.knex, ctx.now, days()) }),
  };
}

/** How many past Bogotá days each rollup recomputes (agreements arrive after the day a conversation opened). */
export const ROLLUP_DAYS = 7;

/**
 * Recomputes daily_metrics for the `days` Bogotá days up to and including the day
 * before `now`: per day (the conversation's opening day), portfolio and channel, the
 * conversations, how many were identified, offered a plan, and reached an agreement.
 */
export async function rollUpMetrics(knex: Knex, now: Date, days = ROLLUP_DAYS): Promise<{ days: string[]; rows: number }> {
  return knex.transaction(async (trx) => {
    const { rows: range } = (await trx.raw(
      `select to_char(d, 'YYYY-MM-DD') as day from generate_series(
         ((?::timestamptz at time zone 'America/Bogota')::date - ?::int), ((?::timestamptz at time zone 'America/Bogota')::date - 1), interval '1 day') d`,
      [now, days, now],
    )) as { rows: { day: string }[] };
    const list = range.map((r) => r.day);
    if (!list.length) return { days: [], rows: 0 };
    const first = list[0]!;
    const last = list[list.length - 1]!;
    await trx('daily_metrics').whereBetween('day', [first, last]).delete();
    const { rowCount } = (await trx.raw(
      `insert into daily_metrics (day, portfolio_id, channel, conversations, identified, offered, agreements, conversion_rate, computed_at)
       select c.day, c.portfolio_id, c.channel,
              count(*)::int,
              count(*) filter (where c.debtor_id is not null)::int,
              count(*) filter (where c.offered or c.agreed)::int,
              count(*) filter (where c.agreed)::int,
              round((count(*) filter (where c.agreed))::numeric / count(*), 4),
              ?
       from (
         select (cv.opened_at at time zone 'America/Bogota')::date as day, cv.portfolio_id, cv.channel, cv.debtor_id,
                exists (select 1 from messages m where m.conversation_id = cv.id and m.next_state = any(?)) as offered,
                exists (select 1 from agreements a where a.conversation_id = cv.id) as agreed
         from conversations cv
         where cv.opened_at >= (?::date::timestamp at time zone 'America/Bogota')
           and cv.opened_at < ((?::date + 1)::timestamp at time zone 'America/Bogota')
       ) c
       group by c.day, c.portfolio_id, c.channel`,
      [now, [...OFFER_STATES], first, last],
    )) as { rowCount: number };
    return { days: list, rows: rowCount };
  });
}

export function metricsRollupJob(): Job {
  return {
    name: 'metrics-rollup',
    schedule: '0 7 * * *',
    description: 'daily at 07:00: conversations, identified, offered, agreements and conversion rate per portfolio, channel and day',
    run: async (ctx) => rollUpMetrics(ctx.knex, ctx.now),
  };
}
