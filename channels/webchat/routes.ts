import crypto from 'node:crypto';
import path from 'node:path';
import express, { type Express, type RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Logger } from '../../src/core/index.js';
import type { WidgetBundle } from './build.js';
import { readHistory, type HistoryPort } from './history.js';
import type { VisitorIdentity } from './identity.js';
import type { OriginPolicy } from './origins.js';
import { WEBCHAT_PATHS, type HistoryResponse, type Limits, type SessionResponse } from './protocol.js';

export interface WebchatRoutesDeps {
  history: HistoryPort;
  log: Logger;
  identity: () => Promise<VisitorIdentity>;
  origins: OriginPolicy;
  limits: Limits;
  widget: () => Promise<WidgetBundle>;
  demoPage: boolean;
  /** New sessions per client IP and minute. */
  sessionsPerMinute?: number;
}

export const PUBLIC_DIR = path.join(__dirname, 'public');

/**
 * The demo page's policy: scripts and connections only from this service, no inline
 * script or style. The widget runs under it, which shows it needs none of them.
 */
const DEMO_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** CORS for the web chat's API: only allowed origins; the preflight answered here. */
function cors(origins: OriginPolicy): RequestHandler {
  return (req, res, next) => {
    const origin = req.get('origin');
    res.vary('Origin');
    if (!origins.allows(origin, req.get('host'))) {
      res.status(403).json({ error: 'origin_not_allowed', details: 'add this site to WEBCHAT_ALLOWED_ORIGINS' });
      return;
    }
    if (origin) res.set('Access-Control-Allow-Origin', origin);
    if (req.method === 'OPTIONS') {
      res.set({ 'Access-Control-Allow-Methods': 'GET, POST', 'Access-Control-Allow-Headers': 'Authorization', 'Access-Control-Max-Age': '600' });
      res.status(204).end();
      return;
    }
    next();
  };
}

function bearer(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
}

/** Adds the widget bundle, the web chat's HTTP API and (optionally) the demo page. */
export function mountWebchatRoutes(app: Express, deps: WebchatRoutesDeps): void {
  app.get(WEBCHAT_PATHS.widget, async (req, res) => {
    let widget: WidgetBundle;
    try {
      widget = await deps.widget();
    } catch (err) {
      deps.log.error({ err }, 'the web chat widget could not be built');
      res.status(503).type('text/javascript').send('/* acuerdo: the widget is unavailable; see the service log */');
      return;
    }
    const etag = `"${crypto.createHash('sha256').update(widget.code).digest('base64url').slice(0, 27)}"`;
    res.set({
      'Content-Type': 'text/javascript; charset=utf-8',
      'Cache-Control': 'public, max-age=300',
      'Cross-Origin-Resource-Policy': 'cross-origin',
      'X-Content-Type-Options': 'nosniff',
      ETag: etag,
      Vary: 'Accept-Encoding',
    });
    if (req.get('if-none-match') === etag) {
      res.status(304).end();
      return;
    }
    if (req.acceptsEncodings('gzip') === 'gzip') {
      res.set('Content-Encoding', 'gzip').send(widget.gzip);
      return;
    }
    res.send(widget.code);
  });

  const sessionLimit = rateLimit({
    windowMs: 60_000,
    limit: deps.sessionsPerMinute ?? 30,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    message: { error: 'rate_limited', details: 'too many new chat sessions from this address' },
  });
  app.options(WEBCHAT_PATHS.session, cors(deps.origins));
  app.post(WEBCHAT_PATHS.session, cors(deps.origins), sessionLimit, async (_req, res) => {
    const { visitorId, token } = (await deps.identity()).issue();
    res.status(201).set('Cache-Control', 'no-store').json({ visitorId, token } satisfies SessionResponse);
  });

  app.options(WEBCHAT_PATHS.history, cors(deps.origins));
  app.get(WEBCHAT_PATHS.history, cors(deps.origins), async (req, res) => {
    const visitorId = (await deps.identity()).verify(bearer(req.get('authorization')));
    if (!visitorId) {
      res.set('WWW-Authenticate', 'Bearer realm="acuerdo-webchat"').status(401).json({ error: 'bad_signature', details: 'the visitor token does not verify' });
      return;
    }
    const after = Number(req.query.after);
    const messages = await readHistory(deps.history, visitorId, Number.isSafeInteger(after) && after > 0 ? after : undefined);
    res.set('Cache-Control', 'no-store').json({ visitorId, messages, limits: deps.limits } satisfies HistoryResponse);
  });

  if (deps.demoPage) {
    app.get('/', (_req, res) => {
      res.set({ 'Content-Security-Policy': DEMO_CSP, 'Cache-Control': 'no-cache' }).sendFile(path.join(PUBLIC_DIR, 'index.html'));
    });
    app.use('/demo', express.static(path.join(PUBLIC_DIR, 'demo'), { index: false, fallthrough: true, maxAge: '5m' }));
  }
}
