/**
 * The admin side of the HTTP app: the admin API, the dashboard at /admin, the API
 * documentation at /docs, and the chat API's per-sender rate limit.
 */
import type { Router } from 'express';
import type { Ops } from '../../ops/index.js';
import { CHAT_API } from './chat-api-docs.js';
import { schedulerApiRoutes } from './scheduler-api-docs.js';
import { createDashboardRouter } from '../dashboard/index.js';
import { createDocsRouter, createOpenApiDocument } from '../openapi.js';
import type { DocumentedRoute } from './route.js';
import { authenticatorRegistrar, createAuthenticator } from '../auth/authenticator.js';
import { AUTH_BASE_PATH, createSessionRouter } from '../auth/session-routes.js';
import { ADMIN_BASE_PATH, adminRoutes, createAdminRouter, type AdminDeps } from './router.js';

export { CHAT_API } from './chat-api-docs.js';
export { createChatRateLimiter } from './rate-limits.js';
export { ADMIN_BASE_PATH, adminRoutes, createAdminRouter, type AdminDeps } from './router.js';
export type { ApiRoute, DocumentedRoute } from './route.js';

/**
 * The routers to mount for operations: /api/v1/admin, /admin and /docs. `publicApis`
 * are documented at /docs beside the admin API (the REST chat API).
 */
export function operationsRoutes(
  deps: Omit<AdminDeps, 'settings' | 'handoff' | 'turnStats'> & { ops: Ops },
  publicApis: { basePath: string; routes: DocumentedRoute[] }[] = [CHAT_API],
): { path: string; router: Router }[] {
  const adminDeps: AdminDeps = { ...deps, settings: deps.ops.settings, handoff: deps.ops.handoff, turnStats: deps.ops.turnStats, people: deps.ops.people };
  // Users, sessions and API tokens for every admin guard of the app (see authenticatorRegistrar).
  const people = { knex: deps.knex, people: deps.ops.people, config: deps.config, clock: deps.clock, log: deps.log };
  const document = createOpenApiDocument({ admin: adminRoutes(adminDeps), moreAdmin: schedulerApiRoutes, public: publicApis, serverUrl: deps.config.PUBLIC_URL });
  return [
    { path: '/', router: authenticatorRegistrar(createAuthenticator(people)) as unknown as Router },
    { path: AUTH_BASE_PATH, router: createSessionRouter(people) },
    { path: ADMIN_BASE_PATH, router: createAdminRouter(adminDeps) },
    { path: '/admin', router: createDashboardRouter() },
    { path: '/docs', router: createDocsRouter(document) },
  ];
}
