/**
 * Backpressure: a bound on the requests one process works on at once. Turns arrive as
 * POSTs (the REST chat API, the platforms' webhooks); past the bound a request is
 * answered at once with 503 and Retry-After instead of waiting behind the others for
 * the database pool, so latency stays bounded when traffic exceeds capacity. The
 * platforms (Meta, Telegram, Microsoft, Mercado Pago) deliver again after a 5xx; a REST
 * client is told when to retry. Reads (GET: health, metrics, dashboards) are not
 * counted: they are cheap, and health checks must answer while the service sheds load.
 *
 * Two bounds:
 * - `max` requests in flight (HTTP_MAX_IN_FLIGHT), always; a request waiting on a remote
 *   service (the OpenAI fallback: up to its budget of seconds) is not counted meanwhile;
 * - a latency target (HTTP_QUEUE_TARGET_MS): a count alone bounds latency at
 *   max ÷ throughput, which grows when the machine slows down (a noisy neighbour, a slow
 *   database). Every interval the requests that finished are looked at; when their mean
 *   latency passed the target, the process lets in only as many as it finishes within
 *   the target (Little's law: throughput × target, at least `floor`), until the mean falls
 *   below half the target again.
 */
import type { RequestHandler } from 'express';
import { Counter } from 'prom-client';
import { remoteWaiting } from '../core/index.js';
import { registry } from '../metrics.js';

const shed = new Counter({
  name: 'acuerdo_http_shed_total',
  help: 'Requests answered 503 because the process was at its bound (HTTP_MAX_IN_FLIGHT, HTTP_QUEUE_TARGET_MS)',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export interface InFlightLimit {
  middleware: RequestHandler;
  /** Requests being worked on now. */
  inFlight(): number;
  /** True while requests queue beyond the latency target. */
  overloaded(): boolean;
  /** Requests let in at once now. */
  limit(): number;
}

export interface InFlightOptions {
  /** Requests in flight at most (0: no count bound). */
  max: number;
  /** Latency target in ms (0 or absent: no latency bound). */
  targetMs?: number;
  /** Requests always let in at once, even over the target (default 8). */
  floor?: number;
  /** How often the bound is set again from the requests that finished (default 500 ms). */
  intervalMs?: number;
  retryAfterSeconds?: number;
  /** Milliseconds, monotonic (default performance.now). */
  now?: () => number;
}

/**
 * Counts requests other than GET/HEAD/OPTIONS from arrival until their response is ended;
 * past a bound the next one gets 503, `Retry-After: retryAfterSeconds`.
 */
export function inFlightLimit(options: InFlightOptions): InFlightLimit {
  const { max } = options;
  const target = options.targetMs ?? 0;
  const floor = options.floor ?? 8;
  const interval = options.intervalMs ?? 500;
  const now = options.now ?? (() => performance.now());
  const retryAfter = String(options.retryAfterSeconds ?? 1);
  let current = 0;
  /** The bound while over the target; `max` otherwise. */
  let limit = max;
  let overloaded = false;
  let windowStart = now();
  let windowCount = 0;
  let windowSum = 0;

  /** A request finished after `ms`; at the end of an interval, the bound is set again. */
  function finished(ms: number): void {
    windowCount++;
    windowSum += ms;
    const t = now();
    const elapsed = t - windowStart;
    if (elapsed < interval) return;
    const mean = windowSum / windowCount;
    const rate = (windowCount * 1000) / elapsed;
    if (mean > target) overloaded = true;
    else if (mean < target / 2) overloaded = false;
    const byLatency = Math.max(floor, Math.ceil((rate * target) / 1000));
    limit = overloaded ? (max > 0 ? Math.min(max, byLatency) : byLatency) : max;
    windowStart = t;
    windowCount = 0;
    windowSum = 0;
  }

  function refuse(res: Parameters<RequestHandler>[1], reason: 'in_flight' | 'latency', details: string): void {
    shed.inc({ reason });
    res.setHeader('Retry-After', retryAfter);
    // The JSON error body every endpoint answers with (app.ts ErrorBody).
    res.status(503).json({ error: 'overloaded', details: `${details}; retry after ${retryAfter} s` });
  }

  const middleware: RequestHandler = (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    // Requests parked on a remote call (the OpenAI fallback) use neither CPU nor the database.
    const working = current - remoteWaiting();
    if (max > 0 && working >= max) return refuse(res, 'in_flight', `the service is at its limit of ${max} requests in flight`);
    if (target > 0 && overloaded && working >= limit) return refuse(res, 'latency', `requests are queueing beyond ${target} ms`);
    current++;
    const started = now();
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      current--;
      if (target > 0) finished(now() - started);
    };
    // Released when the response is handed over (end() called), not when its last byte
    // leaves: a client answered at once may send its next request before 'finish' fires,
    // and would find its own previous request still counted.
    res.once('prefinish', release);
    res.once('close', release);
    next();
  };
  return { middleware, inFlight: () => current, overloaded: () => overloaded, limit: () => (overloaded ? limit : max) };
}
