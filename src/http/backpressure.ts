/**
 * Backpressure: a bound on the requests one process works on at once. Turns arrive as
 * POSTs (the REST chat API, the platforms' webhooks); past the bound a request is
 * answered at once with 503 and Retry-After instead of waiting behind the others for
 * the database pool, so latency stays bounded when traffic exceeds capacity. The
 * platforms (Meta, Telegram, Microsoft, Mercado Pago) deliver again after a 5xx; a REST
 * client is told when to retry. Reads (GET: health, metrics, dashboards) are not
 * counted: they are cheap, and health checks must answer while the service sheds load.
 */
import type { RequestHandler } from 'express';
import { Counter } from 'prom-client';
import { registry } from '../metrics.js';
import type { ErrorBody } from './app.js';

const shed = new Counter({
  name: 'acuerdo_http_shed_total',
  help: 'Requests answered 503 because the process already had its maximum in flight (HTTP_MAX_IN_FLIGHT)',
  registers: [registry],
});

export interface InFlightLimit {
  middleware: RequestHandler;
  /** Requests being worked on now. */
  inFlight(): number;
}

/**
 * Counts requests other than GET/HEAD/OPTIONS from arrival to the end of the response;
 * with `max` already in flight the next one gets 503, `Retry-After: retryAfterSeconds`.
 * `max` 0: no bound.
 */
export function inFlightLimit(options: { max: number; retryAfterSeconds?: number }): InFlightLimit {
  const { max } = options;
  const retryAfter = String(options.retryAfterSeconds ?? 1);
  let current = 0;
  const middleware: RequestHandler = (req, res, next) => {
    if (max <= 0 || req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    if (current >= max) {
      shed.inc();
      res.setHeader('Retry-After', retryAfter);
      res.status(503).json({ error: 'overloaded', details: `the service is at its limit of ${max} requests in flight; retry after ${retryAfter} s` } satisfies ErrorBody);
      return;
    }
    current++;
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      current--;
    };
    res.once('finish', release);
    res.once('close', release);
    next();
  };
  return { middleware, inFlight: () => current };
}
