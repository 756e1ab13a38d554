/**
 * A whole negotiation over Telegram: telegraf behind our express app, the real engine
 * and outbox on a fresh database, the Bot API faked locally.
 */
import { testPorts, testClock } from '../../support/ports.js';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTelegramChannel, type TelegramChannel } from '../../../channels/telegram/index.js';
import { loadConfig } from '../../../src/core/index.js';
import { createApp } from '../../../src/http/app.js';
import { CARLOS, engineFixture, insertDebtor, insertPortfolio, type EngineFixture } from '../../engine/support/harness.js';
import { FakeBotApi, TOKEN } from './fake-bot-api.js';
import { update } from './fixtures.js';
import { postUpdate, quietLog, SECRET } from './support.js';

const CHAT = 5281907331;

describe('a negotiation over Telegram, end to end', function () {
  this.timeout(60_000);
  let api: FakeBotApi;
  let fixture: EngineFixture;
  let servers: http.Server[] = [];
  let nextUpdateId = 512901000;

  const config = () =>
    loadConfig({
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: api.url,
      TELEGRAM_WEBHOOK_URL: 'https://bot.example.com/telegram/webhook',
      TELEGRAM_WEBHOOK_SECRET: SECRET,
    });

  /** The service as main() composes it: channel mounted before the JSON parser, its outbound registered with the outbox. */
  async function serve(): Promise<{ url: string; channel: TelegramChannel }> {
    const cfg = config();
    // Pacing is tested on its own with fake timers; here it would only slow the transcript down.
    const channel = createTelegramChannel(
      testPorts({ engine: fixture.engine, knex: fixture.knex, config: cfg, log: quietLog }),
      { limits: { perSecond: 1000, perChatIntervalMs: 0 } },
    );
    fixture.outbox.registerChannel(channel.outbound);
    const app = createApp({ clock: testClock(), knex: fixture.knex, config: cfg, log: quietLog, beforeBodyParsers: (a) => channel.mount(a) });
    const server = http.createServer(app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, channel };
  }

  function textUpdate(text: string): Record<string, unknown> {
    const u = update('text');
    (u.message as { text: string; message_id: number }).text = text;
    (u.message as { message_id: number }).message_id = nextUpdateId;
    return { ...u, update_id: nextUpdateId++ };
  }

  /** A contact card the user sends (recorded shapes: their own through request_contact, or one forwarded). */
  function contactUpdate(name: 'contact-own' | 'contact-forwarded'): Record<string, unknown> {
    const u = update(name);
    (u.message as { message_id: number }).message_id = nextUpdateId;
    return { ...u, update_id: nextUpdateId++ };
  }

  /** A tap on `callbackData` of the last message that had a keyboard, as Telegram reports it. */
  function tap(callbackData: string): Record<string, unknown> {
    const withKeyboard = api.callsOf('sendMessage').filter((b) => b.reply_markup).at(-1);
    assert.ok(withKeyboard, 'no keyboard was sent');
    const u = update('callback-query');
    const cq = u.callback_query as Record<string, unknown>;
    cq.id = `cb-${nextUpdateId}`;
    cq.data = callbackData;
    cq.message = { ...(cq.message as object), text: withKeyboard.text, reply_markup: withKeyboard.reply_markup };
    return { ...u, update_id: nextUpdateId++ };
  }

  /** Posts an update, waits for the replies to leave through the outbox, returns the new sendMessage bodies. */
  async function deliver(url: string, body: Record<string, unknown>): Promise<Record<string, unknown>[]> {
    const before = api.callsOf('sendMessage').length;
    const res = await postUpdate(url, body);
    assert.equal(res.status, 200);
    await fixture.outbox.idle();
    return api.callsOf('sendMessage').slice(before);
  }

  const texts = (bodies: Record<string, unknown>[]) => bodies.map((b) => String(b.text)).join('\n');
  const keyboard = (bodies: Record<string, unknown>[]) =>
    (bodies.at(-1)?.reply_markup as { inline_keyboard: { text: string; callback_data: string }[][] } | undefined)?.inline_keyboard.map((row) => row[0]?.callback_data);

  beforeEach(async () => {
    api = await new FakeBotApi().start();
    fixture = await engineFixture();
    const portfolio = await insertPortfolio(fixture.knex, 'Tuya');
    await insertDebtor(fixture.knex, portfolio, CARLOS);
  });
  afterEach(async () => {
    await fixture.outbox.stop();
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    servers = [];
    await api.close();
    await fixture.db.drop();
  });

  it('goes from /start to a recorded agreement with inline keyboards, and drops a redelivered update after a restart', async () => {
    const { url } = await serve();

    const greeting = await deliver(url, update('start'));
    assert.match(texts(greeting), /asistente virtual de acuerdos de pago/);
    assert.match(texts(greeting), /cédula/);
    assert.ok(greeting.every((b) => b.chat_id === String(CHAT)));

    const photo = await deliver(url, update('photo'));
    assert.match(texts(photo), /solo puedo leer mensajes de texto/);

    // Ley 2300 art. 4: the cédula alone discloses nothing; the bot asks, offering Telegram's "share my number".
    const asked = await deliver(url, textUpdate('mi cedula es 93.388.915'));
    assert.doesNotMatch(texts(asked), /Carlos|\$|TUYA/);
    assert.match(texts(asked), /últimos 4 dígitos/);
    assert.deepEqual(asked.at(-1)?.reply_markup, {
      keyboard: [[{ text: '📱 Compartir mi número', request_contact: true }]],
      resize_keyboard: true,
      one_time_keyboard: true,
    });

    // The debtor taps it: Telegram sends their own contact, which proves the mobile on file.
    const found = await deliver(url, contactUpdate('contact-own'));
    assert.match(texts(found), /Carlos/);
    assert.match(texts(found), /\$123\.456/);
    assert.deepEqual(keyboard(found), ['ver_opciones', 'asesor']);
    assert.deepEqual((found.at(-1)?.reply_markup as { inline_keyboard: unknown })?.inline_keyboard, [
      [{ text: 'Ver opciones de pago', callback_data: 'ver_opciones' }],
      [{ text: 'Hablar con un asesor', callback_data: 'asesor' }],
    ]);

    const plans = await deliver(url, tap('ver_opciones'));
    assert.deepEqual(keyboard(plans), ['contado', 'cuotas_3', 'cuotas_6', 'cuotas_12']);
    assert.equal(api.callsOf('answerCallbackQuery').length, 1);

    const confirm = await deliver(url, tap('cuotas_3'));
    assert.match(texts(confirm), /3 cuotas/);
    assert.deepEqual(keyboard(confirm), ['si', 'otras']);

    // "Typing the button's text works too."
    const last = textUpdate('Sí, confirmo');
    const done = await deliver(url, last);
    assert.match(texts(done), /acuerdo de pago quedó registrado/);

    const agreements = await fixture.knex('agreements').select();
    assert.equal(agreements.length, 1);
    assert.equal(agreements[0].channel, 'telegram');
    assert.equal(agreements[0].kind, 'cuotas');
    assert.equal(agreements[0].installments, 3);
    assert.equal(api.callsOf('answerCallbackQuery').length, 2);

    // A restart: a new process, a new channel instance, the same database. Telegram redelivers.
    const restarted = await serve();
    const again = await deliver(restarted.url, last);
    assert.deepEqual(again, []);
    assert.equal((await fixture.knex('agreements').count('* as n'))[0]?.n, 1);
    const inbound = await fixture.knex('messages').where({ direction: 'in', channel: 'telegram', external_id: `${TOKEN.split(':')[0]}:${last.update_id}` });
    assert.equal(inbound.length, 1);
  });

  it('does not count a contact forwarded from the address book, even with the number on file', async () => {
    const { url } = await serve();
    await deliver(url, update('start'));
    await deliver(url, textUpdate('93388915'));
    const forwarded = await deliver(url, contactUpdate('contact-forwarded'));
    assert.doesNotMatch(texts(forwarded), /Carlos|\$|TUYA/);
    assert.match(texts(forwarded), /no pude confirmar su identidad/i);
    const attempts = await fixture.knex('identity_attempts').select('method', 'outcome', 'user_id');
    assert.deepEqual(attempts, [{ method: 'contacto_ajeno', outcome: 'fallido', user_id: String(CHAT) }]);
    // The 4 digits still work.
    const found = await deliver(url, textUpdate('4567'));
    assert.match(texts(found), /Carlos/);
  });

  it('ignores an edited message: nothing stored, nothing sent', async () => {
    const { url } = await serve();
    await deliver(url, update('start'));
    const before = await fixture.knex('messages').count('* as n');
    assert.deepEqual(await deliver(url, update('edited-message')), []);
    assert.deepEqual(await fixture.knex('messages').count('* as n'), before);
  });
});
