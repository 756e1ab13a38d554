import { testClock } from '../support/ports.js';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/core/index.js';
import { lockChannelUser } from '../../src/engine/conversations.js';
import { createApp } from '../../src/http/app.js';
import { createLogger } from '../../src/log.js';
import { createSchedulerAdminRouter, SCHEDULER_ADMIN_PATH } from '../../src/http/scheduler-routes.js';
import { lifecycleJobs, ManualClock, Scheduler, SEED_TIER_LIMITS } from '../../src/scheduler/index.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { bog, conversation } from '../compliance/seed.js';

const TOKEN = 'test-admin-token-0123456789';

describe('scheduler admin endpoints', () => {
  const log = createLogger({ level: 'silent', pretty: false });
  let db: TestDatabase;
  let server: http.Server;
  let base: string;
  let clock: ManualClock;

  before(async () => {
    db = await freshDatabase();
    clock = new ManualClock(bog('2026-03-03T07:30'));
    const scheduler = new Scheduler({
      knex: db.knex,
      log,
      clock,
      instance: 'test',
      jobs: lifecycleJobs({
        limits: () => SEED_TIER_LIMITS,
        warningFor: () => [{ text: '¿Sigue ahí?' }],
        lockConversation: lockChannelUser,
        retention: () => ({ aiAuditDays: 90, logDays: 30, contactLogDays: 730 }),
        archiveDays: () => 30,
      }),
    });
    const router = createSchedulerAdminRouter({ scheduler, enabled: false, adminToken: () => TOKEN });
    const app = createApp({ clock: testClock(), knex: db.knex, config: loadConfig({}), log, routes: [{ path: SCHEDULER_ADMIN_PATH, router }] });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.close();
    await db.drop();
  });

  const auth = { authorization: `Bearer ${TOKEN}` };

  it('needs the admin token', async () => {
    assert.equal((await fetch(`${base}/api/v1/admin/scheduler-status`)).status, 401);
    assert.equal((await fetch(`${base}/api/v1/admin/process-timeouts`, { method: 'POST', headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status, 401);
  });

  it('POST /process-timeouts runs the timeout job now, and GET /scheduler-status shows it', async () => {
    const id = await conversation(db.knex, { channel: 'telegram', userId: '700', lastActivity: bog('2026-03-03T07:30') });
    clock.set(bog('2026-03-03T19:30'));
    const res = await fetch(`${base}/api/v1/admin/process-timeouts`, { method: 'POST', headers: auth });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { job: string; status: string; result: Record<string, number> };
    assert.equal(body.job, 'conversation-timeouts');
    // 12 h of silence with no warning yet: warned now (deferred: 19:30 is outside the window), closed later.
    assert.deepEqual(body.result, { warned: 0, deferred: 1, revoked: 0, closed: 0 });
    assert.equal((await db.knex('conversations').where({ id }).first()).status, 'open');

    const status = await fetch(`${base}/api/v1/admin/scheduler-status`, { headers: auth });
    assert.equal(status.status, 200);
    const s = (await status.json()) as { enabled: boolean; timezone: string; jobs: { name: string; schedule: string; last_run: { trigger: string; status: string; result: unknown } | null }[] };
    assert.equal(s.enabled, false);
    assert.equal(s.timezone, 'America/Bogota');
    assert.deepEqual(
      s.jobs.map((j) => [j.name, j.schedule]),
      [
        ['conversation-timeouts', '0 * * * *'],
        ['retention-cleanup', '0 */4 * * *'],
        ['archive-conversations', '0 6 * * *'],
        ['metrics-rollup', '0 7 * * *'],
      ],
    );
    const timeouts = s.jobs[0]!;
    assert.equal(timeouts.last_run?.trigger, 'manual');
    assert.equal(timeouts.last_run?.status, 'ok');
    assert.deepEqual(timeouts.last_run?.result, body.result);
    assert.equal(s.jobs[1]!.last_run, null);
  });
});
