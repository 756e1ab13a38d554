import assert from 'node:assert/strict';
import express from 'express';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { startOpsApp, type OpsApp } from './support.js';

describe('chat API rate limit per sender', () => {
  let db: TestDatabase;
  let app: OpsApp;
  let handled = 0;
  const send = (userId: string | number | undefined) =>
    fetch(`${app.base}/api/v1/chat/message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(userId === undefined ? { message: 'hola' } : { user_id: userId, message: 'hola' }),
    });

  before(async () => {
    db = await freshDatabase();
    // Stands in for the chat routes: the limiter is mounted in front of whatever answers.
    const chat = express.Router();
    chat.post('/message', (_req, res) => {
      handled += 1;
      res.json({ ok: true });
    });
    chat.get('/historial/:id', (_req, res) => res.json({ ok: true }));
    app = await startOpsApp(db.knex, { env: { CHAT_RATE_LIMIT_PER_MINUTE: '3' }, chatRouter: chat });
  });
  after(async () => {
    await app.close();
    await db.drop();
  });

  it('limits each sender on its own, whatever address it comes from', async () => {
    const alice = [];
    for (let i = 0; i < 4; i++) alice.push((await send('alice')).status);
    assert.deepEqual(alice, [200, 200, 200, 429]);
    const limited = await send('alice');
    assert.equal(limited.status, 429);
    assert.deepEqual(await limited.json(), { error: 'rate_limited', details: 'at most 3 messages a minute per sender' });
    assert.equal((await send('bob')).status, 200, 'another debtor through the same backend is not throttled');
    assert.equal(handled, 4);
  });

  it('reads the limit live from the settings, and 0 turns it off', async () => {
    await app.ops.settings.update({ rate_limits: { chat_per_sender_per_minute: 0 } });
    assert.equal((await send('alice')).status, 200);
    // Alice has 5 counted requests this minute (refused ones count too; skipped ones do not).
    await app.ops.settings.update({ rate_limits: { chat_per_sender_per_minute: 7 } });
    assert.deepEqual([(await send('alice')).status, (await send('alice')).status, (await send('alice')).status], [200, 200, 429]);
  });

  it('is not dodged by padding, case, Unicode forms or an integer id: one sender, one count', async () => {
    await app.ops.settings.update({ rate_limits: { chat_per_sender_per_minute: 3 } });
    const statuses = [];
    for (const id of ['carol', '  carol', 'CAROL ', 'ｃａｒｏｌ', '\tCarol\n']) statuses.push((await send(id)).status);
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    const numbers = [];
    for (const id of [77, '77', ' 77 ', 77]) numbers.push((await send(id)).status);
    assert.deepEqual(numbers, [200, 200, 200, 429]);
  });

  it('does not limit reads of the history', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`${app.base}/api/v1/chat/historial/x`)).status, 200);
  });
});
