import assert from 'node:assert/strict';
import { backoffDelay, createOutbox, enqueueReplies, type Outbox } from '../../src/engine/outbox.js';
import type { OutboundChannel, Reply } from '../../src/engine/types.js';
import { ChannelApiError } from '../../src/errors.js';
import { createKnex } from '../../src/store/db.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { quietLog, TestClock } from './support/harness.js';

/** A channel whose next sends fail as told, and which records what it delivered. */
class FakeChannel implements OutboundChannel {
  readonly name = 'telegram' as const;
  constructor(readonly delivered: { to: string; text: string }[] = []) {}
  failures: Error[] = [];
  attempts = 0;
  async send(to: string, replies: Reply[]): Promise<{ externalId: string }> {
    this.attempts++;
    const failure = this.failures.shift();
    if (failure) throw failure;
    for (const r of replies) this.delivered.push({ to, text: r.text });
    return { externalId: `ext-${this.attempts}` };
  }
}

const retryable = (retryAfterMs?: number) => new ChannelApiError('429 Too Many Requests', 'telegram', { retryable: true, retryAfterMs });

describe('the outbox', function () {
  let db: TestDatabase;
  let clock: TestClock;
  let channel: FakeChannel;
  let outbox: Outbox;

  beforeEach(async () => {
    db = await freshDatabase();
    clock = new TestClock();
    channel = new FakeChannel();
    outbox = createOutbox({ knex: db.knex, log: quietLog, clock: clock.now, backoff: { baseMs: 1000, maxMs: 60_000 } });
    outbox.registerChannel(channel);
  });
  afterEach(async () => {
    await outbox.stop();
    await db.drop();
  });

  const enqueue = (recipient: string, text: string) =>
    enqueueReplies(db.knex, { channel: 'telegram', recipient, replies: [{ text }], notBefore: clock.now() });
  const row = async (id: number) => db.knex('outbox').where({ id }).first();

  it('doubles the wait between retries, up to a cap', () => {
    assert.deepEqual([1, 2, 3, 4].map((n) => backoffDelay(n, { baseMs: 1000, maxMs: 5000 })), [1000, 2000, 4000, 5000]);
  });

  it('retries a failed send with backoff and never drops it', async () => {
    channel.failures = [retryable(), new Error('socket hang up'), retryable()];
    const id = await enqueue('chat-1', 'hola');
    await outbox.dispatch([id]);
    assert.equal((await row(id)).status, 'pending');
    assert.equal((await row(id)).attempts, 1);
    assert.equal(new Date((await row(id)).next_attempt_at).getTime(), clock.now().getTime() + 1000);

    assert.equal(await outbox.runOnce(), 0, 'not due yet');
    clock.advance(1000);
    assert.equal(await outbox.runOnce(), 1);
    assert.equal((await row(id)).attempts, 2);
    assert.match((await row(id)).last_error, /socket hang up/);
    assert.equal(new Date((await row(id)).next_attempt_at).getTime(), clock.now().getTime() + 2000, 'the wait doubled');

    clock.advance(2000);
    await outbox.runOnce();
    clock.advance(4000);
    await outbox.runOnce();
    const done = await row(id);
    assert.equal(done.status, 'sent');
    assert.equal(done.attempts, 4);
    assert.equal(done.external_id, 'ext-4');
    assert.deepEqual(channel.delivered, [{ to: 'chat-1', text: 'hola' }]);
  });

  it('waits at least as long as the channel asks (Retry-After)', async () => {
    channel.failures = [retryable(30_000)];
    const id = await enqueue('chat-1', 'hola');
    await outbox.dispatch([id]);
    clock.advance(29_000);
    assert.equal(await outbox.runOnce(), 0);
    clock.advance(1_000);
    assert.equal(await outbox.runOnce(), 1);
    assert.equal((await row(id)).status, 'sent');
  });

  it('marks a permanent refusal failed, with its reason, and does not retry it', async () => {
    channel.failures = [new ChannelApiError('403 Forbidden: bot was blocked by the user', 'telegram', { retryable: false })];
    const id = await enqueue('chat-1', 'hola');
    await outbox.dispatch([id]);
    const r = await row(id);
    assert.equal(r.status, 'failed');
    assert.match(r.last_error, /blocked/);
    clock.advance(24 * 3600_000);
    assert.equal(await outbox.runOnce(), 0);
  });

  it('keeps one recipient’s replies in order when an earlier one is waiting to be retried', async () => {
    channel.failures = [retryable()];
    const first = await enqueue('chat-1', 'uno');
    await outbox.dispatch([first]);
    const second = await enqueue('chat-1', 'dos');
    const other = await enqueue('chat-2', 'para otro');
    await outbox.dispatch([second, other]);
    assert.equal((await row(second)).status, 'pending', 'waits behind the first');
    assert.equal((await row(other)).status, 'sent', 'another recipient is not held up');
    clock.advance(1000);
    await outbox.runOnce();
    await outbox.idle();
    assert.deepEqual(
      channel.delivered.filter((d) => d.to === 'chat-1').map((d) => d.text),
      ['uno', 'dos'],
    );
  });

  it('leaves rows of channels this process does not run for the process that does', async () => {
    const id = await enqueueReplies(db.knex, { channel: 'whatsapp-web', recipient: '573001234567', replies: [{ text: 'hola' }], notBefore: clock.now() });
    await outbox.dispatch([id]);
    assert.equal(await outbox.runOnce(), 0);
    assert.equal((await row(id)).status, 'pending');
  });

  it('resends a row whose sender died mid-send once its lease ends (at least once)', async () => {
    const id = await enqueue('chat-1', 'hola');
    // A process claimed it and died: status sending, lease until a minute from now.
    await db.knex('outbox').where({ id }).update({ status: 'sending', attempts: 1, next_attempt_at: new Date(clock.now().getTime() + 60_000) });
    assert.equal(await outbox.runOnce(), 0);
    clock.advance(60_000);
    assert.equal(await outbox.runOnce(), 1);
    assert.equal((await row(id)).status, 'sent');
  });

  it('lets two processes share the work with SKIP LOCKED: every row is sent exactly once', async () => {
    const otherKnex = createKnex(db.url, 5);
    // Both processes write to one log, in the order the sends happen.
    const shared: { to: string; text: string }[] = [];
    channel = new FakeChannel(shared);
    const otherChannel = new FakeChannel(shared);
    const other = createOutbox({ knex: otherKnex, log: quietLog, clock: clock.now, batchSize: 7 });
    other.registerChannel(otherChannel);
    try {
      const mine = createOutbox({ knex: db.knex, log: quietLog, clock: clock.now, batchSize: 7 });
      mine.registerChannel(channel);
      for (let i = 0; i < 60; i++) await enqueue(`chat-${i % 20}`, `mensaje ${i}`);
      for (let pass = 0; pass < 10; pass++) await Promise.all([mine.runOnce(), other.runOnce(), mine.runOnce(), other.runOnce()]);
      await Promise.all([mine.idle(), other.idle()]);
      assert.equal(shared.length, 60);
      assert.equal(new Set(shared.map((d) => d.text)).size, 60, 'no row sent twice');
      assert.ok(channel.attempts > 0 && otherChannel.attempts > 0, 'both processes took part');
      for (let r = 0; r < 20; r++) {
        const numbers = shared.filter((d) => d.to === `chat-${r}`).map((d) => Number(d.text.split(' ')[1]));
        assert.deepEqual(numbers, [r, r + 20, r + 40], `chat-${r} got its messages in order`);
      }
      const unsent = await db.knex('outbox').whereNot({ status: 'sent' }).count<{ n: string }[]>('* as n');
      assert.equal(Number(unsent[0]?.n), 0);
    } finally {
      await other.stop();
      await otherKnex.destroy();
    }
  });
});
