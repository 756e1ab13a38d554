import express, { type ErrorRequestHandler, type Router } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { Clock } from '../../core/index.js';
import type { Config } from '../../core/index.js';
import type { Logger } from '../../log.js';
import { aiUsage } from '../../ops/index.js';
import { listAgreements, writeAgreementsCsv } from '../../ops/index.js';
import { listAlerts } from '../../ops/index.js';
import { funnel, getTranscript, listConversations, nluOverview } from '../../ops/index.js';
import { HandoffError, type HandoffService } from '../../ops/index.js';
import { metricsReport } from '../../ops/index.js';
import { SettingsValidationError, type SettingsStore } from '../../ops/index.js';
import type { PeopleStore, TurnStats } from '../../ops/index.js';
import type { Knex } from '../../store/index.js';
import { authenticate } from '../admin-auth.js';
import { agreementAdminRoutes } from './agreement-routes.js';
import { peopleAdminRoutes } from './people-routes.js';
import { actingAgent, inScope, mayReachConversation, portfolioScope, signedReply } from './scope.js';
import { defineRoute, mountRoutes, RequestValidationError, type ApiRoute } from './route.js';
import * as s from './schemas.js';

export const ADMIN_BASE_PATH = '/api/v1/admin';

export interface AdminDeps {
  knex: Knex;
  config: Config;
  log: Logger;
  settings: SettingsStore;
  handoff: HandoffService;
  /** Flushed before turn numbers are read, so this instance's latest turns count. */
  turnStats?: TurnStats;
  /** The service's clock: the default report windows end now. */
  clock: Clock;
  /** Back-office users: their admin routes, names on actions and reply signatures. */
  people?: PeopleStore;
}

const DAY = 24 * 3600_000;

function windowOf(q: { from?: Date; to?: Date }, now: Date, defaultMs: number): { from: Date; to: Date } {
  const to = q.to ?? now;
  return { from: q.from ?? new Date(to.getTime() - defaultMs), to };
}

const unauthorized = { description: 'Missing or wrong Bearer token', schema: s.errorBodySchema };
const invalid = { description: 'The request does not match its schema', schema: s.errorBodySchema };
const notFound = { description: 'No such conversation', schema: s.errorBodySchema };
const conflict = { description: 'The conversation is not with a person (status is not handoff)', schema: s.errorBodySchema };

/** Every admin operation, relative to /api/v1/admin. The OpenAPI document lists the same ones. */
export function adminRoutes(deps: AdminDeps): ApiRoute[] {
  const { knex, settings, handoff } = deps;
  const now = () => deps.clock.now();
  const tags = (t: string) => [t];
  return [
    defineRoute({
      method: 'get',
      path: '/session',
      role: 'agent',
      summary: 'Check the admin token',
      tags: tags('admin'),
      responses: { 200: { description: 'The token is right', schema: s.sessionSchema }, 401: unauthorized },
      handler: async () => ({ ok: true as const, admin_api: 'enabled' as const, time: now().toISOString() }),
    }),
    defineRoute({
      method: 'get',
      path: '/config',
      summary: 'The runtime settings in force',
      tags: tags('config'),
      responses: { 200: { description: 'Settings and overrides', schema: s.configResponseSchema }, 401: unauthorized },
      handler: async () => settings.snapshotNow(),
    }),
    defineRoute({
      method: 'put',
      path: '/config',
      summary: 'Change runtime settings (applied at once, no restart)',
      description:
        'Send any subset of the settings. Values are validated, stored in the settings table and applied at once on this instance and within seconds on the others. `null` restores a default.',
      tags: tags('config'),
      body: s.configUpdateSchema,
      responses: { 200: { description: 'The settings now in force', schema: s.configResponseSchema }, 400: invalid, 401: unauthorized },
      handler: async ({ body }) => settings.update(body),
    }),
    defineRoute({
      method: 'get',
      path: '/conversations',
      role: 'agent',
      summary: 'List conversations',
      tags: tags('conversations'),
      query: s.conversationListQuery,
      responses: { 200: { description: 'Most recently active first', schema: s.conversationListSchema }, 400: invalid, 401: unauthorized },
      handler: async ({ query, res }) => listConversations(knex, { ...query, portfolioIds: portfolioScope(res) ?? undefined }),
    }),
    defineRoute({
      method: 'get',
      path: '/conversations/:id',
      role: 'agent',
      summary: 'A conversation with its transcript',
      tags: tags('conversations'),
      params: s.conversationIdParams,
      responses: { 200: { description: 'The conversation and every message, oldest first', schema: s.transcriptSchema }, 401: unauthorized, 404: notFound },
      handler: async ({ params, res }) => {
        if (!(await mayReachConversation(knex, res, params.id))) return undefined;
        const transcript = await getTranscript(knex, params.id);
        if (!transcript) return res.status(404).json({ error: 'not_found', details: 'no such conversation' });
        return transcript;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/handoffs',
      role: 'agent',
      summary: 'The handoff queue',
      description: 'Conversations the bot handed to a person (solicitar_asesor, fallback limit, message limit), longest waiting first.',
      tags: tags('handoff'),
      responses: { 200: { description: 'The queue', schema: s.queueSchema }, 401: unauthorized },
      handler: async ({ res }) => ({ items: (await handoff.queue()).filter((c) => inScope(res, c.portfolio_id)) }),
    }),
    defineRoute({
      method: 'post',
      path: '/handoffs/:id/take',
      role: 'agent',
      summary: 'Take a conversation from the queue',
      tags: tags('handoff'),
      params: s.conversationIdParams,
      body: s.takeBodySchema,
      responses: { 200: { description: 'Assigned', schema: s.okSchema }, 400: invalid, 401: unauthorized, 404: notFound, 409: conflict },
      handler: async ({ params, body, res }) => {
        if (!(await mayReachConversation(knex, res, params.id))) return undefined;
        await handoff.take(params.id, actingAgent(res, body.agent));
        return { ok: true as const };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/handoffs/:id/reply',
      role: 'agent',
      summary: 'Reply to the debtor as the agency',
      description: "Stored with author 'agent' and delivered on the debtor's own channel through the outbox (retried like any reply).",
      tags: tags('handoff'),
      params: s.conversationIdParams,
      body: s.replyBodySchema,
      responses: { 201: { description: 'Queued for delivery', schema: s.replyResultSchema }, 400: invalid, 401: unauthorized, 404: notFound, 409: conflict },
      handler: async ({ params, body, res }) => {
        if (!(await mayReachConversation(knex, res, params.id))) return undefined;
        return handoff.reply(params.id, actingAgent(res, body.agent), await signedReply(deps, res, body.text));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/handoffs/:id/release',
      role: 'agent',
      summary: 'Give the conversation back to the bot',
      tags: tags('handoff'),
      params: s.conversationIdParams,
      body: s.releaseBodySchema,
      responses: { 200: { description: 'The bot answers again', schema: s.okSchema }, 400: invalid, 401: unauthorized, 404: notFound, 409: conflict },
      handler: async ({ params, body, res }) => {
        if (!(await mayReachConversation(knex, res, params.id))) return undefined;
        await handoff.release(params.id, actingAgent(res, body.agent), body.message);
        return { ok: true as const };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/handoffs/:id/close',
      role: 'agent',
      summary: 'Close the conversation',
      tags: tags('handoff'),
      params: s.conversationIdParams,
      body: s.releaseBodySchema,
      responses: { 200: { description: 'Closed', schema: s.okSchema }, 400: invalid, 401: unauthorized, 404: notFound, 409: conflict },
      handler: async ({ params, body, res }) => {
        if (!(await mayReachConversation(knex, res, params.id))) return undefined;
        await handoff.close(params.id, actingAgent(res, body.agent), body.message);
        return { ok: true as const };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/agreements',
      role: 'supervisor',
      summary: 'List payment agreements',
      tags: tags('agreements'),
      query: s.agreementListQuery,
      responses: { 200: { description: 'Newest first', schema: s.agreementListSchema }, 400: invalid, 401: unauthorized },
      handler: async ({ query }) => listAgreements(knex, query),
    }),
    defineRoute({
      method: 'get',
      path: '/agreements.csv',
      role: 'supervisor',
      summary: 'Export payment agreements as CSV',
      description:
        'UTF-8 with a byte-order mark, oldest first, amounts in whole pesos without separators; with the reference, the schedule summary and the status. `format=excel-co` (the default when the browser prefers Spanish): semicolons, Spanish headers, dates as dd/mm/yyyy.',
      tags: tags('agreements'),
      query: s.agreementCsvQuery,
      responses: { 200: { description: 'The CSV file', contentType: 'text/csv' }, 400: invalid, 401: unauthorized },
      handler: async ({ query, req, res }) => {
        const day = now().toISOString().slice(0, 10);
        res.status(200);
        res.set('Content-Type', 'text/csv; charset=utf-8');
        res.set('Content-Disposition', `attachment; filename="acuerdos-${day}.csv"`);
        res.set('Cache-Control', 'no-store');
        // Spanish-speaking users (the browser's first language is Spanish) get Excel as used in Colombia; scripts get plain CSV.
        const format = query.format ?? (/^\s*es\b/i.test(req.get('accept-language') ?? '') ? 'excel-co' : 'csv');
        await writeAgreementsCsv(knex, query, res, format);
        res.end();
        return undefined;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/metrics',
      role: 'supervisor',
      summary: 'Service metrics (the seed system’s JSON)',
      description: 'Turn counts, error rate and response times from every instance, NLU layer usage, conversations, handoffs, agreements and OpenAI use. Default window: the last 24 hours.',
      tags: tags('metrics'),
      query: s.windowQuery,
      responses: { 200: { description: 'Metrics for the window', schema: s.metricsSchema }, 400: invalid, 401: unauthorized },
      handler: async ({ query }) => {
        await deps.turnStats?.flush();
        return metricsReport(knex, windowOf(query, now(), DAY));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/funnel',
      role: 'supervisor',
      summary: 'Negotiation funnel per portfolio and channel',
      description: 'conversations → identified → offered → agreement, for conversations opened in the window (default: 30 days).',
      tags: tags('metrics'),
      query: s.windowQuery,
      responses: { 200: { description: 'One row per portfolio and channel', schema: s.funnelSchema }, 400: invalid, 401: unauthorized },
      handler: async ({ query }) => {
        const w = windowOf(query, now(), 30 * DAY);
        return { from: w.from.toISOString(), to: w.to.toISOString(), rows: await funnel(knex, w) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/nlu',
      role: 'supervisor',
      summary: 'NLU sources and the latest low-confidence messages',
      description: 'Inbound messages by the layer that understood them in the window (default: 30 days), and the latest ones under the threshold in force.',
      tags: tags('metrics'),
      query: s.windowQuery,
      responses: { 200: { description: 'Sources and messages', schema: s.nluOverviewSchema }, 400: invalid, 401: unauthorized },
      handler: async ({ query }) => {
        const w = windowOf(query, now(), 30 * DAY);
        const overview = await nluOverview(knex, w, settings.current().nlu.confidence_threshold);
        return { from: w.from.toISOString(), to: w.to.toISOString(), ...overview };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/alerts',
      role: 'supervisor',
      summary: 'Alerts raised',
      description: 'Response time over the threshold (2 s), error rate over 10%, more than half the messages under the NLU threshold, OpenAI failures. Newest first.',
      tags: tags('metrics'),
      query: s.alertListQuery,
      responses: { 200: { description: 'Alerts', schema: s.alertListSchema }, 400: invalid, 401: unauthorized },
      handler: async ({ query }) => ({ items: await listAlerts(knex, query) }),
    }),
    defineRoute({
      method: 'get',
      path: '/ai/usage',
      role: 'supervisor',
      summary: 'OpenAI usage from the audit table',
      description: 'Totals, per Bogotá day and per model: calls, failures, tokens and estimated cost. Default window: 30 days.',
      tags: tags('metrics'),
      query: s.windowQuery,
      responses: { 200: { description: 'Usage', schema: s.aiUsageSchema }, 400: invalid, 401: unauthorized },
      handler: async ({ query }) => aiUsage(knex, windowOf(query, now(), 30 * DAY)),
    }),
    ...agreementAdminRoutes({ knex, clock: deps.clock }),
    ...(deps.people ? peopleAdminRoutes({ knex, people: deps.people, clock: deps.clock, config: deps.config }) : []),
  ];
}

/**
 * The admin API: per-IP rate limit, then the Bearer ADMIN_TOKEN, then the routes.
 * With no token configured every request gets 404 and start-up warns.
 */
export function createAdminRouter(deps: AdminDeps): Router {
  const router = express.Router();
  if (!deps.config.ADMIN_TOKEN) {
    deps.log.warn('ADMIN_TOKEN is not set: the admin API and the dashboard at /admin are off');
  }
  const limitOf = () => deps.settings.current().rate_limits.admin_per_ip_per_minute;
  router.use(
    rateLimit({
      windowMs: 60_000,
      limit: () => limitOf(),
      skip: () => limitOf() === 0,
      keyGenerator: (req) => ipKeyGenerator(req.ip ?? 'unknown'),
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      handler: (_req, res) => {
        res.status(429).json({ error: 'rate_limited', details: `at most ${limitOf()} admin requests a minute per address` });
      },
    }),
  );
  // Who is asking; each route then checks the role it needs (route.role).
  router.use(authenticate(() => deps.config.ADMIN_TOKEN));
  mountRoutes(router, adminRoutes(deps));

  const onError: ErrorRequestHandler = (err: unknown, _req, res, next) => {
    if (err instanceof RequestValidationError) {
      res.status(400).json({ error: 'invalid_request', details: err.issues });
    } else if (err instanceof SettingsValidationError) {
      res.status(400).json({ error: 'invalid_request', details: err.issues.map((i) => ({ ...i, path: `body.${i.path}` })) });
    } else if (err instanceof HandoffError) {
      res.status(err.code === 'not_found' ? 404 : 409).json({ error: err.code, details: err.message });
    } else {
      next(err);
    }
  };
  router.use(onError);
  return router;
}
