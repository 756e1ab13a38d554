import { ManualClock } from '../../src/core/index.js';
import { testClock } from '../support/ports.js';
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { lockChannelUser } from '../../src/engine/conversations.js';
import { createOutbox, type Outbox } from '../../src/engine/outbox.js';
import { createLogger } from '../../src/log.js';
import { registry } from '../../src/metrics.js';
import { HandoffError, HandoffService } from '../../src/ops/handoff.js';
import { seed, type SeedIds } from '../admin/support.js';
import { RecordingChannel } from './support.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

describe('human handoff service', () => {
  let db: TestDatabase;
  let ids: SeedIds;
  let outbox: Outbox;
  let webchat: RecordingChannel;
  let handoff: HandoffService;
  const log = createLogger({ level: 'silent', pretty: false });
  let clock: ManualClock;

  beforeEach(async () => {
    db = await freshDatabase();
    ids = await seed(db.knex);
    clock = testClock();
    outbox = createOutbox({ knex: db.knex, log, clock });
    webchat = new RecordingChannel('webchat');
    outbox.registerChannel(webchat);
    handoff = new HandoffService({ knex: db.knex, log, clock, dispatch: (outboxIds) => outbox.dispatch(outboxIds) });
  });
  afterEach(async () => {
    await outbox.stop();
    await db.drop();
  });

  it('lists the queue with the wait and the debtor messages not answered yet', async () => {
    const queue = await handoff.queue();
    assert.deepEqual(queue.map((c) => c.id), [ids.handoff]);
    assert.equal(queue[0]!.handoff_reason, 'solicitar_asesor');
    assert.equal(queue[0]!.unanswered, 1, '"hola? alguien" came after the handoff');
    assert.ok(queue[0]!.waiting_seconds >= 599 && queue[0]!.waiting_seconds < 700, String(queue[0]!.waiting_seconds));
    assert.match(await registry.getSingleMetricAsString('acuerdo_handoff_queue_depth'), /acuerdo_handoff_queue_depth 1/);
  });

  it('sends an agent’s reply on the debtor’s own channel through the outbox, stored as the agent’s', async () => {
    const { message_id, outbox_id } = await handoff.reply(ids.handoff, 'Laura', 'Hola Carlos, soy Laura. ¿En qué le puedo ayudar?');
    await outbox.idle();
    assert.deepEqual(webchat.sent, [{ to: 'v-handoff-1', replies: [{ text: 'Hola Carlos, soy Laura. ¿En qué le puedo ayudar?' }] }]);
    const stored = await db.knex('messages').where({ id: message_id }).first();
    assert.deepEqual([stored.direction, stored.author, stored.channel], ['out', 'agent', 'webchat']);
    const row = await db.knex('outbox').where({ id: outbox_id }).first();
    assert.deepEqual([row.kind, row.status, row.recipient, row.external_id], ['agent', 'sent', 'v-handoff-1', 'ext-1']);
    const conv = await db.knex('conversations').where({ id: ids.handoff }).first();
    assert.equal(conv.assigned_to, 'Laura', 'replying takes an unassigned conversation');
    assert.equal(conv.status, 'handoff', 'still with the person');
    assert.equal((await handoff.queue())[0]!.unanswered, 0);
    assert.match(await registry.getSingleMetricAsString('acuerdo_agent_replies_total'), /channel="webchat"\} [1-9]/);
  });

  it('keeps the reply queued when the channel fails, for the outbox to retry', async () => {
    webchat.send = async () => {
      throw new Error('socket closed');
    };
    const { outbox_id } = await handoff.reply(ids.handoff, 'Laura', 'Sigo aquí');
    await outbox.idle();
    const row = await db.knex('outbox').where({ id: outbox_id }).first();
    assert.equal(row.status, 'pending');
    assert.equal(row.attempts, 1);
  });

  it('waits for the engine’s lock on the channel user, so a debtor’s turn and an agent’s reply never interleave', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const locked = new EventEmitter();
    const turn = db.knex.transaction(async (trx) => {
      await lockChannelUser(trx, 'webchat', 'v-handoff-1');
      locked.emit('locked');
      await held;
      // The "turn" closes the conversation while holding the lock.
      await trx('conversations').where({ id: ids.handoff }).update({ status: 'closed' });
    });
    await once(locked, 'locked');
    const reply = handoff.reply(ids.handoff, 'Laura', 'hola').then(
      () => 'sent',
      (err: unknown) => (err instanceof HandoffError ? err.code : 'other'),
    );
    release();
    await turn;
    assert.equal(await reply, 'not_in_handoff', 'the reply saw the turn’s committed result');
    assert.equal(webchat.sent.length, 0);
  });

  it('refuses actions on a conversation that is not with a person, or does not exist', async () => {
    await assert.rejects(handoff.reply(ids.agreed, 'Laura', 'hola'), (err: HandoffError) => err.code === 'not_in_handoff');
    await assert.rejects(handoff.take('00000000-0000-4000-8000-000000000000', 'Laura'), (err: HandoffError) => err.code === 'not_found');
    assert.equal(await db.knex('outbox').count({ n: '*' }).first().then((r) => Number(r?.n)), 0);
  });

  it('assigns a conversation to the agent who takes it', async () => {
    await handoff.take(ids.handoff, 'Laura');
    await handoff.take(ids.handoff, 'Pedro');
    const conv = await db.knex('conversations').where({ id: ids.handoff }).first();
    assert.equal(conv.assigned_to, 'Pedro');
    assert.ok(conv.assigned_at instanceof Date);
  });

  it('gives the conversation back to the bot where the debtor was, with the limits starting over', async () => {
    await handoff.take(ids.handoff, 'Laura');
    await handoff.release(ids.handoff, 'Laura', 'Le dejo de nuevo con el asistente virtual.');
    await outbox.idle();
    const conv = await db.knex('conversations').where({ id: ids.handoff }).first();
    assert.deepEqual(
      [conv.status, conv.state, conv.fallback_count, conv.message_count, conv.assigned_to],
      ['open', 'informar_deuda', 0, 0, null],
    );
    assert.deepEqual(webchat.sent.map((s) => s.replies[0]!.text), ['Le dejo de nuevo con el asistente virtual.']);
    assert.deepEqual(await handoff.queue(), []);
  });

  it('closes the conversation, optionally saying goodbye', async () => {
    await handoff.close(ids.handoff, 'Laura', 'Gracias por escribirnos. ¡Que esté muy bien!');
    await outbox.idle();
    const conv = await db.knex('conversations').where({ id: ids.handoff }).first();
    assert.deepEqual([conv.status, conv.close_reason], ['closed', 'agent']);
    assert.ok(conv.closed_at instanceof Date);
    assert.equal(webchat.sent.length, 1);
  });

  it('stores a reply on the REST channel as sent: the client reads it from the history', async () => {
    await db.knex('conversations').where({ id: ids.handoff }).update({ channel: 'api' });
    const { outbox_id } = await handoff.reply(ids.handoff, 'Laura', 'Hola');
    const row = await db.knex('outbox').where({ id: outbox_id }).first();
    assert.equal(row.status, 'sent');
  });
});
