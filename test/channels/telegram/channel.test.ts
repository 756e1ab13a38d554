import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import FakeTimers from '@sinonjs/fake-timers';
import { createOutbox, enqueueReplies } from '../../../src/engine/outbox.js';
import { ChannelApiError } from '../../../src/core/index.js';
import { createKnex } from '../../../src/store/db.js';
import { freshDatabase } from '../../support/db.js';
import { BOT, FakeBotApi } from './fake-bot-api.js';
import { update } from './fixtures.js';
import { postUpdate, quietLog, RecordingHandler, SECRET, startHarness, type Harness } from './support.js';

const CHAT = 5281907331;

describe('telegram channel (telegraf against a local Bot API)', () => {
  let api: FakeBotApi;
  let harness: Harness | undefined;

  beforeEach(async () => {
    api = await new FakeBotApi().start();
  });
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
    await api.close();
  });

  describe('webhook mode', () => {
    it('registers the webhook with its secret and the updates it reads', async () => {
      harness = await startHarness(api);
      await harness.channel.start();
      const [setWebhook] = api.callsOf('setWebhook');
      assert.deepEqual(setWebhook, {
        url: 'https://bot.example.com/telegram/webhook',
        secret_token: 'test-webhook-secret_0123456789',
        allowed_updates: ['message', 'callback_query', 'my_chat_member'],
      });
      assert.deepEqual(harness.channel.status(), { state: 'ready', mode: 'webhook', bot: BOT.username });
    });

    it('hands a text to the engine and sends its reply with an inline keyboard', async () => {
      harness = await startHarness(api, {
        handler: new RecordingHandler(() => [
          { text: 'Hola, soy el asistente virtual de cobranza.' },
          {
            text: '¿Cómo te queda mejor pagar?',
            buttons: [
              { id: 'contado', text: 'Pago de contado' },
              { id: 'cuotas_3', text: '3 cuotas' },
            ],
          },
        ]),
      });
      const res = await postUpdate(harness.url, update('text'));
      assert.equal(res.status, 200);
      assert.equal(harness.handler.received.length, 1);
      assert.equal(harness.handler.received[0]!.text, 'hola buenas, me llego un mensaje de una deuda');
      assert.deepEqual(api.callsOf('sendMessage'), [
        { chat_id: String(CHAT), text: 'Hola, soy el asistente virtual de cobranza.' },
        {
          chat_id: String(CHAT),
          text: '¿Cómo te queda mejor pagar?',
          reply_markup: {
            inline_keyboard: [[{ text: 'Pago de contado', callback_data: 'contado' }], [{ text: '3 cuotas', callback_data: 'cuotas_3' }]],
          },
        },
      ]);
    });

    it('answers a button tap with answerCallbackQuery and hands the button to the engine', async () => {
      harness = await startHarness(api);
      const res = await postUpdate(harness.url, update('callback-query'));
      assert.equal(res.status, 200);
      assert.deepEqual(api.callsOf('answerCallbackQuery'), [{ callback_query_id: '2268516093746192471' }]);
      assert.equal(harness.handler.received[0]!.buttonId, 'cuotas_3');
      assert.equal(harness.handler.received[0]!.text, '3 cuotas');
    });

    it('answers the tap even when the engine fails, and asks Telegram to redeliver', async () => {
      harness = await startHarness(api);
      harness.handler.fail = new Error('database unreachable');
      const res = await postUpdate(harness.url, update('callback-query'));
      assert.equal(res.status, 500);
      assert.equal(api.callsOf('answerCallbackQuery').length, 1);
      // The process is still serving.
      harness.handler.fail = undefined;
      assert.equal((await postUpdate(harness.url, update('text'))).status, 200);
    });

    it('hands a photo to the engine as media, whose polite reply goes out', async () => {
      harness = await startHarness(api, {
        handler: new RecordingHandler((m) => (m.media ? [{ text: 'Por ahora solo puedo leer mensajes de texto. ¿Me lo escribes, por favor?' }] : [])),
      });
      await postUpdate(harness.url, update('photo'));
      assert.deepEqual(harness.handler.received[0]!.media, { kind: 'photo' });
      assert.match(String(api.callsOf('sendMessage')[0]?.text), /solo puedo leer mensajes de texto/);
    });

    it('ignores an edited message: nothing handled, nothing sent', async () => {
      harness = await startHarness(api);
      const res = await postUpdate(harness.url, update('edited-message'));
      assert.equal(res.status, 200);
      assert.equal(harness.handler.received.length, 0);
      assert.deepEqual(api.callsOf('sendMessage'), []);
      assert.deepEqual(api.callsOf('answerCallbackQuery'), []);
    });

    it('hands a repeated update_id to the engine under the same delivery id (the engine drops it)', async () => {
      harness = await startHarness(api);
      await postUpdate(harness.url, update('text'));
      await postUpdate(harness.url, update('text'));
      const [first, second] = harness.handler.received;
      assert.equal(first?.messageId, `${BOT.id}:512900101`);
      assert.equal(second?.messageId, first?.messageId);
    });

    for (const [label, secret, status] of [
      ['a wrong secret', 'not-the-secret-0123456789', 403],
      ['a missing secret', null, 401],
      ['the secret with a different case', 'TEST-WEBHOOK-SECRET_0123456789', 403],
    ] as const) {
      it(`rejects ${label} with ${status} and processes nothing`, async () => {
        harness = await startHarness(api);
        const res = await postUpdate(harness.url, update('text'), secret);
        assert.equal(res.status, status);
        assert.equal(harness.handler.received.length, 0);
        assert.equal(api.calls.length, 0);
      });
    }

    it('rejects a body that is not an update with 400', async () => {
      harness = await startHarness(api);
      assert.equal((await postUpdate(harness.url, { message: 'hola' })).status, 400);
      const broken = await fetch(`${harness.url}/telegram/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
        body: '{"update_id": 1,',
      });
      assert.equal(broken.status, 400);
      assert.equal(harness.handler.received.length, 0);
    });

    it('has no webhook route in polling mode', async () => {
      harness = await startHarness(api, { env: { TELEGRAM_WEBHOOK_URL: '', TELEGRAM_WEBHOOK_SECRET: '' } });
      assert.equal((await postUpdate(harness.url, update('text'))).status, 404);
    });
  });

  describe('sending', () => {
    it('splits a reply longer than 4,096 characters into several messages, keyboard on the last', async () => {
      harness = await startHarness(api);
      const long = Array.from({ length: 900 }, (_, i) => `cláusula ${i}`).join(' ');
      await harness.channel.outbound.send(String(CHAT), [{ text: long, buttons: [{ id: 'acepto', text: 'Acepto' }] }]);
      const sent = api.callsOf('sendMessage');
      assert.ok(sent.length >= 3);
      for (const body of sent) assert.ok(String(body.text).length <= 4096);
      assert.equal(sent.map((b) => String(b.text)).join(' '), long);
      assert.ok(sent.slice(0, -1).every((b) => b.reply_markup === undefined));
      assert.deepEqual(sent.at(-1)?.reply_markup, { inline_keyboard: [[{ text: 'Acepto', callback_data: 'acepto' }]] });
    });

    it('waits out a 429 for its retry_after, then sends', async () => {
      const clock = FakeTimers.createClock(0);
      const sleeps = new EventEmitter();
      harness = await startHarness(api, {
        channel: {
          clock: {
            now: () => clock.now,
            sleep: (ms) => {
              const slept = new Promise<void>((resolve) => clock.setTimeout(() => resolve(), ms));
              sleeps.emit('sleep', ms);
              return slept;
            },
          },
          limits: { perSecond: 30, perChatIntervalMs: 1000 },
        },
      });
      api.failNext('sendMessage', { error_code: 429, description: 'Too Many Requests: retry after 3', parameters: { retry_after: 3 } });
      const asleep = once(sleeps, 'sleep');
      const sending = harness.channel.outbound.send(String(CHAT), [{ text: 'Tu acuerdo quedó registrado.' }]);
      const [ms] = (await asleep) as [number];
      assert.equal(ms, 3000);
      // The 429 is being waited out: nothing goes before 3 s.
      await clock.tickAsync(2999);
      assert.equal(api.callsOf('sendMessage').length, 1);
      await clock.tickAsync(1);
      const result = await sending;
      assert.equal(api.callsOf('sendMessage').length, 2);
      assert.deepEqual(api.callsOf('sendMessage')[1], { chat_id: String(CHAT), text: 'Tu acuerdo quedó registrado.' });
      assert.ok(result.externalId);
    });

    it('leaves a long 429 to the outbox, with the retry delay Telegram asked for', async () => {
      harness = await startHarness(api);
      api.failNext('sendMessage', { error_code: 429, description: 'Too Many Requests: retry after 45', parameters: { retry_after: 45 } });
      await assert.rejects(harness.channel.outbound.send(String(CHAT), [{ text: 'Hola' }]), (err: unknown) => {
        assert.ok(err instanceof ChannelApiError);
        assert.equal(err.options.retryable, true);
        assert.equal(err.options.retryAfterMs, 45_000);
        return true;
      });
    });

    it('does not retry when the debtor blocked the bot', async () => {
      harness = await startHarness(api);
      api.failNext('sendMessage', { error_code: 403, description: 'Forbidden: bot was blocked by the user' });
      await assert.rejects(harness.channel.outbound.send(String(CHAT), [{ text: 'Hola' }]), (err: unknown) => {
        assert.ok(err instanceof ChannelApiError);
        assert.equal(err.options.retryable, false);
        assert.equal(err.options.code, 403);
        return true;
      });
    });

    it('reports how far a half-delivered batch got, so the outbox retry (in another process) sends only the rest', async () => {
      harness = await startHarness(api);
      const other = await startHarness(api);
      const db = await freshDatabase();
      const otherKnex = createKnex(db.url, 2);
      let now = new Date('2026-11-23T15:00:00Z');
      const clock = { now: () => now };
      try {
        const replies = [{ text: 'Primero' }, { text: 'Segundo' }, { text: 'Tercero' }];
        // The first goes out, the second fails on a server error.
        let calls = 0;
        api.on('call', (method: string) => {
          if (method === 'sendMessage' && ++calls === 1) api.failNext('sendMessage', { error_code: 502, description: 'Bad Gateway' });
        });
        await assert.rejects(harness.channel.outbound.send(String(CHAT), replies), (err: unknown) => {
          assert.ok(err instanceof ChannelApiError);
          assert.equal(err.options.retryable, true);
          assert.equal(err.options.code, 502);
          assert.equal(err.options.delivered, 1);
          assert.deepEqual(err.options.externalIds, ['1000']);
          return true;
        });

        // Through the outbox: this process fails at Segundo, another process retries.
        const id = await enqueueReplies(db.knex, { channel: 'telegram', recipient: String(CHAT), replies, notBefore: now }, now);
        const first = createOutbox({ knex: db.knex, log: quietLog, clock, backoff: { baseMs: 1000, maxMs: 1000 } });
        first.registerChannel(harness.channel.outbound);
        const second = createOutbox({ knex: otherKnex, log: quietLog, clock, backoff: { baseMs: 1000, maxMs: 1000 } });
        second.registerChannel(other.channel.outbound);
        api.calls.length = 0;
        calls = 0;
        await first.dispatch([id]);
        assert.deepEqual(await db.knex('outbox').where({ id }).first('status', 'sent_count'), { status: 'pending', sent_count: 1 });
        now = new Date(now.getTime() + 1000);
        assert.equal(await second.runOnce(), 1);
        // Primero once, Segundo attempted twice (failed then delivered), Tercero once.
        assert.deepEqual(
          api.callsOf('sendMessage').map((b) => b.text),
          ['Primero', 'Segundo', 'Segundo', 'Tercero'],
        );
        const row = await db.knex('outbox').where({ id }).first('status', 'sent_count', 'external_id');
        assert.deepEqual(row, { status: 'sent', sent_count: 3, external_id: '1003' });
        assert.deepEqual(await db.knex('outbox_messages').where({ outbox_id: id }).orderBy('position').pluck('external_id'), ['1001', '1002', '1003']);
      } finally {
        await other.close();
        await otherKnex.destroy();
        await db.drop();
      }
    });
  });

  describe('polling mode', () => {
    it('reads updates by long polling and stops cleanly', async () => {
      harness = await startHarness(api, { env: { TELEGRAM_WEBHOOK_URL: '', TELEGRAM_WEBHOOK_SECRET: '' } });
      await harness.channel.start();
      assert.equal(harness.channel.mode, 'polling');
      api.pushUpdate(update('text'), update('callback-query'));
      await api.waitFor('answerCallbackQuery', 1);
      await api.waitFor('sendMessage', 2);
      assert.deepEqual(
        harness.handler.received.map((m) => m.messageId),
        [`${BOT.id}:512900101`, `${BOT.id}:512900104`],
      );
      assert.ok(api.callsOf('deleteWebhook').length >= 1, 'polling needs the webhook removed');
      await harness.channel.stop();
      assert.equal(harness.channel.status().state, 'stopped');
    });

    it('asks the debtor to write again when a polled update could not be handled', async () => {
      harness = await startHarness(api, { env: { TELEGRAM_WEBHOOK_URL: '', TELEGRAM_WEBHOOK_SECRET: '' } });
      harness.handler.fail = new Error('database unreachable');
      await harness.channel.start();
      api.pushUpdate(update('text'));
      const [apology] = await api.waitFor('sendMessage', 1);
      assert.equal(apology?.chat_id, String(CHAT));
      assert.match(String(apology?.text), /escribir de nuevo/);
    });
  });

  it('refuses a webhook URL without its secret', async () => {
    await assert.rejects(startHarness(api, { env: { TELEGRAM_WEBHOOK_SECRET: '' } }), /TELEGRAM_WEBHOOK_SECRET/);
  });
});
