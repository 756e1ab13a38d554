import { TEST_TIME } from '../support/ports.js';
import assert from 'node:assert/strict';
import { migrateLatest, migrateRollback, migrationStatus } from '../../src/store/db.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

async function tables(db: TestDatabase): Promise<string[]> {
  const rows = await db.knex('pg_tables').where({ schemaname: 'public' }).pluck('tablename');
  return (rows as string[]).filter((t) => !t.startsWith('knex_')).sort();
}

async function indexes(db: TestDatabase): Promise<Map<string, string>> {
  const rows = (await db.knex('pg_indexes').where({ schemaname: 'public' }).select('indexname', 'indexdef')) as {
    indexname: string;
    indexdef: string;
  }[];
  return new Map(rows.map((r) => [r.indexname, r.indexdef]));
}

describe('migrations', () => {
  let db: TestDatabase;
  before(async () => {
    db = await freshDatabase({ migrated: false });
  });
  after(async () => {
    await db.drop();
  });

  it('create every table of the architecture', async () => {
    const applied = await migrateLatest(db.knex);
    assert.ok(applied.length >= 1);
    const names = await tables(db);
    for (const t of [
      'agreements',
      'contact_log',
      'conversations',
      'debtors',
      'llm_calls',
      'messages',
      'nlu_models',
      'opt_outs',
      'outbox',
      'portfolios',
      'settings',
    ]) {
      assert.ok(names.includes(t), `missing table ${t}`);
    }
    assert.deepEqual((await migrationStatus(db.knex)).pending, []);
  });

  it("index the engine's lookups", async () => {
    const idx = await indexes(db);
    assert.match(idx.get('debtors_cedula_idx') ?? '', /\(cedula\)/);
    assert.match(idx.get('conversations_live_by_user') ?? '', /UNIQUE.*\(channel, user_id\) WHERE/);
    assert.match(idx.get('messages_dedup') ?? '', /UNIQUE.*\(channel, external_id\)/);
  });

  it('refuse a second live conversation for one channel user and a repeated inbound message id', async () => {
    await db.knex('conversations').insert({ channel: 'telegram', user_id: '42', state: 'inicial', opened_at: TEST_TIME, last_activity_at: TEST_TIME });
    await assert.rejects(db.knex('conversations').insert({ channel: 'telegram', user_id: '42', state: 'inicial', opened_at: TEST_TIME, last_activity_at: TEST_TIME }), /conversations_live_by_user/);
    const [conv] = await db.knex('conversations').select('id');
    const message = { conversation_id: conv.id, direction: 'in', author: 'debtor', channel: 'telegram', external_id: 'u1', text: 'hola', created_at: TEST_TIME };
    await db.knex('messages').insert(message);
    await assert.rejects(db.knex('messages').insert(message), /messages_dedup/);
  });

  it('roll back to an empty schema and apply again', async () => {
    await migrateRollback(db.knex, true);
    assert.deepEqual(await tables(db), []);
    await migrateLatest(db.knex);
    assert.ok((await tables(db)).includes('debtors'));
  });
});
