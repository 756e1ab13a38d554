import { testClock } from '../support/ports.js';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../src/core/index.js';
import type { InboundMessage } from '../../src/core/index.js';
import { createChatConversations, createEngine, createOutbox, type Engine, type Outbox } from '../../src/engine/index.js';
import { loadFlowCatalog } from '../../src/flows/index.js';
import { chatHistorySchema, chatMessageResponseSchema } from '../../src/http/admin/chat-api-docs.js';
import { createChatRateLimiter, operationsRoutes } from '../../src/http/admin/index.js';
import * as s from '../../src/http/admin/schemas.js';
import { createApp } from '../../src/http/app.js';
import { CHAT_API_PATH, createChatRouter } from '../../src/http/chat-routes.js';
import { createLogger } from '../../src/log.js';
import { registry } from '../../src/metrics.js';
import { createUnderstander, detectCedula } from '../../src/nlu/index.js';
import { observeTurns, startOps, tierOfTimeouts, type Ops } from '../../src/ops/index.js';
import { loadDemoDataIfEmpty } from '../../src/store/demo.js';
import { ADMIN_TOKEN, adminFetch } from '../admin/support.js';
import { RecordingChannel } from '../ops/support.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { CHROMIUM } from './support.js';

/**
 * The operations side wired to the real engine, NLU and shipped flow, as src/service.ts
 * wires them: a debtor on Telegram (a recording channel registered with the outbox)
 * asks for a person, the supervisor answers from the dashboard in Chromium, and the
 * reply reaches the debtor's channel.
 */
describe('operations with the real engine: handoff from the dashboard to the debtor’s channel', function () {
  // The whole service reads one clock, fixed far from today: windows and due times agree.
  const clock = testClock();
  this.timeout(90_000);
  const log = createLogger({ level: 'silent', pretty: false });
  let db: TestDatabase;
  let ops: Ops;
  let outbox: Outbox;
  let engine: Engine;
  let telegram: RecordingChannel;
  let server: http.Server;
  let base: string;
  let browser: Browser;
  let page: Page;
  let n = 0;
  const debtor = '5550001';
  const problems: string[] = [];

  const say = async (text: string, from = debtor) => {
    // A debtor types at human speed: each message a few seconds after the last, by the service's clock.
    clock.advance(5_000);
    const message: InboundMessage = { channel: 'telegram', from, messageId: `tg-${++n}`, text, at: clock.now() };
    const result = await engine.handle(message);
    await outbox.idle();
    return result;
  };

  before(async () => {
    db = await freshDatabase();
    await loadDemoDataIfEmpty(db.knex, log, clock.now());
    const config = loadConfig({ ADMIN_TOKEN });
    outbox = createOutbox({ knex: db.knex, log, clock });
    telegram = new RecordingChannel('telegram');
    outbox.registerChannel(telegram);
    ops = await startOps({ knex: db.knex, config, log, clock, dispatch: (ids) => outbox.dispatch(ids), settingsRefreshMs: 0, statsFlushMs: 0, alertsEveryMs: 0 });
    const understander = await createUnderstander({ settings: () => ops.settings.nlu(), log });
    const { flows, policies } = loadFlowCatalog();
    engine = observeTurns(
      createEngine({ knex: db.knex, clock, understander, flows, policies, log, outbox, messageLimit: (tier) => tierOfTimeouts(ops.settings.current().timeouts, tier).max_messages }),
      ops.turnStats,
    );
    const app = createApp({
      clock,
      knex: db.knex,
      config,
      log,
      routes: [
        { path: CHAT_API_PATH, router: createChatRateLimiter(() => ops.settings.current().rate_limits.chat_per_sender_per_minute) },
        { path: CHAT_API_PATH, router: createChatRouter({ engine, conversations: createChatConversations(db.knex), detectCedula, clock }) },
        ...operationsRoutes({ knex: db.knex, config, log, clock, ops }),
      ],
    });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ ...CHROMIUM, headless: true });
    page = await browser.newPage();
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
  });
  after(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await ops?.stop();
    await outbox?.stop();
    await db?.drop();
  });

  it('a debtor identifies and asks for a person: the conversation joins the queue and the bot only acknowledges', async () => {
    await say('hola');
    const asked = await say('93388915');
    assert.ok(!asked.replies.some((r) => /carlos/i.test(r.text)), 'the cédula alone discloses nothing (Ley 2300 art. 4)');
    // The demo's Carlos has 3001234567 on file.
    const identified = await say('4567');
    assert.ok(identified.replies.some((r) => /carlos/i.test(r.text)), JSON.stringify(identified.replies));
    const handed = await say('quiero hablar con un asesor por favor');
    assert.equal(handed.state, 'transferir_asesor');
    const conv = await db.knex('conversations').where({ channel: 'telegram', user_id: debtor }).first();
    assert.deepEqual([conv.status, conv.handoff_reason], ['handoff', 'solicitar_asesor']);
    const before = telegram.sent.length;
    // The bot leaves the talking to the person, but never leaves the debtor in silence: a short acknowledgement.
    const quiet = await say('hola? hay alguien?');
    assert.equal(quiet.replies.length, 1, 'one acknowledgement, no negotiation');
    assert.match(quiet.replies[0]!.text, /Recibimos su mensaje/);
    assert.equal(quiet.status, 'handoff');
    assert.equal(telegram.sent.length, before + 1);
    assert.match(await registry.getSingleMetricAsString('acuerdo_handoffs_total'), /reason="solicitar_asesor"\} [1-9]/);
  });

  it('the supervisor takes it in the dashboard and replies; the debtor’s Telegram chat receives it', async () => {
    await page.goto(`${base}/admin`);
    await page.fill('#login-token', ADMIN_TOKEN);
    await page.fill('#login-agent', 'Laura');
    await page.click('#login-form button[type=submit]');
    await page.click('[data-view=handoffs]');
    await page.waitForSelector('body[data-loaded=handoffs]');
    const row = await page.$$eval('#queue tbody tr', (trs) => trs.map((r) => Array.from(r.children).map((c) => c.textContent)));
    assert.equal(row.length, 1);
    // The agent sees the person proved who they are before taking over.
    assert.deepEqual([row[0]![1], row[0]![2], row[0]![3], row[0]![4], row[0]![6]], ['telegram', 'CARLOS FAJARDO', 'Verificado (celular)', 'Pidió un asesor', '1']);
    await page.click('#queue tbody tr');
    await page.waitForSelector('#handoff-transcript .msg');
    assert.match((await page.textContent('#handoff-transcript')) ?? '', /quiero hablar con un asesor por favor/);
    await page.click('#handoff-take');
    await page.waitForFunction(() => document.querySelector('#queue tbody tr')?.children[5]?.textContent === 'Laura');

    const received = new Promise<{ to: string; text: string }>((resolve) =>
      telegram.once('sent', (to: string, replies: { text: string }[]) => resolve({ to, text: replies[0]!.text })),
    );
    await page.fill('#reply-text', 'Hola Carlos, le habla Laura. Con gusto le ayudo con su acuerdo.');
    await page.click('#reply-form button[type=submit]');
    assert.deepEqual(await received, { to: debtor, text: 'Hola Carlos, le habla Laura. Con gusto le ayudo con su acuerdo.' });
    await page.waitForSelector('#handoff-transcript .msg.agent');
    const stored = await db.knex('messages').where({ author: 'agent' }).first();
    assert.equal(stored.channel, 'telegram');
    const sentRow = await db.knex('outbox').where({ kind: 'agent' }).first();
    assert.deepEqual([sentRow.status, sentRow.recipient], ['sent', debtor]);
  });

  it('gives the conversation back to the bot, which answers the debtor again', async () => {
    await page.click('#handoff-release');
    await page.waitForSelector('#queue-empty:not([hidden])');
    const conv = await db.knex('conversations').where({ channel: 'telegram', user_id: debtor }).first();
    assert.equal(conv.status, 'open');
    assert.notEqual(conv.state, 'transferir_asesor');
    const answered = await say('que opciones de pago tengo');
    assert.ok(answered.replies.length > 0, 'the bot answers again');
    assert.equal(answered.status, 'open');
    assert.deepEqual(problems, []);
  });

  it('counts the turns in the metrics JSON, with the NLU sources', async () => {
    const res = await adminFetch(base, '/api/v1/admin/metrics');
    const m = s.metricsSchema.parse(await res.json());
    assert.equal(m.summary.total_requests, 6, 'hola, the cédula, the 4 digits, the request for a person, the wait, the question after the return');
    assert.equal(m.summary.errors, 0);
    assert.ok(m.system_usage.cedula! > 0, JSON.stringify(m.system_usage));
    assert.ok(m.summary.avg_response_time_ms > 0);
    assert.equal(m.handoffs.in_window, 1);
    assert.equal(m.conversations.open, 1);
  });

  it('feeds the NLU its settings live: a threshold changed through the API applies to the next message', async () => {
    const put = await adminFetch(base, '/api/v1/admin/config', { method: 'PUT', body: JSON.stringify({ nlu: { confidence_threshold: 1 } }) });
    assert.equal(put.status, 200);
    // Nothing the local model says reaches 1.0: with no OpenAI configured the keyword rules decide.
    await say('de una, quiero pagar', '5550002');
    const low = await db.knex('messages').where({ direction: 'in', channel: 'telegram' }).orderBy('id', 'desc').first();
    assert.equal(low.nlu_source, 'rules');
    await adminFetch(base, '/api/v1/admin/config', { method: 'PUT', body: JSON.stringify({ nlu: { confidence_threshold: 0 } }) });
    await say('de una, quiero pagar', '5550003');
    const high = await db.knex('messages').where({ direction: 'in', channel: 'telegram' }).orderBy('id', 'desc').first();
    assert.equal(high.nlu_source, 'model');
  });

  it('answers the REST chat API with the shapes the OpenAPI document describes', async () => {
    const res = await fetch(`${base}/api/v1/chat/message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 'rest-1', message: 'hola' }),
    });
    assert.equal(res.status, 200);
    const turn = chatMessageResponseSchema.parse(await res.json());
    const history = await fetch(`${base}/api/v1/chat/historial/${turn.conversation_id}`);
    chatHistorySchema.parse(await history.json());
    const bad = await fetch(`${base}/api/v1/chat/message`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"message": 1}' });
    assert.equal(bad.status, 400);
  });
});
