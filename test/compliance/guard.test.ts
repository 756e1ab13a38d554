import { TEST_TIME } from '../support/ports.js';
import assert from 'node:assert/strict';
import {
  decideContact,
  formatBogota,
  queueUnprompted,
  recheckBeforeSend,
  type UnpromptedMessage,
} from '../../src/compliance/index.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { bog, conversation, debtor, inbound, portfolio } from './seed.js';

describe('compliance guard', () => {
  let db: TestDatabase;
  let pid: number;
  beforeEach(async () => {
    db = await freshDatabase();
    pid = await portfolio(db.knex);
  });
  afterEach(async () => {
    await db.drop();
  });

  const queue = (m: Omit<UnpromptedMessage, 'payload'>) =>
    db.knex.transaction((trx) => queueUnprompted(trx, { ...m, payload: [{ text: 'Hola' }] }));

  it('queues inside the window, due now, and records the contact', async () => {
    const d = await debtor(db.knex, pid);
    const at = bog('2026-03-03T10:00');
    const r = await queue({ channel: 'whatsapp-cloud', recipient: d.phone!, debtorId: d.id, kind: 'campaign', at });
    assert.ok(r.status === 'queued');
    const row = await db.knex('outbox').where({ id: r.outboxId }).first();
    assert.equal(row.status, 'pending');
    assert.equal(row.kind, 'campaign');
    assert.equal(row.next_attempt_at.getTime(), at.getTime());
    const log = await db.knex('contact_log').where({ outbox_id: r.outboxId }).first();
    assert.equal(log.debtor_id, d.id);
    assert.equal(log.kind, 'campaign');
  });

  it('defers a message outside the window to the next allowed time; it is never dropped', async () => {
    const d = await debtor(db.knex, pid);
    const r = await queue({ channel: 'whatsapp-cloud', recipient: d.phone!, debtorId: d.id, kind: 'reminder', at: bog('2026-03-03T21:30') });
    assert.equal(r.status, 'deferred');
    if (r.status !== 'deferred') return;
    assert.equal(r.reason, 'fuera_de_horario');
    const row = await db.knex('outbox').where({ id: r.outboxId }).first();
    assert.equal(row.status, 'deferred');
    assert.equal(formatBogota(row.next_attempt_at), '2026-03-04T07:00:00-05:00');
    assert.equal(await db.knex('outbox').count('* as n').first().then((x) => Number(x!.n)), 1);
  });

  it('allows one outbound contact per debtor per day across channels: the second channel waits for tomorrow', async () => {
    const d = await debtor(db.knex, pid);
    await conversation(db.knex, { channel: 'telegram', userId: '777001', debtorId: d.id, lastActivity: bog('2026-02-01T10:00'), status: 'closed' });
    const first = await queue({ channel: 'whatsapp-cloud', recipient: d.phone!, debtorId: d.id, kind: 'campaign', at: bog('2026-03-03T09:00') });
    assert.equal(first.status, 'queued');
    const second = await queue({ channel: 'telegram', recipient: '777001', debtorId: d.id, kind: 'campaign', at: bog('2026-03-03T09:05') });
    assert.equal(second.status, 'deferred');
    if (second.status !== 'deferred') return;
    assert.equal(second.reason, 'limite_diario');
    assert.equal(formatBogota(second.sendAt), '2026-03-04T07:00:00-05:00');
    // A third on the next day waits one more day: the 4th is now taken.
    const third = await queue({ channel: 'whatsapp-cloud', recipient: d.phone!, debtorId: d.id, kind: 'reminder', at: bog('2026-03-03T11:00') });
    assert.equal(third.status === 'deferred' && formatBogota(third.sendAt), '2026-03-05T07:00:00-05:00');
  });

  it('counts the same person across portfolios (one cédula, two debtor rows)', async () => {
    const other = await portfolio(db.knex, 'Otra Cartera');
    const a = await debtor(db.knex, pid, { cedula: '93388915', phone: '573001234567' });
    const b = await debtor(db.knex, other, { cedula: '93388915', phone: '573109876543' });
    assert.equal((await queue({ channel: 'whatsapp-cloud', recipient: a.phone!, debtorId: a.id, kind: 'campaign', at: bog('2026-03-03T09:00') })).status, 'queued');
    const second = await queue({ channel: 'whatsapp-web', recipient: b.phone!, debtorId: b.id, kind: 'campaign', at: bog('2026-03-03T09:00') });
    assert.equal(second.status === 'deferred' && second.reason, 'limite_diario');
  });

  it('a send that failed before going out frees the day', async () => {
    const d = await debtor(db.knex, pid);
    const first = await queue({ channel: 'whatsapp-cloud', recipient: d.phone!, debtorId: d.id, kind: 'campaign', at: bog('2026-03-03T09:00') });
    assert.ok(first.status === 'queued');
    await db.knex('outbox').where({ id: first.outboxId }).update({ status: 'failed' });
    const again = await queue({ channel: 'telegram', recipient: '777', debtorId: d.id, kind: 'campaign', at: bog('2026-03-03T10:00') });
    assert.equal(again.status, 'queued');
  });

  it('never uses a channel the debtor revoked, and nothing is queued', async () => {
    const d = await debtor(db.knex, pid);
    await db.knex('opt_outs').insert({ debtor_id: d.id, channel: 'whatsapp-cloud', user_id: d.phone, kind: 'no_contactar', status: 'done', created_at: TEST_TIME });
    const r = await queue({ channel: 'whatsapp-cloud', recipient: d.phone!, debtorId: d.id, kind: 'campaign', at: bog('2026-03-03T10:00') });
    assert.deepEqual(r, { status: 'blocked', reason: 'canal_revocado' });
    assert.equal(Number((await db.knex('outbox').count('* as n').first())!.n), 0);
    // Revoked by debtor: another address on the same channel is closed too; another channel is not.
    assert.equal((await decideContact(db.knex, { channel: 'whatsapp-cloud', recipient: '573000000000', debtorId: d.id, kind: 'campaign', at: bog('2026-03-03T10:00') })).action, 'block');
    assert.equal((await decideContact(db.knex, { channel: 'telegram', recipient: '555', debtorId: d.id, kind: 'campaign', at: bog('2026-03-03T10:00') })).action, 'send');
  });

  it("a recorded express request lets the debtor be written in the hours they asked for", async () => {
    const d = await debtor(db.knex, pid);
    await db.knex('contact_authorizations').insert({ debtor_id: d.id, days: [1, 2, 3, 4, 5], from_time: '19:00', to_time: '21:00', note: 'pidió por WhatsApp que le escriban después del trabajo', created_at: TEST_TIME });
    const r = await queue({ channel: 'whatsapp-cloud', recipient: d.phone!, debtorId: d.id, kind: 'reminder', at: bog('2026-03-03T20:00') });
    assert.equal(r.status, 'queued');
    // Another debtor at the same hour waits.
    const other = await debtor(db.knex, pid);
    const o = await queue({ channel: 'whatsapp-cloud', recipient: other.phone!, debtorId: other.id, kind: 'reminder', at: bog('2026-03-03T20:00') });
    assert.equal(o.status, 'deferred');
  });

  it('once the debtor answered on one channel, other channels wait a week', async () => {
    const d = await debtor(db.knex, pid);
    const conv = await conversation(db.knex, { channel: 'telegram', userId: '9001', debtorId: d.id, lastActivity: bog('2026-03-02T10:00'), status: 'closed' });
    await inbound(db.knex, conv, 'telegram', bog('2026-03-02T10:00'));
    const wa = await decideContact(db.knex, { channel: 'whatsapp-cloud', recipient: d.phone!, debtorId: d.id, kind: 'campaign', at: bog('2026-03-03T10:00') });
    assert.equal(wa.action, 'defer');
    if (wa.action !== 'defer') return;
    assert.equal(wa.reason, 'otro_canal_semana');
    assert.equal(formatBogota(wa.at), '2026-03-09T10:00:00-05:00');
    const tg = await decideContact(db.knex, { channel: 'telegram', recipient: '9001', debtorId: d.id, kind: 'campaign', at: bog('2026-03-03T10:00') });
    assert.equal(tg.action, 'send');
  });

  describe('the last look before sending', () => {
    it('cancels a queued message whose channel was revoked meanwhile', async () => {
      const d = await debtor(db.knex, pid);
      const r = await queue({ channel: 'whatsapp-cloud', recipient: d.phone!, debtorId: d.id, kind: 'campaign', at: bog('2026-03-03T10:00') });
      assert.ok(r.status === 'queued');
      await db.knex('opt_outs').insert({ debtor_id: d.id, channel: 'whatsapp-cloud', user_id: d.phone, kind: 'no_contactar', status: 'done', created_at: TEST_TIME });
      const row = await db.knex('outbox').where({ id: r.outboxId }).first();
      assert.deepEqual(await recheckBeforeSend(db.knex, row, bog('2026-03-03T10:01')), { action: 'cancel', reason: 'canal_revocado' });
    });

    it('holds a message a late worker picks up after the window closed', async () => {
      const d = await debtor(db.knex, pid);
      const r = await queue({ channel: 'whatsapp-cloud', recipient: d.phone!, debtorId: d.id, kind: 'campaign', at: bog('2026-03-03T18:58') });
      assert.ok(r.status === 'queued');
      const row = await db.knex('outbox').where({ id: r.outboxId }).first();
      const check = await recheckBeforeSend(db.knex, row, bog('2026-03-03T19:05'));
      assert.equal(check.action, 'defer');
      assert.equal(check.action === 'defer' && formatBogota(check.at), '2026-03-04T07:00:00-05:00');
    });

    it('drops a timeout warning or a campaign opening the debtor overtook by writing first', async () => {
      const at = bog('2026-03-03T21:00');
      const conv = await conversation(db.knex, { channel: 'telegram', userId: '31', lastActivity: bog('2026-03-03T11:00') });
      const warning = await db.knex.transaction((trx) =>
        queueUnprompted(trx, { channel: 'telegram', recipient: '31', conversationId: conv, kind: 'warning', at, payload: [{ text: '¿Sigue ahí?' }] }),
      );
      const d = await debtor(db.knex, pid);
      const opening = await queue({ channel: 'whatsapp-cloud', recipient: d.phone!, debtorId: d.id, kind: 'campaign', at });
      assert.ok(warning.status === 'deferred' && opening.status === 'deferred');
      const rowOf = (id: number) => db.knex('outbox').where({ id }).first();
      const morning = bog('2026-03-04T07:00');
      assert.deepEqual(await recheckBeforeSend(db.knex, await rowOf(warning.outboxId), morning), { action: 'send' });
      assert.deepEqual(await recheckBeforeSend(db.knex, await rowOf(opening.outboxId), morning), { action: 'send' });
      // At 06:30 both wrote to us.
      await db.knex('conversations').where({ id: conv }).update({ last_activity_at: bog('2026-03-04T06:30') });
      await conversation(db.knex, { channel: 'whatsapp-cloud', userId: d.phone!, lastActivity: bog('2026-03-04T06:30') });
      assert.deepEqual(await recheckBeforeSend(db.knex, await rowOf(warning.outboxId), morning), { action: 'cancel', reason: 'superseded' });
      assert.deepEqual(await recheckBeforeSend(db.knex, await rowOf(opening.outboxId), morning), { action: 'cancel', reason: 'superseded' });
    });

    it('lets replies through at any hour', async () => {
      const check = await recheckBeforeSend(db.knex, { id: 1, channel: 'telegram', recipient: '1', kind: 'reply' }, bog('2026-03-08T23:00'));
      assert.deepEqual(check, { action: 'send' });
    });
  });
});
