import type { Knex } from '../store/index.js';

/** The agency's time zone: days in reports are Bogotá days. */
export const REPORT_TIME_ZONE = 'America/Bogota';

interface UsageNumbers {
  calls: number;
  ok: number;
  failed: number;
  tokens_in: number;
  tokens_out: number;
  cost_usd: number;
  avg_latency_ms: number | null;
}

export interface AiUsage {
  from: string;
  to: string;
  totals: UsageNumbers;
  /** Failed calls by status (error, timeout, malformed, circuit_open). */
  failures: Record<string, number>;
  per_day: (UsageNumbers & { day: string })[];
  per_model: (UsageNumbers & { model: string })[];
}

const NUMBERS = `count(*)::int as calls,
  count(*) filter (where status = 'ok')::int as ok,
  count(*) filter (where status <> 'ok')::int as failed,
  coalesce(sum(tokens_in), 0)::bigint as tokens_in,
  coalesce(sum(tokens_out), 0)::bigint as tokens_out,
  coalesce(sum(cost_usd), 0)::numeric(14,6) as cost_usd,
  round(avg(latency_ms))::int as avg_latency_ms`;

function numbers(r: Record<string, unknown> | undefined): UsageNumbers {
  return {
    calls: Number(r?.calls ?? 0),
    ok: Number(r?.ok ?? 0),
    failed: Number(r?.failed ?? 0),
    tokens_in: Number(r?.tokens_in ?? 0),
    tokens_out: Number(r?.tokens_out ?? 0),
    cost_usd: Number(r?.cost_usd ?? 0),
    avg_latency_ms: r?.avg_latency_ms === null || r?.avg_latency_ms === undefined ? null : Number(r.avg_latency_ms),
  };
}

/** OpenAI usage from the llm_calls audit: totals, per Bogotá day and per model, in the window. */
export async function aiUsage(knex: Knex, window: { from: Date; to: Date }): Promise<AiUsage> {
  const base = () => knex('llm_calls').where('created_at', '>=', window.from).where('created_at', '<', window.to);
  const [totals] = (await base().select(knex.raw(NUMBERS))) as Record<string, unknown>[];
  const failures = (await base().whereNot('status', 'ok').groupBy('status').select('status', knex.raw('count(*)::int as n'))) as {
    status: string;
    n: number;
  }[];
  const perDay = (await base()
    .select(knex.raw(`to_char(created_at at time zone ?, 'YYYY-MM-DD') as day`, [REPORT_TIME_ZONE]), knex.raw(NUMBERS))
    .groupByRaw('1')
    .orderByRaw('1')) as (Record<string, unknown> & { day: string })[];
  const perModel = (await base().select('model', knex.raw(NUMBERS)).groupBy('model').orderBy('model')) as (Record<string, unknown> & {
    model: string;
  })[];
  return {
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    totals: numbers(totals),
    failures: Object.fromEntries(failures.map((f) => [f.status, f.n])),
    per_day: perDay.map((r) => ({ day: r.day, ...numbers(r) })),
    per_model: perModel.map((r) => ({ model: r.model, ...numbers(r) })),
  };
}
