import { testClock } from '../support/ports.js';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/core/index.js';
import { createApp } from '../../src/http/app.js';
import { createLogger } from '../../src/log.js';
import { createKnex, type Knex } from '../../src/store/db.js';
import { ensureEmbeddedPostgres, type EmbeddedServer } from '../../src/store/embedded.js';

describe('health check GET /api/v1/chat/test', () => {
  const log = createLogger({ level: 'silent', pretty: false });
  let dir: string;
  let pg: EmbeddedServer;
  let knex: Knex;
  let server: http.Server;
  let base: string;

  before(async function () {
    this.timeout(60_000);
    // A server of its own, so that stopping it does not touch the suite's database.
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'acuerdo-health-'));
    await fs.chmod(dir, 0o755);
    pg = await ensureEmbeddedPostgres({ dataDir: dir, database: 'acuerdo', log });
    knex = createKnex(pg.connectionString('acuerdo'), 2);
    server = http.createServer(createApp({ clock: testClock(), knex, config: loadConfig({}), log }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.close();
    await knex.destroy();
    await pg.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('answers 200 with the database status', async () => {
    const res = await fetch(`${base}/api/v1/chat/test`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; database: string };
    assert.deepEqual([body.status, body.database], ['ok', 'ok']);
  });

  it('answers 400 with a JSON reason for a malformed body and 404 as JSON', async () => {
    const res = await fetch(`${base}/api/v1/chat/test`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user_id": ' });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_json');
  });

  it('answers 503 when the database is stopped', async function () {
    this.timeout(30_000);
    await pg.stop();
    const res = await fetch(`${base}/api/v1/chat/test`);
    assert.equal(res.status, 503);
    const body = (await res.json()) as { status: string; database: string };
    assert.deepEqual([body.status, body.database], ['unavailable', 'unreachable']);
  });
});
