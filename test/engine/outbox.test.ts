import assert from 'node:assert/strict';
import { applyDeliveryStatus, backoffDelay, createOutbox, enqueueReplies, type Outbox } from '../../src/engine/outbox.js';
import type { OutboundChannel, Reply } from '../../src/core/index.js';
import { ChannelApiError } from '../../src/core/index.js';
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
    outbox = createOutbox({ knex: db.knex, log: quietLog, clock, backoff: { baseMs: 1000, maxMs: 60_000 } });
    outbox.registerChannel(channel);
  });
  afterEach(async () => {
    await outbox.stop();
    await db.drop();
  });

  const enqueue = (recipient: string, text: string) =>
    enqueueReplies(db.knex, { channel: 'telegram', recipient, replies: [{ text }], notBefore: clock.now() }, clock.now());
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
    const id = await enqueueReplies(db.knex, { channel: 'whatsapp-web', recipient: '573001234567', replies: [{ text: 'hola' }], notBefore: clock.now() }, clock.now());
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
    const other = createOutbox({ knex: otherKnex, log: quietLog, clock, batchSize: 7 });
    other.registerChannel(otherChannel);
    try {
      const mine = createOutbox({ knex: db.knex, log: quietLog, clock, batchSize: 7 });
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

/**
 * A channel that sends replies one by one, as the real adapters do, and fails part-way
 * when told: it then reports, like them, how many replies went out and their ids.
 * Each instance is one process's channel: nothing it remembers reaches another.
 */
class PartialChannel implements OutboundChannel {
  readonly name = 'whatsapp-cloud' as const;
  /** What each send() call was asked to deliver. */
  readonly calls: string[][] = [];
  /** The next sends fail at these 0-based positions of the replies they are given. */
  failures: { at: number; retryable: boolean }[] = [];
  constructor(
    readonly delivered: { text: string; id: string }[],
    private readonly prefix: string,
  ) {}

  async send(to: string, replies: Reply[]): Promise<{ externalId?: string; externalIds: string[] }> {
    this.calls.push(replies.map((r) => r.text));
    const failure = this.failures.shift();
    const ids: string[] = [];
    for (const [i, reply] of replies.entries()) {
      if (failure?.at === i) {
        throw new ChannelApiError('(#131000) Something went wrong', 'whatsapp-cloud', { retryable: failure.retryable, delivered: i, externalIds: ids });
      }
      const id = `wamid.${this.prefix}${this.delivered.length}`;
      this.delivered.push({ text: reply.text, id });
      ids.push(id);
    }
    return { externalId: ids.at(-1), externalIds: ids };
  }
}

describe('the outbox with multi-reply rows that fail part-way', function () {
  let db: TestDatabase;
  let otherKnex: ReturnType<typeof createKnex>;
  let clock: TestClock;
  let delivered: { text: string; id: string }[];
  let mine: PartialChannel;
  let theirs: PartialChannel;
  let here: Outbox;
  let there: Outbox;

  beforeEach(async () => {
    db = await freshDatabase();
    // A second pool: another process, sharing nothing with this one but the database.
    otherKnex = createKnex(db.url, 2);
    clock = new TestClock();
    delivered = [];
    mine = new PartialChannel(delivered, 'A');
    theirs = new PartialChannel(delivered, 'B');
    const backoff = { baseMs: 1000, maxMs: 60_000 };
    here = createOutbox({ knex: db.knex, log: quietLog, clock, backoff });
    here.registerChannel(mine);
    there = createOutbox({ knex: otherKnex, log: quietLog, clock, backoff });
    there.registerChannel(theirs);
  });
  afterEach(async () => {
    await Promise.all([here.stop(), there.stop()]);
    await otherKnex.destroy();
    await db.drop();
  });

  const enqueue = (texts: string[]) =>
    enqueueReplies(db.knex, { channel: 'whatsapp-cloud', recipient: '573001234567', replies: texts.map((text) => ({ text })), notBefore: clock.now() }, clock.now());
  const row = async (id: number) => db.knex('outbox').where({ id }).first();
  const messages = async (id: number) =>
    (await db.knex('outbox_messages').where({ outbox_id: id }).orderBy('position').select('position', 'external_id', 'status')) as {
      position: number;
      external_id: string;
      status: string;
    }[];

  it('delivers each reply exactly once when a send fails at reply 2 of 3 and another process retries it', async () => {
    mine.failures = [{ at: 2, retryable: true }];
    const id = await enqueue(['uno', 'dos', 'tres']);
    await here.dispatch([id]);
    const failed = await row(id);
    assert.equal(failed.status, 'pending');
    assert.equal(failed.sent_count, 2, 'the two replies that went out are recorded');
    assert.equal(failed.external_id, 'wamid.A1');

    clock.advance(1000);
    assert.equal(await there.runOnce(), 1);
    assert.deepEqual(theirs.calls, [['tres']], 'the retry sends only what had not gone out');
    assert.deepEqual(
      delivered.map((d) => d.text),
      ['uno', 'dos', 'tres'],
      'the debtor read every reply exactly once',
    );
    const done = await row(id);
    assert.deepEqual([done.status, done.sent_count, done.external_id, done.attempts], ['sent', 3, 'wamid.B2', 2]);
    assert.deepEqual(
      (await messages(id)).map((m) => [m.position, m.external_id]),
      [
        [0, 'wamid.A0'],
        [1, 'wamid.A1'],
        [2, 'wamid.B2'],
      ],
    );
  });

  it('adds up progress over several part-way failures, in either process', async () => {
    mine.failures = [{ at: 1, retryable: true }, { at: 1, retryable: true }];
    theirs.failures = [{ at: 1, retryable: true }];
    const id = await enqueue(['uno', 'dos', 'tres', 'cuatro', 'cinco']);
    await here.dispatch([id]);
    assert.equal((await row(id)).sent_count, 1);
    clock.advance(1000);
    await there.runOnce();
    assert.equal((await row(id)).sent_count, 2);
    clock.advance(2000);
    await here.runOnce();
    assert.equal((await row(id)).sent_count, 3);
    clock.advance(4000);
    await there.runOnce();
    assert.deepEqual(
      [...mine.calls, ...theirs.calls].sort((a, b) => b.length - a.length),
      [['uno', 'dos', 'tres', 'cuatro', 'cinco'], ['dos', 'tres', 'cuatro', 'cinco'], ['tres', 'cuatro', 'cinco'], ['cuatro', 'cinco']],
    );
    assert.deepEqual(
      delivered.map((d) => d.text),
      ['uno', 'dos', 'tres', 'cuatro', 'cinco'],
    );
    assert.equal((await row(id)).status, 'sent');
    assert.deepEqual(
      (await messages(id)).map((m) => m.position),
      [0, 1, 2, 3, 4],
    );
  });

  it('keeps the progress of a permanent failure: the row is failed and says what went out', async () => {
    mine.failures = [{ at: 1, retryable: false }];
    const id = await enqueue(['uno', 'dos', 'tres']);
    await here.dispatch([id]);
    const failed = await row(id);
    assert.deepEqual([failed.status, failed.sent_count, failed.external_id], ['failed', 1, 'wamid.A0']);
    assert.match(failed.last_error, /131000/);
    assert.deepEqual((await messages(id)).map((m) => m.external_id), ['wamid.A0']);
    clock.advance(3600_000);
    assert.equal(await there.runOnce(), 0, 'a permanent failure is not retried');
    // A status for the message that went out does not make the unfinished row look delivered.
    assert.equal(await applyDeliveryStatus(db.knex, { channel: 'whatsapp-cloud', externalId: 'wamid.A0', status: 'read', at: clock.now() }, clock.now()), 0);
    assert.equal((await row(id)).status, 'failed');
  });

  it('holds the recipient’s next reply until the half-sent one is finished', async () => {
    mine.failures = [{ at: 1, retryable: true }];
    const first = await enqueue(['uno', 'dos']);
    await here.dispatch([first]);
    const second = await enqueue(['tres']);
    await there.dispatch([second]);
    assert.equal((await row(second)).status, 'pending');
    clock.advance(1000);
    await there.runOnce();
    await there.idle();
    assert.deepEqual(
      delivered.map((d) => d.text),
      ['uno', 'dos', 'tres'],
    );
  });

  describe('delivery statuses of a multi-message row', () => {
    let id: number;
    const status = (externalId: string, s: 'sent' | 'delivered' | 'read' | 'failed', error?: string) =>
      applyDeliveryStatus(db.knex, { channel: 'whatsapp-cloud', externalId, status: s, at: clock.now(), ...(error ? { error } : {}) }, clock.now());

    beforeEach(async () => {
      id = await enqueue(['uno', 'dos', 'tres']);
      await here.dispatch([id]);
      assert.equal((await row(id)).status, 'sent');
    });

    it('finds the row by its first message, but moves it only when its last message moves', async () => {
      assert.equal(await status('wamid.A0', 'delivered'), 0);
      assert.equal((await row(id)).status, 'sent', 'the last reply may not have arrived yet');
      assert.deepEqual((await messages(id)).map((m) => m.status), ['delivered', 'sent', 'sent']);
      assert.equal(await status('wamid.A2', 'delivered'), 1);
      assert.equal((await row(id)).status, 'delivered');
      assert.equal(await status('wamid.A2', 'read'), 1);
      assert.equal(await status('wamid.A0', 'read'), 0);
      assert.equal(await status('wamid.A2', 'delivered'), 0, 'a late "delivered" does not undo "read"');
      assert.equal((await row(id)).status, 'read');
      assert.ok((await row(id)).sent_at);
    });

    it('fails the row when any of its messages failed, even after its last was read', async () => {
      await status('wamid.A2', 'read');
      assert.equal(await status('wamid.A1', 'failed', 'WhatsApp Cloud API error 131026: Message undeliverable'), 1);
      const failed = await row(id);
      assert.equal(failed.status, 'failed');
      assert.match(failed.last_error, /131026/);
      // A "failed" never undoes a delivery of the same message.
      assert.equal(await status('wamid.A2', 'failed', 'late'), 0);
      assert.deepEqual((await messages(id)).map((m) => m.status), ['sent', 'failed', 'read']);
    });

    it('ignores ids it never sent, and the same id on another channel', async () => {
      assert.equal(await status('wamid.unknown', 'failed', 'x'), 0);
      assert.equal(await applyDeliveryStatus(db.knex, { channel: 'telegram', externalId: 'wamid.A2', status: 'failed', at: clock.now() }, clock.now()), 0);
      assert.equal((await row(id)).status, 'sent');
    });
  });

  it('fails a row, once it finishes, whose earlier message was reported failed while it was being retried', async () => {
    mine.failures = [{ at: 1, retryable: true }];
    const id = await enqueue(['uno', 'dos']);
    await here.dispatch([id]);
    assert.equal(await applyDeliveryStatus(db.knex, { channel: 'whatsapp-cloud', externalId: 'wamid.A0', status: 'failed', at: clock.now(), error: 'undeliverable' }, clock.now()), 0);
    assert.equal((await row(id)).status, 'pending', 'still being sent: the retry goes on');
    clock.advance(1000);
    await there.runOnce();
    const done = await row(id);
    assert.deepEqual([done.status, done.last_error, done.sent_count], ['failed', 'undeliverable', 2]);
  });
});
