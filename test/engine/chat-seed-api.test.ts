import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { loadConfig } from '../../src/core/index.js';
import { createChatConversations, type Engine } from '../../src/engine/index.js';
import { createApp } from '../../src/http/app.js';
import { CHAT_API_PATH, createChatRouter } from '../../src/http/chat-routes.js';
import { detectCedula } from '../../src/nlu/index.js';
import { testClock } from '../support/ports.js';
import { CARLOS, CARLOS_DIGITS, engineFixture, insertDebtor, insertPortfolio, quietLog, type EngineFixture } from './support/harness.js';

type Body = Record<string, unknown> & { replies: { text: string; buttons?: { id: string; text: string }[] }[] };

/**
 * The seed system's REST contract, replayed as its clients send it, and the retry of a
 * message whose answer was lost after its turn committed.
 */
describe('the REST chat API: the seed system’s contract and safe retries', function () {
  let f: EngineFixture;
  const servers: http.Server[] = [];

  /** A chat API server on its own engine (a "process"); `crashAfterCommit` drops the next answer. */
  async function serve(engine: Engine) {
    const state = { crashAfterCommit: false };
    const crash = express.Router();
    crash.use((_req, res, next) => {
      if (!state.crashAfterCommit) return next();
      state.crashAfterCommit = false;
      // The turn runs and commits; the process "dies" before its answer leaves.
      res.json = () => {
        res.socket?.destroy();
        return res;
      };
      next();
    });
    const router = createChatRouter({ engine, conversations: createChatConversations(f.knex), detectCedula, clock: f.clock });
    const app = createApp({
      clock: testClock(),
      knex: f.knex,
      config: loadConfig({ LOG_LEVEL: 'silent' }),
      log: quietLog,
      routes: [
        { path: CHAT_API_PATH, router: crash },
        { path: CHAT_API_PATH, router },
      ],
    });
    const server = http.createServer(app);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${CHAT_API_PATH}`;
    const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Body };
    };
    const get = async (path: string) => {
      const res = await fetch(`${base}${path}`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    return { state, post, get };
  }

  before(async () => {
    f = await engineFixture();
    await insertDebtor(f.knex, await insertPortfolio(f.knex, 'Demo'), CARLOS);
  });
  after(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((resolve) => s.close(resolve));
    }
    await f?.db.drop();
  });

  it('answers the seed’s documented request with every seed field, beside replies[]', async () => {
    const api = await serve(f.engine);
    // Verbatim from the seed system's documentation: integers for both ids.
    const res = await api.post('/message', '{"user_id": 1, "message": "93388915", "conversation_id": 1}');
    assert.equal(res.status, 200);
    const b = res.body;
    // The first conversation of a fresh database is number 1: the id the seed client sent comes back.
    assert.equal(b.conversation_id, 1);
    assert.equal(b.conversation_number, 1);
    assert.match(String(b.conversation_uuid), /^[0-9a-f-]{36}$/);
    assert.equal(b.current_state, 'verificar_identidad');
    assert.equal(typeof b.message, 'string');
    assert.equal(b.message, b.replies.map((r) => r.text).join('\n\n'));
    assert.match(String(b.message), /celular|dígitos/i);
    assert.deepEqual(b.buttons, b.replies.at(-1)?.buttons ?? []);
    assert.ok(Array.isArray(b.buttons));
    assert.equal(typeof b.context, 'object');
    assert.equal(b.duplicate, false);
    assert.equal(b.status, 'open');

    // The next turn shows buttons: the seed's [{id, text}] of the last reply.
    const known = await api.post('/message', { user_id: '1', message: CARLOS_DIGITS, conversation_id: '1' });
    assert.equal(known.body.conversation_id, b.conversation_uuid, 'text ids get the UUID back');
    assert.equal(known.body.current_state, 'informar_deuda');
    assert.deepEqual(known.body.buttons, [
      { id: 'ver_opciones', text: 'Ver opciones de pago' },
      { id: 'asesor', text: 'Hablar con un asesor' },
    ]);
    assert.equal((known.body.context as Record<string, unknown>).saldo_total, 123456);

    // historial and reset take the number or the UUID.
    const byNumber = await api.get('/historial/1');
    assert.equal(byNumber.status, 200);
    assert.equal(byNumber.body.conversation_id, 1);
    assert.equal(byNumber.body.conversation_uuid, b.conversation_uuid);
    const byUuid = await api.get(`/historial/${String(b.conversation_uuid)}`);
    assert.equal(byUuid.status, 200);
    assert.deepEqual(byUuid.body.messages, byNumber.body.messages);
    assert.equal((byNumber.body.messages as unknown[]).length, 2 + b.replies.length + known.body.replies.length);
    assert.equal((await api.get('/historial/999')).status, 404);

    // Another sender cannot reach this conversation by its number.
    assert.equal((await api.post('/message', { user_id: 2, message: 'hola', conversation_id: 1 })).status, 404);
    assert.equal((await api.post('/reset-conversation', { user_id: 2, conversation_id: 1 })).status, 404);
    const reset = await api.post('/reset-conversation', { user_id: 1, conversation_id: 1 });
    assert.deepEqual(reset.body, { reset: true, conversation_id: 1, conversation_number: 1 });
  });

  it('gives a retried message its original replies after the answer was lost between commit and response', async () => {
    const first = await serve(f.engine);
    await first.post('/message', { user_id: 'retry-1', message: 'hola' });
    first.state.crashAfterCommit = true;
    await assert.rejects(first.post('/message', { user_id: 'retry-1', message: '93388915', message_id: 'm-2' }), 'the answer never arrives');
    // The turn committed: its inbound message and replies are stored.
    const stored = (await f.knex('messages').where({ channel: 'api', direction: 'in' }).andWhere('external_id', 'like', 'retry-1%')) as unknown[];
    assert.equal(stored.length, 1);

    // The client retries against a restarted process (a new engine: nothing cached).
    const restarted = await serve(f.makeEngine());
    const retry = await restarted.post('/message', { user_id: 'retry-1', message: '93388915', message_id: 'm-2' });
    assert.equal(retry.status, 200);
    assert.equal(retry.body.duplicate, true);
    assert.equal(retry.body.current_state, 'verificar_identidad');
    assert.ok(retry.body.replies.length > 0, 'the original replies, not an empty list');
    assert.match(retry.body.replies.map((r) => r.text).join('\n'), /celular|dígitos/i);
    assert.equal(retry.body.message, retry.body.replies.map((r) => r.text).join('\n\n'));
    // Nothing happened twice.
    assert.equal(((await f.knex('messages').where({ channel: 'api', direction: 'in' }).andWhere('external_id', 'like', 'retry-1%')) as unknown[]).length, 1);

    // The same through the Idempotency-Key header; a retry after the next turn still gets its own answer.
    const viaHeader = await restarted.post('/message', { user_id: 'retry-1', message: CARLOS_DIGITS }, { 'Idempotency-Key': 'k-3' });
    const again = await restarted.post('/message', { user_id: 'retry-1', message: CARLOS_DIGITS }, { 'Idempotency-Key': 'k-3' });
    assert.equal(again.body.duplicate, true);
    assert.deepEqual(again.body.replies, viaHeader.body.replies);
    assert.equal(again.body.current_state, 'informar_deuda');
    const older = await restarted.post('/message', { user_id: 'retry-1', message: '93388915', message_id: 'm-2' });
    assert.equal(older.body.current_state, 'verificar_identidad', 'the state that turn ended in');
    assert.deepEqual(older.body.replies, retry.body.replies);

    // Another sender's message "m-2" is its own message, not a duplicate of this one.
    const other = await restarted.post('/message', { user_id: 'retry-2', message: 'hola', message_id: 'm-2' });
    assert.equal(other.body.duplicate, false);
    // A body id and a header that disagree are refused.
    assert.equal((await restarted.post('/message', { user_id: 'retry-2', message: 'x', message_id: 'a' }, { 'Idempotency-Key': 'b' })).status, 400);
  });

  it('refuses control characters in ids and NUL in text with a JSON reason, and never reaches the engine with them', async () => {
    const api = await serve(f.engine);
    const bad: [string, unknown][] = [
      ['/message', { user_id: 'a\u0000b', message: 'hola' }],
      ['/message', { user_id: 'ab\u0007', message: 'hola' }],
      ['/message', { user_id: 'ok', message: 'hola\u0000' }],
      ['/message', { user_id: 'ok', message: 'hola', message_id: 'm\u0000' }],
      ['/message', { user_id: 'ok', message: '', button_id: 'ver\u0000opciones' }],
      ['/message', { user_id: 'ok', message: 'hola', conversation_id: '1\u0000' }],
      ['/message', { user_id: 'ok', message: 'hola', conversation_id: 'abc' }],
      ['/reset-conversation', { user_id: '\u0000' }],
      ['/test-cedula', { text: '93388915\u0000' }],
    ];
    for (const [path, body] of bad) {
      const res = await api.post(path, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error, 'invalid_request');
      assert.ok(Array.isArray(res.body.details) && (res.body.details as unknown[]).length > 0);
    }
    assert.equal((await api.get('/historial/%00')).status, 400);
    // Line breaks and tabs are text.
    assert.equal((await api.post('/message', { user_id: 'ok', message: 'hola\n\tbuenas' })).status, 200);
    // " OK " is the sender "ok".
    const padded = await api.post('/message', { user_id: '  OK ', message: 'hola' });
    assert.equal(padded.body.conversation_uuid, (await api.post('/message', { user_id: 'ok', message: 'hola' })).body.conversation_uuid);
  });
});
