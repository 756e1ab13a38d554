import { testClock } from '../support/ports.js';
import assert from 'node:assert/strict';
import pg from 'pg';
import { loadConfig } from '../../src/core/index.js';
import { createLogger } from '../../src/log.js';
import { startService, type RunningService } from '../../src/service.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

/**
 * Backpressure on the real service: two chat turns are held inside PostgreSQL (a test
 * connection holds the channel users' advisory locks, which every turn's save takes), so
 * the process has HTTP_MAX_IN_FLIGHT=2 requests in flight for as long as the test says.
 * A flood then must be refused at once with 503 and Retry-After (it would otherwise wait
 * behind the lock), health checks still answer, and the held turns finish once released.
 */
describe('backpressure: HTTP_MAX_IN_FLIGHT', function () {
  this.timeout(60_000);
  const log = createLogger({ level: 'silent', pretty: false });
  let db: TestDatabase;
  let service: RunningService;
  let holder: pg.Client;
  let base: string;

  before(async () => {
    db = await freshDatabase();
    service = await startService(
      loadConfig({
        DATABASE_URL: db.url,
        DATABASE_POOL_MAX: '4',
        PORT: '0',
        HOST: '127.0.0.1',
        HTTP_MAX_IN_FLIGHT: '2',
        CHAT_RATE_LIMIT_PER_MINUTE: '0',
        SCHEDULER_ENABLED: 'false',
        WEBCHAT_ENABLED: 'false',
        OPENAI_ENABLED: 'false',
        DEMO_DATA: 'true',
      }),
      log,
      { clock: testClock() },
    );
    base = `http://127.0.0.1:${service.port}`;
    holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
  });

  after(async () => {
    await holder.end().catch(() => undefined);
    await service.close();
    await db.drop();
  });

  const send = (userId: string, message: string) =>
    fetch(`${base}/api/v1/chat/message`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: userId, message }) });

  async function advisoryWaiters(): Promise<number> {
    const { rows } = await holder.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and wait_event = 'advisory' and datname = current_database()`,
    );
    return rows[0]?.n ?? 0;
  }

  it('answers a flood past the bound at once with 503 and Retry-After, and serves again when the held turns finish', async () => {
    await holder.query(`select pg_advisory_lock(hashtextextended('api:held-a', 0)), pg_advisory_lock(hashtextextended('api:held-b', 0))`);
    const held = [send('held-a', 'hola'), send('held-b', 'buenas')];
    for (let i = 0; i < 200 && (await advisoryWaiters()) < 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await advisoryWaiters(), 2, 'both turns wait on the held lock: two requests in flight');

    const flood = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const t0 = performance.now();
        const res = await send(`flood-${i}`, 'hola');
        return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { error?: string }, ms: performance.now() - t0 };
      }),
    );
    assert.deepEqual([...new Set(flood.map((r) => r.status))], [503], 'every request past the bound is refused');
    assert.ok(flood.every((r) => r.retryAfter === '1' && r.body.error === 'overloaded'));
    const slowest = Math.max(...flood.map((r) => r.ms));
    assert.ok(slowest < 5_000, `refusals are immediate, not queued behind the lock (slowest ${slowest.toFixed(0)} ms)`);

    // A webhook is refused the same way (the bound sits before the channels' routes); reads are not counted.
    const webhook = await fetch(`${base}/whatsapp/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(webhook.status, 503);
    assert.equal(webhook.headers.get('retry-after'), '1');
    assert.equal((await fetch(`${base}/api/v1/chat/test`)).status, 200, 'health checks answer while load is shed');

    await holder.query(`select pg_advisory_unlock_all()`);
    const done = await Promise.all(held);
    assert.deepEqual(done.map((r) => r.status), [200, 200], 'the turns in flight complete');
    const after = await send('after', 'hola');
    assert.equal(after.status, 200, 'the bound is released when the requests finish');
  });
});
