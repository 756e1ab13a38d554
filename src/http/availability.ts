/**
 * While the database is down (src/store/supervisor.ts), work that needs it is refused at
 * once with 503 and Retry-After instead of failing with 500 after a connection timeout:
 * the REST client retries, and Meta, Telegram, Microsoft and Mercado Pago deliver their
 * webhooks again. Reads (GET/HEAD/OPTIONS) go on: health must say why, dashboards
 * load and show the error of their own API calls.
 *
 * A request that meets a lost connection anyway (the server died while it ran) gets the
 * same 503; such errors are logged at most once every few seconds with a count, never
 * once per request, and they make the supervisor look at once.
 */
import type { RequestHandler, Response } from 'express';
import { Counter } from 'prom-client';
import type { Logger } from '../log.js';
import { throttled } from '../log-throttle.js';
import { registry } from '../metrics.js';
import type { Supervisor } from '../store/index.js';

const refused = new Counter({
  name: 'acuerdo_http_database_unavailable_total',
  help: 'Requests answered 503 because the database was down or restarting',
  registers: [registry],
});

/** PostgreSQL's SQLSTATEs and the driver's errors that mean "no database right now". */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006']);
const UNAVAILABLE_MESSAGES = /Connection terminated|Timeout acquiring a connection|terminating connection due to|the database system is (starting up|shutting down|in recovery mode)|Client has encountered a connection error/i;

/** True when the error (or one it wraps) says the database is unreachable rather than the request wrong. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 6; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
    if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message)) return true;
    if ((e as { name?: string }).name === 'KnexTimeoutError') return true;
  }
  return false;
}

export function answerUnavailable(res: Response, retryAfterSeconds: number, reason: string | undefined): void {
  refused.inc();
  res.setHeader('Retry-After', String(Math.max(1, retryAfterSeconds)));
  res.status(503).json({ error: 'database_unavailable', details: reason ?? 'the database is not answering; retry shortly' });
}

/** Refuses requests that would write while the supervisor says the database is not up. */
export function databaseGate(supervisor: Supervisor): RequestHandler {
  return (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    const state = supervisor.state();
    if (state.status === 'up') return next();
    answerUnavailable(res, supervisor.retryAfterSeconds(), state.reason);
  };
}

/** Logs one line per `everyMs` for requests that found the database unavailable, with how many were not logged. */
export function rateLimitedLog(log: Logger, everyMs = 10_000): (err: unknown, path: string) => void {
  return throttled(
    (suppressed, err: unknown, path: string) => log.warn({ err, path, suppressed }, 'a request found the database unavailable: answered 503 (logged at most every 10 s)'),
    everyMs,
  );
}
