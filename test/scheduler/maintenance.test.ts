import { TEST_TIME } from '../support/ports.js';
import assert from 'node:assert/strict';
import { archiveConversations, cleanUp, rollUpMetrics } from '../../src/scheduler/index.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { bog, conversation, debtor, portfolio } from '../compliance/seed.js';

const DAY = 86_400_000;

describe('housekeeping jobs', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await freshDatabase();
  });
  afterEach(async () => {
    await db.drop();
  });

  it('retention deletes audit and log rows older than their retention, and nothing younger', async () => {
    const now = bog('2026-06-01T02:00');
    const ago = (days: number) => new Date(now.getTime() - days * DAY);
    await db.knex('llm_calls').insert([
      { model: 'gpt-4o-mini', latency_ms: 10, status: 'ok', created_at: ago(91) },
      { model: 'gpt-4o-mini', latency_ms: 10, status: 'ok', created_at: ago(89) },
    ]);
    await db.knex('scheduler_runs').insert([
      { job: 'x', trigger: 'manual', instance: 'i', status: 'ok', started_at: ago(31) },
      { job: 'x', trigger: 'manual', instance: 'i', status: 'ok', started_at: ago(29) },
    ]);
    await db.knex('outbox').insert([
      { channel: 'telegram', recipient: '1', kind: 'reply', payload: '[]', status: 'sent', created_at: ago(31), next_attempt_at: TEST_TIME, updated_at: TEST_TIME  },
      { channel: 'telegram', recipient: '1', kind: 'reply', payload: '[]', status: 'pending', created_at: ago(31), next_attempt_at: TEST_TIME, updated_at: TEST_TIME  },
      { channel: 'telegram', recipient: '1', kind: 'campaign', payload: '[]', status: 'sent', created_at: ago(31), next_attempt_at: TEST_TIME, updated_at: TEST_TIME  },
    ]);
    await db.knex('contact_log').insert([
      { channel: 'telegram', recipient: '1', kind: 'campaign', contacted_at: ago(731) },
      { channel: 'telegram', recipient: '1', kind: 'campaign', contacted_at: ago(30) },
    ]);
    const deleted = await cleanUp(db.knex, now, { aiAuditDays: 90, logDays: 30, contactLogDays: 730 });
    assert.equal(deleted.llm_calls, 1);
    assert.equal(deleted.scheduler_runs, 1);
    assert.equal(deleted.outbox, 1, 'unsent rows and campaign rows stay');
    assert.equal(deleted.contact_log, 1);
    assert.equal(Number((await db.knex('outbox').count('* as n').first())!.n), 2);
  });

  it('archives closed conversations older than N days and keeps their messages', async () => {
    const now = bog('2026-06-01T06:00');
    const old = await conversation(db.knex, { channel: 'telegram', userId: '1', lastActivity: new Date(now.getTime() - 40 * DAY), status: 'closed' });
    await db.knex('conversations').where({ id: old }).update({ closed_at: new Date(now.getTime() - 31 * DAY) });
    const recent = await conversation(db.knex, { channel: 'telegram', userId: '2', lastActivity: new Date(now.getTime() - 5 * DAY), status: 'closed' });
    await db.knex('conversations').where({ id: recent }).update({ closed_at: new Date(now.getTime() - 5 * DAY) });
    const open = await conversation(db.knex, { channel: 'telegram', userId: '3', lastActivity: new Date(now.getTime() - 60 * DAY) });
    await db.knex('messages').insert({ conversation_id: old, direction: 'in', author: 'debtor', channel: 'telegram', text: 'hola', created_at: TEST_TIME });
    assert.equal(await archiveConversations(db.knex, now, 30), 1);
    const statuses = Object.fromEntries((await db.knex('conversations').select('id', 'status')).map((r) => [r.id, r.status]));
    assert.deepEqual([statuses[old], statuses[recent], statuses[open]], ['archived', 'closed', 'open']);
    assert.equal(Number((await db.knex('messages').where({ conversation_id: old }).count('* as n').first())!.n), 1);
  });

  it('rolls up conversations, identified, offered, agreements and conversion per portfolio, channel and Bogotá day', async () => {
    const pid = await portfolio(db.knex);
    const d1 = await debtor(db.knex, pid);
    const d2 = await debtor(db.knex, pid);
    // Monday 2 March (Bogotá): two on whatsapp (one identified and offered, one agreed), one anonymous on telegram.
    const a = await conversation(db.knex, { channel: 'whatsapp-cloud', userId: 'a', debtorId: d1.id, lastActivity: bog('2026-03-02T09:00'), status: 'closed' });
    const b = await conversation(db.knex, { channel: 'whatsapp-cloud', userId: 'b', debtorId: d2.id, lastActivity: bog('2026-03-02T23:30'), status: 'closed' });
    await db.knex('conversations').whereIn('id', [a, b]).update({ portfolio_id: pid, context: JSON.stringify({ planes: [] }) });
    // "Offered" means shown an offer: a reached the plans; b agreed (every earlier stage counts it).
    await db.knex('messages').insert({ conversation_id: a, direction: 'out', author: 'bot', channel: 'whatsapp-cloud', text: 'Estas son sus opciones', next_state: 'proponer_planes_pago', created_at: TEST_TIME });
    await db.knex('agreements').insert({ conversation_id: b, debtor_id: d2.id, portfolio_id: pid, kind: 'contado', total: 500000, installment_amount: 500000, first_due_date: '2026-03-10', channel: 'whatsapp-cloud', status: 'vigente', created_at: TEST_TIME });
    await conversation(db.knex, { channel: 'telegram', userId: 'c', lastActivity: bog('2026-03-02T10:00') });
    // 00:30 on 3 March in Bogotá (05:30Z): the next day.
    await conversation(db.knex, { channel: 'telegram', userId: 'd', lastActivity: bog('2026-03-03T00:30') });

    const r = await rollUpMetrics(db.knex, bog('2026-03-04T07:00'));
    assert.deepEqual(r.days.slice(-2), ['2026-03-02', '2026-03-03']);
    const rows = await db.knex('daily_metrics').orderBy(['day', 'channel']).select();
    const pick = (day: string, channel: string) => rows.find((x) => x.day === day && x.channel === channel);
    const wa = pick('2026-03-02', 'whatsapp-cloud');
    assert.deepEqual(
      [wa.portfolio_id, wa.conversations, wa.identified, wa.offered, wa.agreements, Number(wa.conversion_rate)],
      [pid, 2, 2, 2, 1, 0.5],
    );
    const tg = pick('2026-03-02', 'telegram');
    assert.deepEqual([tg.portfolio_id, tg.conversations, tg.identified, tg.agreements], [null, 1, 0, 0]);
    assert.equal(pick('2026-03-03', 'telegram').conversations, 1);
    // Running again replaces, never doubles.
    await rollUpMetrics(db.knex, bog('2026-03-04T07:00'));
    assert.equal(Number((await db.knex('daily_metrics').count('* as n').first())!.n), rows.length);
  });
});
