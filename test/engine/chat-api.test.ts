import { testClock } from '../support/ports.js';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/core/index.js';
import { createApp } from '../../src/http/app.js';
import { createChatConversations } from '../../src/engine/index.js';
import { CHAT_API_PATH, createChatRouter } from '../../src/http/chat-routes.js';
import { detectCedula } from '../../src/nlu/index.js';
import { CARLOS, CARLOS_DIGITS, engineFixture, insertDebtor, insertPortfolio, quietLog, type EngineFixture } from './support/harness.js';

describe('the REST chat API (/api/v1/chat)', function () {
  let f: EngineFixture;
  let server: http.Server;
  let base: string;

  before(async () => {
    f = await engineFixture();
    await insertDebtor(f.knex, await insertPortfolio(f.knex, 'Demo'), CARLOS);
    const router = createChatRouter({ engine: f.engine, conversations: createChatConversations(f.knex), detectCedula, clock: f.clock });
    const app = createApp({ clock: testClock(), knex: f.knex, config: loadConfig({ LOG_LEVEL: 'silent' }), log: quietLog, routes: [{ path: CHAT_API_PATH, router }] });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${CHAT_API_PATH}`;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await f?.db.drop();
  });

  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & { replies: { text: string; buttons?: { id: string; text: string }[] }[] } };
  };

  it('chats: greeting, identification, plans with buttons, a button press, an agreement', async () => {
    const hello = await post('/message', { user_id: 'web-1', message: 'hola' });
    assert.equal(hello.status, 200);
    assert.equal(hello.body.current_state, 'inicial');
    assert.match(hello.body.replies[1]?.text ?? '', /cédula/);
    assert.deepEqual(Object.keys(hello.body).sort(), ['buttons', 'context', 'conversation_id', 'conversation_number', 'conversation_uuid', 'current_state', 'duplicate', 'message', 'replies', 'status']);
    assert.deepEqual(hello.body.context, {}, 'nothing about any debt before identification');

    const asked = await post('/message', { user_id: 'web-1', message: '93388915' });
    assert.equal(asked.body.current_state, 'verificar_identidad');
    // Ley 2300 art. 4: the cédula alone proves nothing; the API's context says nothing of the debtor.
    for (const key of ['identificado', 'nombre', 'Nombre_del_cliente', 'banco', 'saldo_total', 'cedula', 'oferta_1']) {
      assert.equal((asked.body.context as Record<string, unknown>)[key], undefined, key);
    }
    assert.doesNotMatch(JSON.stringify(asked.body), /Carlos|CARLOS|TUYA|123456|\$/);
    const id = await post('/message', { user_id: 'web-1', message: CARLOS_DIGITS });
    assert.equal(id.body.conversation_id, hello.body.conversation_id);
    assert.equal(id.body.current_state, 'informar_deuda');
    assert.equal((id.body.context as Record<string, unknown>).saldo_total, 123456);
    assert.deepEqual(id.body.replies.at(-1)?.buttons, [
      { id: 'ver_opciones', text: 'Ver opciones de pago' },
      { id: 'asesor', text: 'Hablar con un asesor' },
    ]);

    const plans = await post('/message', { user_id: 'web-1', message: '', button_id: 'ver_opciones' });
    assert.equal(plans.body.current_state, 'proponer_planes_pago');
    // Only debtor-safe values: never the negotiation floor, the policy's limits or the portfolio's internal name.
    for (const body of [id.body, plans.body]) {
      const context = body.context as Record<string, unknown>;
      for (const key of ['oferta_minima', 'oferta_2', 'cuota_minima', 'cuotas_maximas', 'cartera', 'planes_extra']) assert.equal(context[key], undefined, key);
      assert.deepEqual(Object.keys(context).filter((k) => k.startsWith('_')), []);
      assert.doesNotMatch(JSON.stringify(body), /86\.?419/, 'the lowest cash amount (Oferta_2) never leaves the engine');
    }
    assert.deepEqual(plans.body.replies.at(-1)?.buttons?.map((b) => b.id), ['contado', 'cuotas_3', 'cuotas_6', 'cuotas_12']);
    await post('/message', { user_id: 'web-1', message: 'Pago de contado: $98.765' });
    const done = await post('/message', { user_id: 'web-1', message: 'sí, confirmo' });
    assert.equal(done.body.status, 'closed');
    assert.match(done.body.replies.map((r) => r.text).join('\n'), /Total a pagar: \$98\.765/);
    const agreement = await f.knex('agreements').where({ conversation_id: hello.body.conversation_id }).first();
    assert.equal(agreement.total, 98765);
    assert.equal(agreement.channel, 'api');
  });

  it('returns the historial of a conversation with NLU and states (the debtor who agreed above is reminded of the agreement)', async () => {
    const first = await post('/message', { user_id: 'web-2', message: 'hola' });
    await post('/message', { user_id: 'web-2', message: '93388915' });
    await post('/message', { user_id: 'web-2', message: CARLOS_DIGITS });
    const res = await fetch(`${base}/historial/${first.body.conversation_id as string}`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { user_id: string; current_state: string; messages: Record<string, unknown>[] };
    assert.equal(body.user_id, 'web-2');
    assert.equal(body.current_state, 'acuerdo_vigente');
    assert.deepEqual(
      body.messages.filter((m) => m.direction === 'in').map((m) => [m.text, m.intent, m.nlu_source, m.previous_state, m.next_state]),
      [
        ['hola', 'saludo', 'rules', 'inicial', 'inicial'],
        ['93388915', 'identificacion', 'cedula', 'inicial', 'verificar_identidad'],
        [CARLOS_DIGITS, 'fuera_de_tema', 'rules', 'verificar_identidad', 'acuerdo_vigente'],
      ],
    );
    assert.equal((await fetch(`${base}/historial/not-a-uuid`)).status, 400);
    assert.equal((await fetch(`${base}/historial/00000000-0000-4000-8000-000000000000`)).status, 404);
  });

  it('resets a conversation', async () => {
    const first = await post('/message', { user_id: 'web-3', message: 'hola' });
    const reset = await post('/reset-conversation', { user_id: 'web-3' });
    assert.deepEqual(reset.body, { reset: true, conversation_id: first.body.conversation_id, conversation_number: first.body.conversation_number });
    const again = await post('/message', { user_id: 'web-3', message: 'hola' });
    assert.notEqual(again.body.conversation_id, first.body.conversation_id);
    assert.deepEqual((await post('/reset-conversation', { user_id: 'nadie' })).body, { reset: false, conversation_id: null, conversation_number: null });
  });

  it('tests a cédula', async () => {
    assert.deepEqual((await post('/test-cedula', { text: 'mi cc es 93.388.915' })).body, { cedula: '93388915' });
    assert.deepEqual((await post('/test-cedula', { text: 'mi celular es 3001234567' })).body, { cedula: null });
  });

  it('dedupes a repeated message_id', async () => {
    const a = await post('/message', { user_id: 'web-4', message: 'hola', message_id: 'client-1' });
    const b = await post('/message', { user_id: 'web-4', message: 'hola', message_id: 'client-1' });
    assert.equal(a.body.duplicate, false);
    assert.equal(b.body.duplicate, true);
    // The retry gets the first answer again, not an empty one.
    assert.ok(a.body.replies.length > 0);
    assert.deepEqual(b.body.replies, a.body.replies);
  });

  it('answers 400 with JSON reasons for bad bodies, and 413 for an oversized one', async () => {
    const missing = await post('/message', { message: 'hola' });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error, 'invalid_request');
    assert.deepEqual((missing.body.details as { field: string }[]).map((d) => d.field), ['user_id']);
    assert.equal((await post('/message', { user_id: 'x', message: 42 })).status, 400);
    assert.equal((await post('/message', { user_id: '   ', message: 'hola' })).status, 400);
    assert.equal((await post('/reset-conversation', {})).status, 400);
    assert.equal((await post('/test-cedula', { texto: 'x' })).status, 400);
    assert.equal((await post('/message', '{"user_id": ')).status, 400);
    const huge = await post('/message', { user_id: 'x', message: 'a'.repeat(100_000) });
    assert.equal(huge.status, 413);
    const long = await post('/message', { user_id: 'x', message: 'a'.repeat(5000) });
    assert.equal(long.status, 400);
  });

  it('answers an empty message politely', async () => {
    await post('/message', { user_id: 'web-5', message: 'hola' });
    const empty = await post('/message', { user_id: 'web-5', message: '' });
    assert.equal(empty.status, 200);
    assert.match(empty.body.replies[0]?.text ?? '', /vacío/);
  });
});
