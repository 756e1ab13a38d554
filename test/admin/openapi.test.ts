import { testClock } from '../support/ports.js';
import assert from 'node:assert/strict';
import type { Router } from 'express';
import { z } from 'zod';
import { chatApiRoutes } from '../../src/http/admin/chat-api-docs.js';
import { adminRoutes, createAdminRouter } from '../../src/http/admin/router.js';
import { schedulerApiRoutes } from '../../src/http/admin/scheduler-api-docs.js';
import { createSchedulerAdminRouter } from '../../src/http/scheduler-routes.js';
import { chatMessageBody, resetBody } from '../../src/http/chat-routes.js';
import { openApiPath } from '../../src/http/openapi.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { startOpsApp, type OpsApp } from './support.js';

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, { security?: unknown[]; requestBody?: { content: Record<string, { schema: { $ref?: string } }> } }>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }>; securitySchemes: Record<string, unknown> };
}

/** The (method, path) pairs an express router really answers. */
function routerOperations(router: Router): string[] {
  const out: string[] = [];
  for (const layer of (router as unknown as { stack: { route?: { path: string; methods: Record<string, boolean> } }[] }).stack) {
    if (!layer.route) continue;
    for (const method of Object.keys(layer.route.methods)) out.push(`${method} ${layer.route.path}`);
  }
  return out.sort();
}

describe('OpenAPI document at /docs', () => {
  let db: TestDatabase;
  let app: OpsApp;
  let doc: OpenApiDoc;

  before(async () => {
    db = await freshDatabase();
    app = await startOpsApp(db.knex);
    const res = await fetch(`${app.base}/docs/openapi.json`);
    assert.equal(res.status, 200);
    doc = (await res.json()) as OpenApiDoc;
  });
  after(async () => {
    await app.close();
    await db.drop();
  });

  it('documents exactly the operations the admin router answers, each behind the bearer token', () => {
    const router = createAdminRouter({ clock: testClock(), knex: db.knex, config: app.config, log: app.ops.handoff['options'].log, settings: app.ops.settings, handoff: app.ops.handoff, people: app.ops.people });
    const served = routerOperations(router);
    const documented = Object.entries(doc.paths)
      .filter(([p]) => p.startsWith('/api/v1/admin'))
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`))
      .sort();
    const scheduler = routerOperations(createSchedulerAdminRouter({ scheduler: {} as never, enabled: true, adminToken: () => undefined }));
    assert.deepEqual(scheduler, schedulerApiRoutes.map((r) => `${r.method} ${r.path}`).sort(), 'the scheduler’s routes are documented too');
    assert.deepEqual(documented, [...served, ...scheduler].map((op) => op.replace(/ (\S+)$/, (_m, p: string) => ` /api/v1/admin${openApiPath(p)}`)).sort());
    assert.ok(served.length >= 16);
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const op of Object.values(ops)) assert.equal(Boolean(op.security), p.startsWith('/api/v1/admin'), p);
    }
    assert.deepEqual(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer', description: 'The ADMIN_TOKEN of the service' });
  });

  it('documents the chat API with the very schemas it validates with', () => {
    assert.equal(doc.openapi, '3.1.0');
    for (const r of chatApiRoutes) assert.ok(doc.paths[`/api/v1/chat${openApiPath(r.path)}`]?.[r.method], `${r.method} ${r.path}`);
    const message = doc.components.schemas.ChatMessageRequest!;
    assert.deepEqual(Object.keys(message.properties ?? {}).sort(), Object.keys(chatMessageBody.shape).sort());
    assert.deepEqual(message.required, ['user_id', 'message']);
    // The document's schema is the validator's JSON Schema.
    const { $schema: _ignored, ...fromZod } = z.toJSONSchema(resetBody, { io: 'input' }) as Record<string, unknown>;
    const { ...inDoc } = doc.components.schemas.ChatResetRequest as Record<string, unknown>;
    assert.deepEqual(inDoc, fromZod);
  });

  it('documents each admin request body and answer by name', () => {
    const put = doc.paths['/api/v1/admin/config']!.put!;
    assert.equal(put.requestBody!.content['application/json']!.schema.$ref, '#/components/schemas/RuntimeConfigUpdate');
    for (const name of ['RuntimeConfig', 'ConversationList', 'Transcript', 'AgreementList', 'Metrics', 'Funnel', 'AlertList', 'AiUsage', 'HandoffQueue', 'HandoffReply']) {
      assert.ok(doc.components.schemas[name], name);
    }
    const routes = adminRoutes({} as never);
    assert.ok(routes.every((r) => r.summary && r.tags.length));
  });

  it('serves Swagger UI from the same app, with no outside requests', async () => {
    const page = await fetch(`${app.base}/docs/`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /swagger-ui/);
    assert.doesNotMatch(html, /(src|href)=["']?https?:/i, 'no CDN');
    const init = await fetch(`${app.base}/docs/swagger-ui-init.js`);
    const js = await init.text();
    assert.match(js, /"\/api\/v1\/admin\/agreements\.csv"/);
    assert.match(js, /"validatorUrl": null/);
  });
});
