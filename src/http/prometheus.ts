import type { RequestHandler } from 'express';
import { hasBearerToken } from './admin-auth.js';
import type { Logger } from '../log.js';
import { handoffQueueDepth, outboxDepth, registry } from '../metrics.js';
import type { Knex } from '../store/index.js';

const WAITING = ['pending', 'sending', 'deferred'] as const;

/** Sets the gauges that are read from the database: outbox depth and the handoff queue. */
export async function refreshDatabaseGauges(knex: Knex): Promise<void> {
  const rows = (await knex('outbox')
    .whereIn('status', [...WAITING])
    .groupBy('status')
    .select('status', knex.raw('count(*)::int as n'))) as { status: string; n: number }[];
  for (const status of WAITING) outboxDepth.set({ status }, rows.find((r) => r.status === status)?.n ?? 0);
  const [queue] = (await knex('conversations').where({ status: 'handoff' }).select(knex.raw('count(*)::int as n'))) as { n: number }[];
  handoffQueueDepth.set(queue?.n ?? 0);
}

/**
 * GET /metrics in the Prometheus text format. With METRICS_TOKEN set, scrapers must
 * send it as a Bearer token. A database hiccup leaves the database gauges at their
 * last values rather than failing the scrape.
 */
export function prometheusHandler(deps: { knex: Knex; log: Logger; token: () => string | undefined }): RequestHandler {
  return async (req, res) => {
    const expected = deps.token();
    if (expected && !hasBearerToken(req, res, expected, 'acuerdo-metrics')) return;
    await refreshDatabaseGauges(deps.knex).catch((err: unknown) => deps.log.warn({ err }, 'could not read the outbox and handoff gauges'));
    res.set('Content-Type', registry.contentType);
    res.send(await registry.metrics());
  };
}
