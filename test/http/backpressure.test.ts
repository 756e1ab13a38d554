import { testClock } from '../support/ports.js';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Request, Response } from 'express';
import pg from 'pg';
import { loadConfig, whileRemote } from '../../src/core/index.js';
import { inFlightLimit } from '../../src/http/backpressure.js';
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

describe('backpressure: HTTP_QUEUE_TARGET_MS', () => {
  /** A request through the middleware: admitted (returns its finish) or refused (503). */
  function through(limit: ReturnType<typeof inFlightLimit>): { admitted: boolean; status?: number; retryAfter?: string; finish(): void } {
    const res = Object.assign(new EventEmitter(), {
      statusCode: 200,
      headers: {} as Record<string, string>,
      setHeader(name: string, value: string) {
        this.headers[name.toLowerCase()] = value;
      },
      status(code: number) {
        this.statusCode = code;
        return this;
      },
      json() {
        return this;
      },
    });
    let admitted = false;
    limit.middleware({ method: 'POST' } as Request, res as unknown as Response, () => {
      admitted = true;
    });
    return { admitted, status: admitted ? undefined : res.statusCode, retryAfter: res.headers['retry-after'], finish: () => res.emit('prefinish') };
  }

  it('lets in only throughput × target while the mean latency is over the target, and everything again once it falls', () => {
    let t = 0;
    const limit = inFlightLimit({ max: 1000, targetMs: 100, floor: 2, intervalMs: 500, now: () => t });
    // 40 requests in flight; they finish 400-500 ms later, 40 in a 500 ms interval: 80/s at a mean over 400 ms.
    const first = Array.from({ length: 40 }, () => through(limit));
    assert.ok(first.every((r) => r.admitted), 'under the count bound and no latency seen yet: all admitted');
    t = 400;
    for (const r of first.slice(0, 39)) r.finish();
    t = 500;
    first[39]?.finish();
    assert.equal(limit.overloaded(), true);
    assert.equal(limit.limit(), 8, '80/s × 0.1 s');
    const next = Array.from({ length: 20 }, () => through(limit));
    assert.equal(next.filter((r) => r.admitted).length, 8);
    const refused = next.filter((r) => !r.admitted);
    assert.ok(refused.length === 12 && refused.every((r) => r.status === 503 && r.retryAfter === '1'));
    // With fewer in flight they finish fast (20 ms, then 10 ms): at the interval's end the
    // mean is below half the target, and the bound lifts.
    t = 520;
    for (const r of next.filter((x) => x.admitted)) r.finish();
    assert.equal(limit.overloaded(), true, 'decided once per interval');
    t = 990;
    const fast = Array.from({ length: 8 }, () => through(limit));
    assert.ok(fast.every((r) => r.admitted));
    t = 1000;
    fast.forEach((r) => r.finish());
    assert.equal(limit.overloaded(), false);
    assert.ok(Array.from({ length: 30 }, () => through(limit)).every((r) => r.admitted));
  });

  it('does not count a request while it waits on a remote service (the OpenAI fallback)', async () => {
    const limit = inFlightLimit({ max: 2, now: () => 0 });
    const a = through(limit);
    let answer!: () => void;
    // The first request's turn calls out: while it waits, it is not working on this machine.
    const out = whileRemote(() => new Promise<void>((resolve) => (answer = resolve)));
    const b = through(limit);
    const c = through(limit);
    assert.ok(a.admitted && b.admitted && c.admitted, 'one parked on the network: a third is let in');
    const d = through(limit);
    assert.equal(d.admitted, false, 'two working and one waiting: the bound holds');
    answer();
    await out;
    b.finish();
    assert.equal(through(limit).admitted, false, 'back from the network it counts again: a, c working');
    c.finish();
    assert.equal(through(limit).admitted, true);
  });

  it('never refuses while requests are fast, however many arrive at once', () => {
    let t = 0;
    const limit = inFlightLimit({ max: 1000, targetMs: 100, floor: 2, intervalMs: 500, now: () => t });
    // Bursts of 200 at once, each answered in 10 ms, for two seconds: the windows close with a mean of 10 ms.
    for (let round = 0; round < 200; round++) {
      const burst = Array.from({ length: 200 }, () => through(limit));
      assert.ok(burst.every((r) => r.admitted));
      t += 10;
      burst.forEach((r) => r.finish());
    }
    assert.equal(limit.overloaded(), false);
  });
});
