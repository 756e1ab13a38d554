import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/core/index.js';
import { createLogger } from '../../src/log.js';
import { startService, type RunningService } from '../../src/service.js';
import { superviseDatabase } from '../../src/store/supervisor.js';

const quiet = createLogger({ level: 'silent', pretty: false });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await sleep(100);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

describe('the database supervisor', () => {
  it('restarts with doubling pauses, gives up after its limit, and calls onFatal once', async () => {
    const attempts: number[] = [];
    const fatal: string[] = [];
    const started = Date.now();
    const supervisor = superviseDatabase({
      log: quiet,
      what: 'test',
      checkMs: 10,
      maxAttempts: 3,
      backoffMs: 40,
      alive: async () => false,
      restart: async () => {
        attempts.push(Date.now() - started);
        throw new Error('port in use');
      },
      ready: async () => true,
      onFatal: (reason) => fatal.push(reason),
    });
    try {
      await until('gave up', 3000, () => fatal.length > 0);
      await sleep(100);
      assert.equal(attempts.length, 3);
      assert.deepEqual(fatal, ['the embedded PostgreSQL could not be restarted after 3 attempts']);
      assert.equal(supervisor.state().status, 'failed');
      // 40 ms, then 80 ms between attempts.
      assert.ok(attempts[1]! - attempts[0]! >= 35 && attempts[2]! - attempts[1]! >= 75, JSON.stringify(attempts));
    } finally {
      supervisor.stop();
    }
  });

  it('marks an external server down while it does not answer, and up when it does (no restart of its own)', async () => {
    let answering = true;
    const supervisor = superviseDatabase({ log: quiet, what: 'external', checkMs: 10, alive: async () => answering, ready: async () => answering, onFatal: () => assert.fail('no fatal for an external server') });
    try {
      answering = false;
      await until('down', 1000, () => supervisor.state().status !== 'up');
      assert.equal(supervisor.state().reason, 'the database does not answer');
      assert.ok(supervisor.retryAfterSeconds() >= 1);
      await sleep(50);
      answering = true;
      await until('up', 1000, () => supervisor.state().status === 'up');
      assert.equal(supervisor.state().recoveries, 1);
    } finally {
      supervisor.stop();
    }
  });
});

describe('the service when its embedded PostgreSQL is killed (kill -9 of the postmaster, under load)', function () {
  this.timeout(120_000);
  let dataDir: string;
  let service: RunningService | undefined;
  const fatal: string[] = [];

  before(async () => {
    // mkdtemp makes it 0700: as root, the postgres user must still reach DATA_DIR/pg.
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'acuerdo-supervised-'));
    service = await startService(loadConfig({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', SCHEDULER_ENABLED: 'false' }), quiet, {
      database: { checkMs: 250, backoffMs: 500, maxAttempts: 5, onFatal: (reason) => fatal.push(reason) },
    });
  });
  after(async () => {
    await service?.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('started on a 0700 DATA_DIR as root by letting postgres enter it', async function () {
    if (process.getuid?.() !== 0) this.skip();
    const { mode } = await fs.stat(dataDir);
    assert.equal(mode & 0o777, 0o701);
  });

  it('answers 503 with Retry-After meanwhile, says why on health, and is back within 15 s with nothing acknowledged lost', async () => {
    const base = `http://127.0.0.1:${service!.port}/api/v1/chat`;
    const acknowledged = new Set<string>();
    const statuses = new Map<number, number>();
    let retryAfterSeen = false;
    let stop = false;

    /** One client: sends its messages one after another, retrying each (same message_id) until it is answered. */
    const client = async (n: number) => {
      for (let i = 0; !stop; i++) {
        const id = `load-${n}-${i}`;
        for (;;) {
          const res = await fetch(`${base}/message`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ user_id: `carga-${n}`, message: i % 2 ? 'hola' : 'quiero pagar', message_id: id }),
          }).catch(() => undefined);
          if (res) statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res?.status === 200) {
            acknowledged.add(id);
            break;
          }
          if (res?.status === 503 && res.headers.get('retry-after')) retryAfterSeen = true;
          await res?.body?.cancel();
          await sleep(100);
        }
      }
    };
    const clients = [0, 1, 2, 3].map(client);
    await until('some traffic', 10_000, () => acknowledged.size >= 8);

    const pid = Number.parseInt((await fs.readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]!, 10);
    process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();

    // Health says why while it is down.
    let reason: string | undefined;
    await until('health reports the outage', 5000, async () => {
      const res = await fetch(`${base}/test`);
      const body = (await res.json()) as { reason?: string };
      if (res.status === 503) reason = body.reason;
      return res.status === 503;
    });
    assert.match(reason ?? '', /stopped|restart|answer/);

    const backIn = await until('health is 200 again', 15_000, async () => (await fetch(`${base}/test`)).status === 200);
    const ackedBefore = acknowledged.size;
    await until('chat succeeds again', 15_000 - backIn, () => acknowledged.size > ackedBefore + 4);
    const recoveredMs = Date.now() - killedAt;
    stop = true;
    await Promise.all(clients);

    assert.ok(recoveredMs < 15_000, `recovered in ${recoveredMs} ms`);
    assert.deepEqual(fatal, []);
    assert.equal(statuses.get(500) ?? 0, 0, `no 500s: ${JSON.stringify([...statuses])}`);
    assert.ok(retryAfterSeen, `503s carry Retry-After: ${JSON.stringify([...statuses])}`);
    assert.equal(service!.database.supervisor.state().recoveries, 1);
    // Every acknowledged message is stored, once.
    const rows = (await service!.knex('messages').where({ channel: 'api', direction: 'in' }).select('external_id')) as { external_id: string }[];
    const stored = rows.map((r) => r.external_id.split('\u001f')[1]);
    for (const id of acknowledged) assert.equal(stored.filter((s) => s === id).length, 1, id);
    process.stdout.write(`      (kill -9 → chat answering again in ${recoveredMs} ms; ${acknowledged.size} messages acknowledged; statuses ${JSON.stringify([...statuses])})\n`);
  });
});
