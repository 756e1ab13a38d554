import assert from 'node:assert/strict';
import pg from 'pg';
import { escapeLiteral, sqlLiteral } from '../../src/engine/conversations.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

/** The turn's statements inline values as literals: they must round-trip exactly, whatever a debtor types. */
describe('SQL literals in turn statements', () => {
  let db: TestDatabase;
  before(async () => {
    db = await freshDatabase();
  });
  after(async () => db?.drop());

  const nasty = ["it's", 'a\\b', "x'\\'y", "'); drop table messages; --", '{"a":"b\\"c"}', '', 'ñandú 😀', '$$ $tag$ \\x00', 'E\'\\\\\'', '\\'];

  it('escape like pg’s escapeLiteral', () => {
    for (const text of nasty) assert.equal(escapeLiteral(text), pg.escapeLiteral(text), text);
  });

  it('round-trip text, numbers, dates and JSON through PostgreSQL', async () => {
    for (const text of nasty) {
      const { rows } = (await db.knex.raw(`select ${sqlLiteral(text)}::text as v`)) as { rows: { v: string }[] };
      assert.equal(rows[0]?.v, text);
    }
    const value = { texts: nasty, n: 12.5, nested: { ok: true } };
    const { rows } = (await db.knex.raw(`select ${sqlLiteral(value)} as j, ${sqlLiteral(new Date('2026-11-23T15:00:00Z'))} as d, ${sqlLiteral(42)} as n, ${sqlLiteral(null)} as z`)) as {
      rows: { j: unknown; d: Date; n: number; z: null }[];
    };
    assert.deepEqual(rows[0]?.j, value);
    assert.equal(rows[0]?.d.toISOString(), '2026-11-23T15:00:00.000Z');
    assert.equal(rows[0]?.n, 42);
    assert.equal(rows[0]?.z, null);
    assert.throws(() => sqlLiteral(Number.NaN));
  });
});
