import assert from 'node:assert/strict';
import { loadConfig } from '../../src/core/index.js';
import { createLogger } from '../../src/log.js';
import { startService, type RunningService } from '../../src/service.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

const TOKEN = 'service-admin-token-0123456789';

describe('the scheduler in the service', function () {
  this.timeout(60_000);
  const log = createLogger({ level: 'silent', pretty: false });
  let db: TestDatabase;
  let service: RunningService | undefined;

  beforeEach(async () => {
    db = await freshDatabase();
  });
  afterEach(async () => {
    await service?.close();
    service = undefined;
    await db.drop();
  });

  async function status(enabled: string) {
    service = await startService(
      loadConfig({ DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', ADMIN_TOKEN: TOKEN, SCHEDULER_ENABLED: enabled, DEMO_DATA: 'false', WEBCHAT_ENABLED: 'false' }),
      log,
    );
    const res = await fetch(`http://127.0.0.1:${service.port}/api/v1/admin/scheduler-status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    return (await res.json()) as { enabled: boolean; jobs: { name: string; next_run: string | null }[] };
  }

  it('starts with the service, behind the admin token, and stops with it', async () => {
    const s = await status('true');
    assert.equal(s.enabled, true);
    assert.deepEqual(s.jobs.map((j) => j.name), ['conversation-timeouts', 'retention-cleanup', 'archive-conversations', 'metrics-rollup', 'agreement-status', 'agreement-reminders', 'broken-promises']);
    assert.ok(s.jobs.every((j) => j.next_run && Date.parse(j.next_run) > Date.now()), 'every job is armed');
    const denied = await fetch(`http://127.0.0.1:${service!.port}/api/v1/admin/process-timeouts`, { method: 'POST' });
    assert.equal(denied.status, 401);
    const run = await fetch(`http://127.0.0.1:${service!.port}/api/v1/admin/process-timeouts`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(run.status, 200);
    assert.deepEqual(((await run.json()) as { result: unknown }).result, { warned: 0, deferred: 0, revoked: 0, closed: 0 });
  });

  it('SCHEDULER_ENABLED=false leaves the jobs to other instances (the timeout job still runs by hand)', async () => {
    const s = await status('false');
    assert.equal(s.enabled, false);
    assert.ok(s.jobs.every((j) => j.next_run === null));
  });
});
