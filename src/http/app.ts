import express, { type ErrorRequestHandler, type Express, type Router } from 'express';
import helmet from 'helmet';
import type { Clock } from '../core/index.js';
import type { Config } from '../core/index.js';
import type { Logger } from '../log.js';
import { inFlightLimit } from './backpressure.js';
import { prometheusHandler } from './prometheus.js';
import { pingDatabase, type Knex, type Supervisor } from '../store/index.js';
import { answerUnavailable, databaseGate, isDatabaseUnavailable, rateLimitedLog } from './availability.js';
import { refuseControlCharactersInUrl } from './hygiene.js';

export interface AppDeps {
  knex: Knex;
  config: Config;
  log: Logger;
  /** The service's clock (the health check reports its time). */
  clock: Clock;
  /** Routers mounted at their path, in order, before the 404 handler. */
  routes?: { path: string; router: Router }[];
  /** Called with the app before the JSON body parser, for routes that need the raw body (webhooks). */
  beforeBodyParsers?: (app: Express) => void;
  /** The database's watcher: while it is not up, writes get 503 + Retry-After and health says why. */
  database?: Supervisor;
}

/** The JSON error body every endpoint answers with. */
export interface ErrorBody {
  error: string;
  details?: unknown;
}

const JSON_LIMIT = '64kb';

/** The express app: health, JSON parsing with clear 400/413 answers, and the mounted routers. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          // Plain http on a laptop or behind a TLS proxy: only ask browsers to upgrade when we are https.
          'upgrade-insecure-requests': deps.config.PUBLIC_URL?.startsWith('https:') ? [] : null,
        },
      },
      // The widget's script and API are loaded from the agency's own site, another origin.
      crossOriginResourcePolicy: { policy: 'cross-origin' },
    }),
  );
  // Before the webhooks and the body parser: past the bound a request is refused unread.
  app.use(inFlightLimit({ max: deps.config.HTTP_MAX_IN_FLIGHT, targetMs: deps.config.HTTP_QUEUE_TARGET_MS }).middleware);
  app.use(refuseControlCharactersInUrl);
  // Before the webhooks: a platform told 503 delivers again later.
  if (deps.database) app.use(databaseGate(deps.database));
  deps.beforeBodyParsers?.(app);
  app.use(express.json({ limit: JSON_LIMIT }));

  app.get('/api/v1/chat/test', async (_req, res) => {
    const state = deps.database?.state();
    const ok = (!state || state.status === 'up') && (await pingDatabase(deps.knex));
    if (!ok && state?.status !== 'up' && deps.database) res.setHeader('Retry-After', String(deps.database.retryAfterSeconds()));
    res.status(ok ? 200 : 503).json({
      status: ok ? 'ok' : 'unavailable',
      database: ok ? 'ok' : 'unreachable',
      ...(ok ? {} : { reason: state && state.status !== 'up' ? state.reason : 'the database does not answer' }),
      service: 'acuerdo',
      time: deps.clock.now().toISOString(),
    });
  });

  app.get('/metrics', prometheusHandler({ knex: deps.knex, log: deps.log, token: () => deps.config.METRICS_TOKEN }));

  for (const { path, router } of deps.routes ?? []) app.use(path, router);

  app.use((req, res) => {
    res.status(404).json({ error: 'not_found', details: `${req.method} ${req.path}` } satisfies ErrorBody);
  });

  const logUnavailable = rateLimitedLog(deps.log);
  const onError: ErrorRequestHandler = (err: { type?: string; status?: number; message?: string }, req, res, _next) => {
    if (err.type === 'entity.parse.failed') {
      res.status(400).json({ error: 'invalid_json', details: err.message } satisfies ErrorBody);
      return;
    }
    if (err.type === 'entity.too.large') {
      res.status(413).json({ error: 'payload_too_large', details: `the limit is ${JSON_LIMIT}` } satisfies ErrorBody);
      return;
    }
    if (typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
      res.status(err.status).json({ error: 'bad_request', details: err.message } satisfies ErrorBody);
      return;
    }
    if (isDatabaseUnavailable(err)) {
      deps.database?.poke();
      logUnavailable(err, req.path);
      const state = deps.database?.state();
      answerUnavailable(res, deps.database?.retryAfterSeconds() || 2, state && state.status !== 'up' ? state.reason : undefined);
      return;
    }
    deps.log.error({ err, path: req.path }, 'request failed');
    res.status(500).json({ error: 'internal_error' } satisfies ErrorBody);
  };
  app.use(onError);
  return app;
}
