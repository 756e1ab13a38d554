import assert from 'node:assert/strict';
import { isStaleTurn, newConversation, optimisticSession, type TurnWrite } from '../../src/engine/conversations.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

const NOW = new Date('2026-11-23T15:00:00Z');

/** A turn's write: the conversation, an inbound message and a reply, as the engine builds it. */
function write(text: string, over: Partial<TurnWrite> = {}): TurnWrite {
  const conversation = { ...newConversation('telegram', `store-${Math.random().toString(36).slice(2)}`, 'negociacion', 'inicial', NOW), context: { dicho: text } };
  return {
    conversation,
    isNew: true,
    previousState: 'inicial',
    messages: [
      { direction: 'in', author: 'debtor', externalId: `m-${conversation.user_id}`, text, sentAt: new Date(NOW.getTime() - 4_000) },
      { direction: 'out', author: 'bot', text: `eco: ${text}`, buttons: [{ id: 'si', text }] },
    ],
    outbox: { recipient: conversation.user_id, replies: [{ text: `eco: ${text}` }], status: 'pending', kind: 'reply' },
    rows: [{ table: 'conversation_events', values: { conversation_id: conversation.id, kind: 'nota', details: { text }, created_at: NOW } }],
    durable: true,
    now: NOW,
    ...over,
  };
}

/** A turn's whole write is one statement with one bound parameter: whatever a debtor types is stored as typed. */
describe('the turn store (acuerdo_save_turn)', () => {
  let db: TestDatabase;
  before(async () => {
    db = await freshDatabase();
  });
  after(async () => db?.drop());

  const nasty = ["it's", 'a\\b', "x'\\'y", "'); drop table messages; --", '{"a":"b\\"c"}', '¿?', 'ñandú 😀', '$$ $tag$ \\x00', "E'\\\\'", '\\', '$1 ? :name ??'];

  it('stores messages, context, the outbox row and effect rows exactly, for any text', async () => {
    const store = optimisticSession(db.knex);
    for (const text of nasty) {
      const w = write(text);
      const saved = await store.save(w);
      assert.ok(saved.outboxId);
      const messages = (await db.knex('messages').where({ conversation_id: w.conversation.id }).orderBy('id')) as { text: string; buttons: unknown; created_at: Date; sent_at: Date | null; next_state: string }[];
      assert.deepEqual(messages.map((m) => m.text), [text, `eco: ${text}`]);
      assert.deepEqual(messages[1]?.buttons, [{ id: 'si', text }]);
      assert.ok(messages.every((m) => m.created_at.getTime() === NOW.getTime() && m.next_state === 'inicial'));
      assert.deepEqual(messages.map((m) => m.sent_at?.getTime() ?? null), [NOW.getTime() - 4_000, null], 'the platform’s time of the inbound message');
      const conv = (await db.knex('conversations').where({ id: w.conversation.id }).first()) as { context: unknown; opened_at: Date };
      assert.deepEqual(conv.context, { dicho: text });
      const box = (await db.knex('outbox').where({ id: saved.outboxId }).first()) as { payload: unknown; next_attempt_at: Date };
      assert.deepEqual(box.payload, [{ text: `eco: ${text}` }]);
      assert.equal(box.next_attempt_at.getTime(), NOW.getTime());
      const event = (await db.knex('conversation_events').where({ conversation_id: w.conversation.id }).first()) as { details: unknown };
      assert.deepEqual(event.details, { text });
    }
  });

  it('saves over a conversation only at the version the turn read; otherwise PostgreSQL says it is stale', async () => {
    const store = optimisticSession(db.knex);
    const first = write('hola');
    const saved = await store.save(first);
    const next: TurnWrite = {
      ...write('sigo'),
      conversation: { ...first.conversation, state: 'informar_deuda' },
      isNew: false,
      expectedVersion: saved.version,
    };
    next.messages = next.messages.map((m, i) => ({ ...m, externalId: i === 0 ? 'm-next' : undefined }));
    next.rows = [];
    const again = await store.save(next);
    assert.ok(again.version > saved.version);
    const stale = { ...next, messages: next.messages.map((m, i) => ({ ...m, externalId: i === 0 ? 'm-stale' : undefined })) };
    await assert.rejects(store.save(stale), (err: unknown) => isStaleTurn(err) && (err as { code: string }).code === '40001');
    await assert.rejects(store.save({ ...next, expectedVersion: again.version }), (err: unknown) => isStaleTurn(err) && (err as { code: string }).code === '23505', 'the same inbound id twice');
    const count = (await db.knex('messages').where({ conversation_id: first.conversation.id }).count('* as n').first()) as { n: string };
    assert.equal(Number(count.n), 4, 'nothing of a refused save is kept');
  });

  it('refuses effect rows for tables a turn may not write', async () => {
    const w = write('x', { rows: [{ table: 'settings' as never, values: { key: 'x', value: {} } }] });
    await assert.rejects(optimisticSession(db.knex).save(w), /cannot write to table settings/);
  });
});
