import { TEST_TIME } from '../support/ports.js';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createLogger } from '../../src/log.js';
import { ensureEmbeddedPostgres, socketDirectory } from '../../src/store/embedded.js';
import { freshDatabase, testServer, type TestDatabase } from '../support/db.js';

describe('the database under the turn path', () => {
  describe('the embedded server’s Unix socket', () => {
    it('is put in the data directory when its path fits and needs no quoting', () => {
      assert.equal(socketDirectory('/tmp/acuerdo-test-x1/pg'), '/tmp/acuerdo-test-x1/pg');
      assert.equal(socketDirectory(`/${'d'.repeat(120)}/pg`), undefined, 'past the 108-byte socket path limit');
      assert.equal(socketDirectory('/tmp/with space/pg'), undefined);
      assert.equal(socketDirectory("/tmp/it's/pg"), undefined);
    });

    it('carries the service’s connections when the server is embedded', async function () {
      if (process.env.DATABASE_URL) this.skip();
      const server = await testServer();
      const url = new URL(server.connectionString('postgres'));
      const dir = url.searchParams.get('host');
      assert.equal(dir, server.embedded && path.join(server.embedded.dataDir));
      const db = await freshDatabase();
      try {
        // inet_server_addr() is null on a Unix-socket connection.
        const { rows } = await db.knex.raw<{ rows: { addr: string | null }[] }>('select inet_server_addr() as addr');
        assert.equal(rows[0]?.addr, null);
      } finally {
        await db.drop();
      }
    });
  });

  describe('the embedded server where no socket can be made', () => {
    it('starts on TCP alone, and the connection string says so', async function () {
      this.timeout(120_000);
      const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'acuerdo-nosock-'));
      await fs.chmod(dataDir, 0o755);
      const log = createLogger({ level: 'silent', pretty: false });
      try {
        const first = await ensureEmbeddedPostgres({ dataDir, database: 'postgres', log });
        const port = first.port;
        await first.stop();
        // A directory where the socket file would go: PostgreSQL cannot bind it.
        await fs.mkdir(path.join(first.dataDir, `.s.PGSQL.${port}`));
        const again = await ensureEmbeddedPostgres({ dataDir, port, database: 'postgres', log });
        try {
          assert.equal(new URL(again.connectionString('postgres')).searchParams.get('host'), null);
          const client = new pg.Client({ connectionString: again.connectionString('postgres') });
          await client.connect();
          const { rows } = await client.query<{ addr: string | null }>('select inet_server_addr()::text as addr');
          await client.end();
          assert.equal(rows[0]?.addr, '127.0.0.1/32');
        } finally {
          await again.stop();
        }
      } finally {
        await fs.rm(dataDir, { recursive: true, force: true });
      }
    });
  });

  describe('a turn’s update of its conversation', () => {
    let db: TestDatabase;
    before(async () => {
      db = await freshDatabase();
    });
    after(() => db.drop());

    it('is heap-only (no index touched) when only the state, context, counters and activity time change', async () => {
      const [row] = (await db.knex('conversations')
        .insert({ channel: 'telegram', user_id: '77', state: 'inicial', opened_at: TEST_TIME, last_activity_at: TEST_TIME })
        .returning('id')) as { id: string }[];
      const hotUpdates = async () =>
        Number(((await db.knex.raw(`select n_tup_hot_upd from pg_stat_user_tables where relname = 'conversations'`)) as { rows: { n_tup_hot_upd: string }[] }).rows[0]?.n_tup_hot_upd);
      const before = await hotUpdates();
      for (let i = 1; i <= 5; i++) {
        await db.knex('conversations').where({ id: row!.id }).update({
          state: `paso_${i}`,
          context: JSON.stringify({ paso: i }),
          message_count: i,
          last_activity_at: new Date(TEST_TIME.getTime() + i * 60_000),
        });
      }
      // The statistics reach the view when the backend reports them (at the latest within a second).
      let after = await hotUpdates();
      for (let i = 0; i < 20 && after - before < 5; i++) {
        await new Promise((r) => setTimeout(r, 100));
        await db.knex.raw('select pg_stat_clear_snapshot()');
        after = await hotUpdates();
      }
      assert.equal(after - before, 5);
    });

    it('leaves the silence sweep an index on the open conversations', async () => {
      const { rows } = (await db.knex.raw(`select indexdef from pg_indexes where indexname = 'conversations_open_by_id'`)) as { rows: { indexdef: string }[] };
      assert.match(rows[0]?.indexdef ?? '', /\(id\) WHERE \(status = 'open'::text\)/);
    });
  });
});
