import assert from 'node:assert/strict';
import {
  addBusinessDays,
  detectComplianceRequests,
  queueUnprompted,
  recordDataRequest,
  revokeChannel,
} from '../../src/compliance/index.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { bog, debtor, portfolio } from './seed.js';

describe('opt-outs and data requests', () => {
  describe('recognizing them in the debtor’s words', () => {
    const stops = ['STOP', 'stop', 'Baja', 'BAJA.', 'no me escriban más', 'Por favor NO ME ESCRIBAN MAS!!', 'ya no me vuelvan a escribir', 'dejen de escribirme por favor', 'quiero darme de baja', 'no me contacten'];
    for (const text of stops) {
      it(`"${text}" revokes the channel`, () => assert.deepEqual([...detectComplianceRequests(text)], ['no_contactar']));
    }
    const data = ['borren mis datos', 'Quiero que eliminen mis datos personales', 'solicito habeas data', 'bórrenme de su base de datos'];
    for (const text of data) {
      it(`"${text}" is a data request`, () => assert.ok(detectComplianceRequests(text).has('borrar_datos')));
    }
    const neither = ['hola', 'quiero pagar', 'la cuota está muy baja', 'no me alcanza la plata', 'me pueden escribir mañana', 'stop motion', 'no puedo pagar más'];
    for (const text of neither) {
      it(`"${text}" is neither`, () => assert.equal(detectComplianceRequests(text).size, 0));
    }
    it('both at once', () => {
      assert.deepEqual([...detectComplianceRequests('borren mis datos y no me escriban más')].sort(), ['borrar_datos', 'no_contactar']);
    });
  });

  it('answers data requests in 15 Colombian business days (holidays skipped)', () => {
    // From Tuesday 1 Dec 2026: 8 Dec (Inmaculada) and the weekends do not count.
    assert.equal(addBusinessDays('2026-12-01', 15), '2026-12-23');
    // Over Christmas and New Year, and Reyes moved to Monday 11 Jan 2027.
    assert.equal(addBusinessDays('2026-12-22', 15), '2027-01-15');
  });

  describe('recording them', () => {
    let db: TestDatabase;
    let pid: number;
    beforeEach(async () => {
      db = await freshDatabase();
      pid = await portfolio(db.knex);
    });
    afterEach(async () => {
      await db.drop();
    });

    it('a revocation cancels what was queued for that channel at once, and only that channel', async () => {
      const d = await debtor(db.knex, pid);
      const at = bog('2026-03-03T21:00');
      const [wa, tg] = await db.knex.transaction(async (trx) => [
        await queueUnprompted(trx, { channel: 'whatsapp-cloud', recipient: d.phone!, debtorId: d.id, kind: 'campaign', at, payload: [{ text: 'Hola' }] }),
        await queueUnprompted(trx, { channel: 'telegram', recipient: '42', debtorId: d.id, kind: 'reminder', at: bog('2026-03-05T10:00'), payload: [{ text: 'Hola' }] }),
      ]);
      assert.equal(wa!.status, 'deferred');
      const r = await db.knex.transaction((trx) =>
        revokeChannel(trx, { channel: 'whatsapp-cloud', userId: d.phone!, debtorId: d.id, message: 'STOP', at: bog('2026-03-03T21:05') }),
      );
      assert.equal(r.cancelled, 1);
      const rows = await db.knex('outbox').orderBy('id').select('status', 'last_error', 'channel');
      assert.deepEqual(rows.map((x) => [x.channel, x.status]), [['whatsapp-cloud', 'failed'], ['telegram', tg!.status === 'queued' ? 'pending' : 'deferred']]);
      assert.match(rows[0].last_error, /canal_revocado/);
      // Recorded once, however often they say it.
      await db.knex.transaction((trx) => revokeChannel(trx, { channel: 'whatsapp-cloud', userId: d.phone!, debtorId: d.id, message: 'BAJA', at: bog('2026-03-03T21:06') }));
      assert.equal(Number((await db.knex('opt_outs').where({ kind: 'no_contactar' }).count('* as n').first())!.n), 1);
    });

    it('a data request is recorded for a person with its due date, and the debt stays', async () => {
      const d = await debtor(db.knex, pid);
      const r = await db.knex.transaction((trx) =>
        recordDataRequest(trx, { channel: 'whatsapp-cloud', userId: d.phone!, debtorId: d.id, message: 'borren mis datos', at: bog('2026-12-01T10:00') }),
      );
      assert.equal(r.dueDate, '2026-12-23');
      const row = await db.knex('opt_outs').where({ id: r.id }).first();
      assert.equal(row.kind, 'borrar_datos');
      assert.equal(row.status, 'open');
      assert.equal(row.due_date, '2026-12-23');
      assert.ok(await db.knex('debtors').where({ id: d.id }).first(), 'the debt record stays');
    });
  });
});
