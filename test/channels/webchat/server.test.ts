import { TEST_TIME } from '../../support/ports.js';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { WIDGET_GZIP_BUDGET } from '../../../channels/webchat/build.js';
import { SECRET_SETTING } from '../../../channels/webchat/identity.js';
import { CLOSE_BAD_SIGNATURE, type ChatMessage, type HistoryResponse } from '../../../channels/webchat/protocol.js';
import { freshDatabase, type TestDatabase } from '../../support/db.js';
import { newSession, ScriptedBot, SocketClient, startWebchatServer, type WebchatServer } from './support.js';

function rawGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

async function history(url: string, token: string | undefined, after?: number): Promise<{ status: number; body: HistoryResponse & { error?: string } }> {
  const res = await fetch(`${url}/webchat/v1/history${after ? `?after=${after}` : ''}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: (await res.json()) as HistoryResponse & { error?: string } };
}

const texts = (messages: ChatMessage[]) => messages.map((m) => `${m.from}: ${m.text}`);

describe('web chat server: sessions, history, WebSocket', function () {
  this.timeout(30_000);
  let db: TestDatabase;
  let bot: ScriptedBot;
  let server: WebchatServer;
  let now = Date.parse('2026-11-23T15:00:00Z');
  const sockets: SocketClient[] = [];
  const open = async () => {
    const s = await SocketClient.open(server.url);
    sockets.push(s);
    return s;
  };

  before(async () => {
    db = await freshDatabase();
    bot = new ScriptedBot(db.knex);
    server = await startWebchatServer({
      knex: db.knex,
      handler: bot,
      env: { WEBCHAT_MAX_MESSAGE_CHARS: '40', WEBCHAT_RATE_PER_MINUTE: '6' },
      webchat: { now: () => now },
    });
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  after(async () => {
    await server?.close();
    await db?.drop();
  });

  it('issues signed sessions with a secret generated once and kept in the settings table', async () => {
    const a = await newSession(server.url);
    assert.match(a.token, /^v[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    assert.equal(a.token.split('.')[0], a.visitorId);
    const row = await db.knex('settings').where({ key: SECRET_SETTING }).first();
    assert.ok(typeof row.value.secret === 'string' && row.value.secret.length >= 32);

    // Another process (or a restart) on the same database verifies the same tokens.
    const second = await startWebchatServer({ knex: db.knex, handler: new ScriptedBot(db.knex) });
    try {
      const seen = await history(second.url, a.token);
      assert.equal(seen.status, 200);
      assert.equal(seen.body.visitorId, a.visitorId);
    } finally {
      await second.close();
    }
  });

  it('runs a message through the engine with an id scoped to the visitor and pushes the replies to every tab', async () => {
    const visitor = await newSession(server.url);
    const [tab1, tab2, stranger] = [await open(), await open(), await open()];
    const welcome = await tab1.hello(visitor.token);
    assert.deepEqual(welcome, { type: 'welcome', visitorId: visitor.visitorId, limits: { maxChars: 40 } });
    await tab2.hello(visitor.token);
    await stranger.hello((await newSession(server.url)).token);

    tab1.send({ type: 'message', clientId: 'client-0001', text: '  hola  ' });
    const typing = await tab2.next('typing');
    assert.equal(typing.on, true, 'the other tab sees the bot working');
    const pushed = await tab1.next('messages');
    const ack = await tab1.next('ack');
    assert.deepEqual(ack, { type: 'ack', clientId: 'client-0001', duplicate: false });

    const inbound = bot.received.at(-1)!;
    assert.equal(inbound.channel, 'webchat');
    assert.equal(inbound.from, visitor.visitorId);
    assert.equal(inbound.messageId, `${visitor.visitorId}:client-0001`);
    assert.equal(inbound.text, 'hola');
    assert.equal(inbound.at.getTime(), now);

    assert.deepEqual(texts(pushed.messages), [
      'visitor: hola',
      'bot: ¡Hola! Soy el asistente virtual de Cobranzas Andinas.',
      'bot: ¿Qué quieres hacer?',
    ]);
    assert.equal(pushed.messages[0]!.clientId, 'client-0001');
    assert.deepEqual(pushed.messages[2]!.buttons, [
      { id: 'consultar', text: 'Consultar mi deuda' },
      { id: 'asesor', text: 'Hablar con un asesor' },
    ]);
    assert.deepEqual((await tab2.next('messages')).messages, pushed.messages, 'the second tab shows the same conversation');

    // A button press carries its id; the stranger has seen none of this.
    tab2.send({ type: 'message', clientId: 'client-0002', text: 'Consultar mi deuda', buttonId: 'consultar' });
    await tab2.next('ack');
    assert.equal(bot.received.at(-1)!.buttonId, 'consultar');
    assert.deepEqual(texts((await tab1.next('messages')).messages), ['visitor: Consultar mi deuda', 'bot: Elegiste: consultar']);
    assert.equal(stranger.all.filter((f) => f.type === 'messages' || f.type === 'typing').length, 0);
  });

  it('acknowledges a resent message as a duplicate and sends no second reply', async () => {
    const visitor = await newSession(server.url);
    const tab = await open();
    await tab.hello(visitor.token);
    tab.send({ type: 'message', clientId: 'resend-0001', text: 'quiero pagar' });
    await tab.next('ack');
    const before = await history(server.url, visitor.token);

    // The connection dropped before the ack reached the widget; it resends after reconnecting.
    const again = await open();
    await again.hello(visitor.token, before.body.messages.at(-1)!.id);
    again.send({ type: 'message', clientId: 'resend-0001', text: 'quiero pagar' });
    assert.deepEqual(await again.next('ack'), { type: 'ack', clientId: 'resend-0001', duplicate: true });
    const after = await history(server.url, visitor.token);
    assert.deepEqual(texts(after.body.messages), ['visitor: quiero pagar', 'bot: Recibido: quiero pagar']);
    assert.equal(again.all.filter((f) => f.type === 'messages').length, 0);
  });

  it('fills a reconnecting tab’s gap from its cursor, including replies sent while it was away', async () => {
    const visitor = await newSession(server.url);
    const tab = await open();
    await tab.hello(visitor.token);
    tab.send({ type: 'message', clientId: 'gap-00001', text: 'hola' });
    const first = await tab.next('messages');
    await tab.next('ack');
    tab.close();
    await tab.closed;

    // A person answers while the visitor has no tab open: stored, and send() has nobody to reach.
    const conv = await db.knex('conversations').where({ channel: 'webchat', user_id: visitor.visitorId }).first('id');
    await db.knex('messages').insert({ conversation_id: conv.id, direction: 'out', author: 'agent', channel: 'webchat', text: 'Hola, soy Laura, asesora.', created_at: TEST_TIME });
    await server.channel.outbound.send(visitor.visitorId, [{ text: 'Hola, soy Laura, asesora.' }]);

    const back = await open();
    await back.hello(visitor.token, first.messages.at(-1)!.id);
    const gap = await back.next('messages');
    assert.deepEqual(texts(gap.messages), ['agent: Hola, soy Laura, asesora.']);

    // Pushed live too, once, when a tab is open.
    await db.knex('messages').insert({ conversation_id: conv.id, direction: 'out', author: 'agent', channel: 'webchat', text: '¿Sigues ahí?', created_at: TEST_TIME });
    await server.channel.outbound.send(visitor.visitorId, [{ text: '¿Sigues ahí?' }]);
    await server.channel.outbound.send(visitor.visitorId, [{ text: '¿Sigues ahí?' }]);
    assert.deepEqual(texts((await back.next('messages')).messages), ['agent: ¿Sigues ahí?']);
    assert.equal(back.all.filter((f) => f.type === 'messages').length, 2);
  });

  it('answers the history only to the visitor whose signature verifies', async () => {
    const alice = await newSession(server.url);
    const mallory = await newSession(server.url);
    const tab = await open();
    await tab.hello(alice.token);
    tab.send({ type: 'message', clientId: 'alice-0001', text: 'mi cedula es 93388915' });
    await tab.next('ack');

    const mine = await history(server.url, alice.token);
    assert.equal(mine.status, 200);
    assert.deepEqual(texts(mine.body.messages), ['visitor: mi cedula es 93388915', 'bot: Recibido: mi cedula es 93388915']);
    assert.deepEqual(mine.body.limits, { maxChars: 40 });

    const forged = `${alice.visitorId}.${mallory.token.split('.')[1]}`;
    for (const token of [forged, alice.visitorId, undefined, 'garbage']) {
      const res = await history(server.url, token);
      assert.equal(res.status, 401, `token ${String(token)}`);
      assert.equal(res.body.error, 'bad_signature');
      assert.equal(res.body.messages, undefined);
    }
    assert.deepEqual((await history(server.url, mallory.token)).body.messages, []);

    const intruder = await open();
    intruder.send({ type: 'hello', token: forged, after: 0 });
    assert.equal((await intruder.next('error')).code, 'bad_signature');
    assert.equal((await intruder.closed).code, CLOSE_BAD_SIGNATURE);
    assert.equal(intruder.all.filter((f) => f.type === 'messages').length, 0);

    const early = await open();
    early.send({ type: 'message', clientId: 'early-0001', text: 'hola' });
    assert.equal((await early.closed).code, 1008, 'no message before a verified hello');
  });

  it('refuses messages over the size limit and malformed frames without calling the engine', async () => {
    const visitor = await newSession(server.url);
    const tab = await open();
    await tab.hello(visitor.token);
    const calls = bot.received.length;
    tab.send({ type: 'message', clientId: 'long-00001', text: 'x'.repeat(41) });
    assert.deepEqual(await tab.next('error'), { type: 'error', code: 'too_long', clientId: 'long-00001', message: 'the limit is 40 characters' });
    tab.send({ type: 'message', clientId: 'bad id!', text: 'hola' });
    assert.equal((await tab.next('error')).code, 'invalid');
    tab.send({ type: 'message', clientId: 'empty-0001', text: '   ' });
    assert.equal((await tab.next('error')).code, 'invalid');
    tab.send('not json');
    assert.equal((await tab.next('error')).code, 'invalid');
    assert.equal(bot.received.length, calls);

    // A frame far over any message is cut off by the socket itself.
    tab.send({ type: 'message', clientId: 'huge-00001', text: 'x'.repeat(100_000) });
    assert.equal((await tab.closed).code, 1009);
    assert.equal(bot.received.length, calls);
  });

  it('limits each visitor’s message rate and says when to retry', async () => {
    const [fast, calm] = [await newSession(server.url), await newSession(server.url)];
    const [tab, other] = [await open(), await open()];
    await tab.hello(fast.token);
    await other.hello(calm.token);
    for (let i = 0; i < 6; i++) {
      tab.send({ type: 'message', clientId: `rate-000${i}`, text: `mensaje ${i}` });
      await tab.next('ack');
    }
    tab.send({ type: 'message', clientId: 'rate-0006', text: 'uno más' });
    assert.deepEqual(await tab.next('error'), { type: 'error', code: 'rate_limited', clientId: 'rate-0006', retryAfterMs: 10_000 });
    other.send({ type: 'message', clientId: 'calm-0001', text: 'hola' });
    assert.equal((await other.next('ack')).duplicate, false, 'another visitor is not slowed down');

    now += 10_000;
    tab.send({ type: 'message', clientId: 'rate-0006', text: 'uno más' });
    assert.equal((await tab.next('ack')).duplicate, false);
  });

  it('serves the widget gzipped and cacheable, and the demo page under a strict CSP', async () => {
    const widget = await rawGet(`${server.url}/widget.js`, { 'accept-encoding': 'gzip, br' });
    assert.equal(widget.status, 200);
    assert.equal(widget.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(widget.headers['content-encoding'], 'gzip');
    assert.equal(widget.headers['cross-origin-resource-policy'], 'cross-origin');
    assert.ok(widget.body.length < WIDGET_GZIP_BUDGET, `${widget.body.length} bytes gzipped`);
    const code = zlib.gunzipSync(widget.body).toString();
    assert.match(code, /attachShadow/);
    const plain = await rawGet(`${server.url}/widget.js`);
    assert.equal(plain.body.toString(), code);
    const cached = await rawGet(`${server.url}/widget.js`, { 'if-none-match': String(widget.headers.etag) });
    assert.equal(cached.status, 304);

    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'; style-src 'self'/);
    const html = await page.text();
    assert.match(html, /<script src="\/widget\.js" data-title="Cobranzas Andinas" data-color="#0b5fa5"/);
    assert.match(html, /93388915/);
    assert.equal((await fetch(`${server.url}/demo/agencia.css`)).status, 200);
  });
});

describe('web chat server: allowed origins', function () {
  this.timeout(30_000);
  let db: TestDatabase;
  let server: WebchatServer;

  before(async () => {
    db = await freshDatabase();
    server = await startWebchatServer({
      knex: db.knex,
      handler: new ScriptedBot(db.knex),
      env: { WEBCHAT_ALLOWED_ORIGINS: 'https://www.agencia.example', WEBCHAT_SECRET: 'configured-secret-of-more-than-32-chars', WEBCHAT_DEMO_PAGE: 'false' },
    });
  });
  after(async () => {
    await server?.close();
    await db?.drop();
  });

  it('lets allowed and same-origin pages in, with CORS, and keeps other sites out', async () => {
    const allowed = await fetch(`${server.url}/webchat/v1/session`, { method: 'POST', headers: { origin: 'https://www.agencia.example' } });
    assert.equal(allowed.status, 201);
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://www.agencia.example');
    const { token } = (await allowed.json()) as { token: string };

    const preflight = await fetch(`${server.url}/webchat/v1/history`, {
      method: 'OPTIONS',
      headers: { origin: 'https://www.agencia.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /authorization/i);

    const evil = await fetch(`${server.url}/webchat/v1/history`, { headers: { origin: 'https://evil.example', authorization: `Bearer ${token}` } });
    assert.equal(evil.status, 403);
    assert.equal(evil.headers.get('access-control-allow-origin'), null);

    await assert.rejects(SocketClient.open(server.url, { origin: 'https://evil.example' }), /HTTP 403/);
    const good = await SocketClient.open(server.url, { origin: 'https://www.agencia.example' });
    assert.equal((await good.hello(token)).type, 'welcome');
    good.close();
    const same = await SocketClient.open(server.url, { origin: server.url });
    same.close();

    assert.equal(await db.knex('settings').where({ key: SECRET_SETTING }).first(), undefined, 'a configured secret is not stored');
    assert.equal((await fetch(`${server.url}/`)).status, 404, 'the demo page can be turned off');
  });

  it('closes every socket when the channel stops', async () => {
    const { token } = await newSession(server.url);
    const tab = await SocketClient.open(server.url);
    await tab.hello(token);
    await server.channel.stop?.();
    assert.equal((await tab.closed).code, 1006);
  });
});
