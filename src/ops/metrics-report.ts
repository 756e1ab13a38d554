import type { Knex } from '../store/index.js';

/** The seed system's names for the NLU layers ("ml" is the local model). */
const SEED_SOURCE: Record<string, string> = { rules: 'rules', model: 'ml', openai: 'openai', cedula: 'cedula', none: 'none' };

export interface TurnTotals {
  turns: number;
  errors: number;
  low_confidence: number;
  /** Turns whose text was understood (any source but 'none'). */
  understood: number;
  latency_ms_sum: number;
  latency_ms_max: number;
}

/** The turn_stats rows in [from, to). */
function turnStatsIn(knex: Knex, window: { from: Date; to: Date }): Knex.QueryBuilder {
  return knex('turn_stats').where('minute', '>=', window.from).where('minute', '<', window.to);
}

/** Sums of the turn_stats rows in [from, to). */
export async function turnTotals(knex: Knex, window: { from: Date; to: Date }): Promise<TurnTotals> {
  const [row] = (await turnStatsIn(knex, window)
    .select(
      knex.raw('coalesce(sum(turns), 0)::int as turns'),
      knex.raw('coalesce(sum(errors), 0)::int as errors'),
      knex.raw('coalesce(sum(low_confidence), 0)::int as low_confidence'),
      knex.raw(`coalesce(sum(turns) filter (where source <> 'none'), 0)::int as understood`),
      knex.raw('coalesce(sum(latency_ms_sum), 0)::bigint as latency_ms_sum'),
      knex.raw('coalesce(max(latency_ms_max), 0)::int as latency_ms_max'),
    )) as TurnTotals[];
  return row ?? { turns: 0, errors: 0, low_confidence: 0, understood: 0, latency_ms_sum: 0, latency_ms_max: 0 };
}

export const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

export interface MetricsReport {
  window: { from: string; to: string };
  summary: {
    total_requests: number;
    errors: number;
    /** A share in [0, 1]. */
    error_rate: number;
    avg_response_time_ms: number;
    max_response_time_ms: number;
    /** Share of understood messages under the NLU threshold, in [0, 1]. */
    low_confidence_rate: number;
  };
  /** Percent of requests decided by each NLU layer (0–100). */
  system_usage: Record<string, number>;
  performance: {
    /** Average turn time by the NLU layer that decided. */
    avg_response_time_ms_by_source: Record<string, number>;
    by_channel: Record<string, { requests: number; errors: number; avg_response_time_ms: number }>;
  };
  conversations: Record<'open' | 'handoff' | 'closed' | 'archived', number> & { opened_in_window: number; opened_by_source: Record<string, number> };
  handoffs: { queued: number; in_window: number; by_reason: Record<string, number> };
  agreements: { in_window: number; total_amount: number; by_portfolio: Record<string, number> };
  openai: { calls: number; failures: number; cost_usd: number };
}

/**
 * The seed system's metrics JSON (summary, system_usage, performance) for a window,
 * plus conversation, handoff, agreement and OpenAI counts. Turn numbers come from
 * turn_stats (every instance), the rest from the tables themselves.
 */
export async function metricsReport(knex: Knex, window: { from: Date; to: Date }): Promise<MetricsReport> {
  const t = await turnTotals(knex, window);
  const bySource = (await turnStatsIn(knex, window)
    .groupBy('source')
    .select('source', knex.raw('sum(turns)::int as turns'), knex.raw('sum(latency_ms_sum)::bigint as latency'))) as {
    source: string;
    turns: number;
    latency: number;
  }[];
  const byChannel = (await turnStatsIn(knex, window)
    .groupBy('channel')
    .select('channel', knex.raw('sum(turns)::int as turns'), knex.raw('sum(errors)::int as errors'), knex.raw('sum(latency_ms_sum)::bigint as latency'))
    .orderBy('channel')) as { channel: string; turns: number; errors: number; latency: number }[];

  const statuses = (await knex('conversations').groupBy('status').select('status', knex.raw('count(*)::int as n'))) as { status: string; n: number }[];
  const [opened] = (await knex('conversations')
    .where('opened_at', '>=', window.from)
    .where('opened_at', '<', window.to)
    .select(knex.raw('count(*)::int as n'))) as { n: number }[];
  // Campaign attribution: conversations opened by each deep link ("directo": none).
  const bySourceOpened = (await knex('conversations')
    .where('opened_at', '>=', window.from)
    .where('opened_at', '<', window.to)
    .groupByRaw(`coalesce(source, 'directo')`)
    .select(knex.raw(`coalesce(source, 'directo') as source`), knex.raw('count(*)::int as n'))) as { source: string; n: number }[];
  const handoffs = (await knex('conversations')
    .where('handoff_at', '>=', window.from)
    .where('handoff_at', '<', window.to)
    .groupByRaw(`coalesce(handoff_reason, 'unknown')`)
    .select(knex.raw(`coalesce(handoff_reason, 'unknown') as reason`), knex.raw('count(*)::int as n'))) as { reason: string; n: number }[];
  const agreements = (await knex('agreements as a')
    .join('portfolios as p', 'p.id', 'a.portfolio_id')
    .where('a.created_at', '>=', window.from)
    .where('a.created_at', '<', window.to)
    .groupBy('p.name')
    .select('p.name as portfolio', knex.raw('count(*)::int as n'), knex.raw('sum(a.total)::bigint as amount'))) as {
    portfolio: string;
    n: number;
    amount: number;
  }[];
  const [ai] = (await knex('llm_calls')
    .where('created_at', '>=', window.from)
    .where('created_at', '<', window.to)
    .select(
      knex.raw('count(*)::int as calls'),
      knex.raw(`count(*) filter (where status <> 'ok')::int as failures`),
      knex.raw('coalesce(sum(cost_usd), 0)::float8 as cost'),
    )) as { calls: number; failures: number; cost: number }[];

  const statusCount = (s: string) => statuses.find((r) => r.status === s)?.n ?? 0;
  return {
    window: { from: window.from.toISOString(), to: window.to.toISOString() },
    summary: {
      total_requests: t.turns,
      errors: t.errors,
      error_rate: t.turns ? round(t.errors / t.turns, 4) : 0,
      avg_response_time_ms: t.turns ? round(t.latency_ms_sum / t.turns, 1) : 0,
      max_response_time_ms: t.latency_ms_max,
      low_confidence_rate: t.understood ? round(t.low_confidence / t.understood, 4) : 0,
    },
    system_usage: Object.fromEntries(
      bySource.map((s) => [SEED_SOURCE[s.source] ?? s.source, t.turns ? round((100 * s.turns) / t.turns, 1) : 0]),
    ),
    performance: {
      avg_response_time_ms_by_source: Object.fromEntries(
        bySource.map((s) => [SEED_SOURCE[s.source] ?? s.source, s.turns ? round(s.latency / s.turns, 1) : 0]),
      ),
      by_channel: Object.fromEntries(
        byChannel.map((c) => [c.channel, { requests: c.turns, errors: c.errors, avg_response_time_ms: c.turns ? round(c.latency / c.turns, 1) : 0 }]),
      ),
    },
    conversations: {
      open: statusCount('open'),
      handoff: statusCount('handoff'),
      closed: statusCount('closed'),
      archived: statusCount('archived'),
      opened_in_window: opened?.n ?? 0,
      opened_by_source: Object.fromEntries(bySourceOpened.map((r) => [r.source, r.n])),
    },
    handoffs: {
      queued: statusCount('handoff'),
      in_window: handoffs.reduce((n, h) => n + h.n, 0),
      by_reason: Object.fromEntries(handoffs.map((h) => [h.reason, h.n])),
    },
    agreements: {
      in_window: agreements.reduce((n, a) => n + a.n, 0),
      total_amount: agreements.reduce((n, a) => n + a.amount, 0),
      by_portfolio: Object.fromEntries(agreements.map((a) => [a.portfolio, a.n])),
    },
    openai: { calls: ai?.calls ?? 0, failures: ai?.failures ?? 0, cost_usd: ai?.cost ?? 0 },
  };
}
