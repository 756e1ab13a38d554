import { TEST_TIME } from '../support/ports.js';
import assert from 'node:assert/strict';
import { formatBogota } from '../../src/compliance/index.js';
import { lockChannelUser } from '../../src/engine/conversations.js';
import { processTimeouts, SEED_TIER_LIMITS, type TimeoutJobDeps } from '../../src/scheduler/index.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { bog, conversation, debtor, portfolio } from '../compliance/seed.js';

const HOUR = 3_600_000;

const deps: TimeoutJobDeps = {
  limits: () => SEED_TIER_LIMITS,
  warningFor: (_c, info) => [{ text: `¿Sigue ahí? La conversación se cierra en ${info.hoursLeft} horas.` }],
  lockConversation: lockChannelUser,
};

describe('conversation timeouts per tier', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await freshDatabase();
  });
  afterEach(async () => {
    await db.drop();
  });

  // Start times chosen so the warning falls inside the contact window.
  const cases = [
    { tier: 'default', start: '2026-03-03T07:30', warn: 10, close: 12 },
    { tier: 'premium', start: '2026-03-02T12:00', warn: 20, close: 24 },
    { tier: 'vip', start: '2026-03-02T16:00', warn: 40, close: 48 },
  ] as const;

  for (const c of cases) {
    it(`${c.tier}: warns after ${c.warn} h of silence and auto-closes after ${c.close} h`, async () => {
      const pid = await portfolio(db.knex);
      const d = await debtor(db.knex, pid, { tier: c.tier });
      const t0 = bog(c.start);
      const id = await conversation(db.knex, { channel: 'telegram', userId: '5001', debtorId: d.id, tier: c.tier, lastActivity: t0 });
      const at = (h: number) => new Date(t0.getTime() + h * HOUR);

      assert.deepEqual(await processTimeouts(db.knex, at(c.warn - 0.05), deps), { warned: 0, deferred: 0, revoked: 0, closed: 0 });
      assert.deepEqual(await processTimeouts(db.knex, at(c.warn), deps), { warned: 1, deferred: 0, revoked: 0, closed: 0 });
      const warning = await db.knex('outbox').where({ conversation_id: id }).first();
      assert.equal(warning.kind, 'warning');
      assert.equal(warning.status, 'pending');
      assert.equal(warning.recipient, '5001');
      assert.match(warning.payload[0].text, new RegExp(`se cierra en ${c.close - c.warn} horas`));
      const shown = await db.knex('messages').where({ conversation_id: id }).first();
      assert.equal(shown.author, 'system', 'the warning is part of the transcript');

      // Warned once only.
      assert.deepEqual(await processTimeouts(db.knex, at(c.warn + 1), deps), { warned: 0, deferred: 0, revoked: 0, closed: 0 });
      assert.equal((await db.knex('conversations').where({ id }).first()).status, 'open');
      assert.deepEqual(await processTimeouts(db.knex, at(c.close), deps), { warned: 0, deferred: 0, revoked: 0, closed: 1 });
      const closed = await db.knex('conversations').where({ id }).first();
      assert.equal(closed.status, 'closed');
      assert.equal(closed.close_reason, 'timeout');
      assert.equal(closed.closed_at.getTime(), at(c.close).getTime());
      const event = await db.knex('conversation_events').where({ conversation_id: id, kind: 'auto_close' }).first();
      assert.equal(event.details.reason, 'timeout');
      assert.equal(event.details.tier, c.tier);
    });
  }

  it('a reply after the warning restarts the clock', async () => {
    const t0 = bog('2026-03-03T07:30');
    const id = await conversation(db.knex, { channel: 'telegram', userId: '5002', lastActivity: t0 });
    await processTimeouts(db.knex, new Date(t0.getTime() + 10 * HOUR), deps);
    // The debtor writes at 18:00; the engine moves last_activity_at.
    await db.knex('conversations').where({ id }).update({ last_activity_at: bog('2026-03-03T18:00') });
    assert.equal((await processTimeouts(db.knex, bog('2026-03-03T19:30'), deps)).closed, 0);
    assert.equal((await db.knex('conversations').where({ id }).first()).status, 'open');
  });

  it('a warning due at night is deferred, and the close waits until the debtor had the promised notice', async () => {
    // default tier, silent since 20:00: the warning is due at 06:00, before the window opens.
    const t0 = bog('2026-03-03T20:00');
    const id = await conversation(db.knex, { channel: 'whatsapp-cloud', userId: '573001112233', lastActivity: t0 });
    const r = await processTimeouts(db.knex, bog('2026-03-04T06:00'), deps);
    assert.deepEqual(r, { warned: 0, deferred: 1, revoked: 0, closed: 0 });
    const row = await db.knex('outbox').where({ conversation_id: id }).first();
    assert.equal(row.status, 'deferred');
    assert.equal(formatBogota(row.next_attempt_at), '2026-03-04T07:00:00-05:00');
    // 12 h of silence is 08:00, but the warning only goes out at 07:00: close at 09:00.
    assert.equal((await processTimeouts(db.knex, bog('2026-03-04T08:00'), deps)).closed, 0);
    assert.equal((await processTimeouts(db.knex, bog('2026-03-04T09:00'), deps)).closed, 1);
  });

  it('with the channel revoked, no warning is queued but the conversation still closes', async () => {
    const t0 = bog('2026-03-03T07:30');
    await db.knex('opt_outs').insert({ channel: 'telegram', user_id: '5003', kind: 'no_contactar', status: 'done', created_at: TEST_TIME });
    const id = await conversation(db.knex, { channel: 'telegram', userId: '5003', lastActivity: t0 });
    assert.equal((await processTimeouts(db.knex, new Date(t0.getTime() + 10 * HOUR), deps)).revoked, 1);
    assert.equal(Number((await db.knex('outbox').count('* as n').first())!.n), 0);
    assert.equal((await processTimeouts(db.knex, new Date(t0.getTime() + 12 * HOUR), deps)).closed, 1);
    assert.equal((await db.knex('conversations').where({ id }).first()).status, 'closed');
  });

  it('closes REST API conversations without a warning (that channel only answers inline)', async () => {
    const t0 = bog('2026-03-03T07:30');
    const id = await conversation(db.knex, { channel: 'api', userId: 'u-1', lastActivity: t0 });
    assert.deepEqual(await processTimeouts(db.knex, new Date(t0.getTime() + 10 * HOUR), deps), { warned: 0, deferred: 0, revoked: 0, closed: 0 });
    assert.equal(Number((await db.knex('outbox').count('* as n').first())!.n), 0);
    assert.equal((await processTimeouts(db.knex, new Date(t0.getTime() + 12 * HOUR), deps)).closed, 1);
    assert.equal((await db.knex('conversations').where({ id }).first()).close_reason, 'timeout');
  });

  it('leaves conversations with a person alone', async () => {
    const t0 = bog('2026-03-01T07:30');
    await conversation(db.knex, { channel: 'telegram', userId: '5004', lastActivity: t0, status: 'handoff' });
    assert.deepEqual(await processTimeouts(db.knex, bog('2026-03-04T10:00'), deps), { warned: 0, deferred: 0, revoked: 0, closed: 0 });
  });

  it('reads the limits on every run, so a change applies without a restart', async () => {
    const t0 = bog('2026-03-03T07:30');
    await conversation(db.knex, { channel: 'telegram', userId: '5005', lastActivity: t0 });
    const limits = structuredClone(SEED_TIER_LIMITS);
    const live: TimeoutJobDeps = { ...deps, limits: () => limits };
    assert.equal((await processTimeouts(db.knex, new Date(t0.getTime() + 2 * HOUR), live)).warned, 0);
    limits.default = { timeout_hours: 3, warning_hours: 2, max_messages: 30 };
    assert.equal((await processTimeouts(db.knex, new Date(t0.getTime() + 2 * HOUR), live)).warned, 1);
  });
});
