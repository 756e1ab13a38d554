import assert from 'node:assert/strict';
import { MIGRATIONS_DIR } from '../../src/store/db.js';
import { runInAgency } from '../../src/store/index.js';
import { seed } from '../admin/support.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

const AGENCIES_MIGRATION = '20261208900000_agencies.ts';
const config = { directory: MIGRATIONS_DIR, loadExtensions: ['.ts'], tableName: 'knex_migrations' };

describe('the agencies migration', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  before(async () => {
    db = await freshDatabase({ migrated: false });
  });
  after(async () => {
    await db?.drop();
  });

  it('moves every existing row into the default agency without losing one, and the default agency sees them all', async () => {
    // Every migration before the agencies one, then today's data.
    for (;;) {
      const [, pending] = (await db.knex.migrate.list(config)) as [unknown[], { file: string }[]];
      if (pending[0]?.file === AGENCIES_MIGRATION) break;
      assert.ok(pending.length > 0, 'the agencies migration is pending');
      await db.knex.migrate.up(config);
    }
    await seed(db.knex);
    const tables = ['portfolios', 'debtors', 'conversations', 'messages', 'agreements'];
    const before: Record<string, number> = {};
    for (const t of tables) before[t] = Number(((await db.knex(t).count({ n: '*' })) as { n: string }[])[0]!.n);

    await db.knex.migrate.latest(config);

    for (const t of tables) {
      const rows = (await db.knex(t).select('agency_id')) as { agency_id: number }[];
      assert.equal(rows.length, before[t], `${t}: no row lost`);
      assert.ok(rows.every((r) => r.agency_id === 1), `${t}: every row in the default agency`);
      // Through the default agency's own row-security-bound pool: the same rows.
      const seen = await runInAgency(1, async () => Number(((await db.knex(t).count({ n: '*' })) as { n: string }[])[0]!.n));
      assert.equal(seen, before[t], `${t} as the default agency`);
      const none = await runInAgency(2, async () => Number(((await db.knex(t).count({ n: '*' })) as { n: string }[])[0]!.n));
      assert.equal(none, 0, `${t} as another agency`);
    }
    const policies = (await db.knex.raw(`select tablename from pg_policies where policyname = 'agency_isolation'`)) as { rows: { tablename: string }[] };
    const covered = policies.rows.map((r) => r.tablename);
    for (const t of [...tables, 'outbox', 'audit_log', 'campaigns', 'payments']) assert.ok(covered.includes(t), `${t} has the isolation policy`);
    for (const t of ['settings', 'users', 'scheduler_runs']) assert.ok(!covered.includes(t), `${t} is global`);
  });
});
