import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import express, { type Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { z } from 'zod';
import { ADMIN_BASE_PATH } from './admin/router.js';
import type { DocumentedRoute } from './admin/route.js';

/** Express `/a/:id` → OpenAPI `/a/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

/** Adds described routes to the registry, under `basePath`. */
export function registerRoutes(registry: OpenAPIRegistry, basePath: string, routes: DocumentedRoute[], security?: { bearer: string[] }[]): void {
  for (const route of routes) {
    const responses: RouteConfig['responses'] = {};
    for (const [status, answer] of Object.entries(route.responses)) {
      responses[status] = {
        description: answer.description,
        ...(answer.schema
          ? { content: { [answer.contentType ?? 'application/json']: { schema: answer.schema } } }
          : answer.contentType
            ? { content: { [answer.contentType]: { schema: { type: 'string' } } } }
            : {}),
      };
    }
    // Behind the bearer token: the least role the route needs (admin when it states none).
    const role = security ? (route.role ?? 'admin') : undefined;
    if (role && !responses[403]) responses[403] = { description: `The caller's role is below ${role}` };
    const description = [route.description, role ? `Least role: **${role}** (agent < supervisor < admin).` : undefined].filter(Boolean).join('\n\n');
    registry.registerPath({
      method: route.method,
      path: openApiPath(basePath + route.path),
      summary: route.summary,
      ...(description ? { description } : {}),
      tags: route.tags,
      ...(security ? { security } : {}),
      request: {
        ...(route.query ? { query: route.query as z.ZodObject } : {}),
        ...(route.params ? { params: route.params as z.ZodObject } : {}),
        ...(route.body ? { body: { required: true, content: { 'application/json': { schema: route.body } } } } : {}),
      },
      responses,
    });
  }
}

export interface OpenApiSources {
  /** The admin API's routes (as created for the router). */
  admin: DocumentedRoute[];
  /** More admin operations served by other routers (the scheduler's), same base path and token. */
  moreAdmin?: DocumentedRoute[];
  /** Routes of other APIs, by base path (the REST chat API: /api/v1/chat). */
  public?: { basePath: string; routes: DocumentedRoute[] }[];
  version?: string;
  serverUrl?: string;
}

/** The OpenAPI 3.1 document of the chat and admin APIs, generated from their zod schemas. */
export function createOpenApiDocument(sources: OpenApiSources): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'The ADMIN_TOKEN of the service',
  });
  for (const api of sources.public ?? []) registerRoutes(registry, api.basePath, api.routes);
  registerRoutes(registry, ADMIN_BASE_PATH, [...sources.admin, ...(sources.moreAdmin ?? [])], [{ bearer: [] }]);
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'acuerdo API',
      version: sources.version ?? '0.1.0',
      description:
        'The REST chat API (the seed system’s "api" channel) and the admin API of acuerdo, a debt-negotiation bot. Generated from the zod schemas that validate the requests.',
    },
    ...(sources.serverUrl ? { servers: [{ url: sources.serverUrl }] } : {}),
    tags: [
      { name: 'chat', description: 'Talk to the bot as a debtor (REST channel)' },
      { name: 'admin', description: 'Admin session' },
      { name: 'config', description: 'Runtime settings, applied without a restart' },
      { name: 'conversations', description: 'Conversations and transcripts' },
      { name: 'handoff', description: 'The human handoff queue' },
      { name: 'agreements', description: 'Payment agreements and their CSV export' },
      { name: 'metrics', description: 'Metrics, funnel, NLU, alerts and AI usage' },
      { name: 'scheduler', description: 'Scheduled lifecycle jobs' },
    ],
  });
}

/** GET /docs (Swagger UI) and GET /docs/openapi.json. */
export function createDocsRouter(document: object): Router {
  const router = express.Router();
  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  const options: swaggerUi.SwaggerUiOptions = {
    customSiteTitle: 'acuerdo API',
    // No calls to the public validator badge: the page works offline and under our CSP.
    swaggerOptions: { validatorUrl: null, persistAuthorization: false },
  };
  // serveFiles writes the init script (with the options); setup writes the page.
  router.use('/', swaggerUi.serveFiles(document, options), swaggerUi.setup(document, options));
  return router;
}
