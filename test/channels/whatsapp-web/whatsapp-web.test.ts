import { testPorts } from '../../support/ports.js';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import FakeTimers from '@sinonjs/fake-timers';
import express from 'express';
import {
  chromiumArgs,
  createWhatsAppWebChannel,
  type Timers,
  type WhatsAppWebChannel,
  type WhatsAppWebOptions,
} from '../../../channels/whatsapp-web/index.js';
import { loadConfig } from '../../../src/core/index.js';
import type { InboundMessage, MessageHandler, TurnResult } from '../../../src/core/index.js';
import { ChannelApiError } from '../../../src/core/index.js';
import { createLogger } from '../../../src/log.js';
import { FakeWebClient, webMessage } from './fake-client.js';

const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';
const log = createLogger({ level: 'silent', pretty: false });

/** Records what the engine was handed. `gate` holds a turn until the test opens it. */
class RecordingHandler implements MessageHandler {
  readonly received: InboundMessage[] = [];
  gate?: Promise<void>;
  async handle(message: InboundMessage): Promise<TurnResult> {
    this.received.push(message);
    if (this.gate) await this.gate;
    return { conversationId: 'c1', state: 'inicio', replies: [], context: {}, duplicate: false };
  }
}

interface Harness {
  channel: WhatsAppWebChannel;
  clients: FakeWebClient[];
  handler: RecordingHandler;
  clock: FakeTimers.Clock;
  printed: string[];
  /** The newest client. */
  client(): FakeWebClient;
}

async function startChannel(options: Partial<WhatsAppWebOptions> = {}, env: Record<string, string> = {}): Promise<Harness> {
  const clock = FakeTimers.createClock(Date.parse('2026-11-23T15:00:00Z'));
  const timers: Timers = {
    setTimeout: (cb, ms) => clock.setTimeout(cb, ms),
    clearTimeout: (h) => clock.clearTimeout(h as FakeTimers.TimerId),
    now: () => clock.now,
  };
  const clients: FakeWebClient[] = [];
  const handler = new RecordingHandler();
  const printed: string[] = [];
  const config = loadConfig({
    WHATSAPP_WEB_ENABLED: 'true',
    ADMIN_TOKEN,
    WHATSAPP_WEB_TYPING_MS_PER_CHAR: '0',
    WHATSAPP_WEB_TYPING_MAX_MS: '0',
    WHATSAPP_WEB_MAX_PER_MINUTE: '100',
    ...env,
  });
  const channel = createWhatsAppWebChannel(
    testPorts({ engine: handler, config, log }),
    {
      clientFactory: () => {
        const c = new FakeWebClient(() => clock.now);
        clients.push(c);
        return c;
      },
      timers,
      printQr: (qr) => printed.push(qr),
      ...options,
    },
  );
  await channel.start!();
  return { channel, clients, handler, clock, printed, client: () => clients[clients.length - 1]! };
}

async function ready(h: Harness): Promise<void> {
  h.client().emit('authenticated');
  h.client().emit('ready');
}

describe('WhatsApp Web channel (whatsapp-web.js)', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.channel.stop?.();
  });

  describe('linking', () => {
    let server: http.Server;
    let base: string;

    beforeEach(async () => {
      h = await startChannel();
      const app = express();
      h.channel.mount!(app);
      server = http.createServer(app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterEach(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    const getQr = (token?: string) => fetch(`${base}/api/v1/admin/whatsapp/qr`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

    it('starts the client and reports starting, then qr with the QR printed and served as PNG', async () => {
      assert.equal(h.clients.length, 1);
      assert.equal(h.client().initialized, 1);
      assert.equal(h.channel.status().state, 'starting');

      const code = '2@Hq3vWm1tLx9,Zb0nJ4c5Qk8=,Ys7uR2pE6wA=,Ke1fT9gH3jI=,1';
      h.client().emit('qr', code);
      assert.equal(h.channel.status().state, 'qr');
      assert.deepEqual(h.printed, [code]);
      assert.equal(h.channel.currentQr(), code);

      const res = await getQr(ADMIN_TOKEN);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/png');
      const png = Buffer.from(await res.arrayBuffer());
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    });

    it('keeps the QR behind the admin token', async () => {
      h.client().emit('qr', 'qr-code');
      assert.equal((await getQr()).status, 401);
      assert.equal((await getQr('wrong-token-wrong-token-wrong')).status, 401);
      const status = await fetch(`${base}/api/v1/admin/whatsapp/status`);
      assert.equal(status.status, 401);
    });

    it('reports ready once linked and serves no QR any more', async () => {
      h.client().emit('qr', 'qr-code');
      await ready(h);
      assert.equal(h.channel.status().state, 'ready');
      assert.equal(h.channel.currentQr(), undefined);
      const res = await getQr(ADMIN_TOKEN);
      assert.equal(res.status, 409);
      const status = (await (await fetch(`${base}/api/v1/admin/whatsapp/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as {
        state: string;
      };
      assert.equal(status.state, 'ready');
    });

    it('goes back to the QR after a LOGOUT from the phone', async () => {
      await ready(h);
      h.client().emit('disconnected', 'LOGOUT');
      assert.equal(h.channel.status().state, 'qr');
      assert.equal((h.channel.status().lastDisconnect as { reason: string }).reason, 'LOGOUT');
      h.client().emit('qr', 'a-new-qr');
      assert.equal(h.channel.currentQr(), 'a-new-qr');
      assert.equal((await getQr(ADMIN_TOKEN)).status, 200);
      assert.equal(h.clients.length, 1, 'whatsapp-web.js showed the new QR itself; no rebuild');
    });

    it('rebuilds the client after a LOGOUT when no new QR comes', async () => {
      await ready(h);
      h.client().emit('disconnected', 'LOGOUT');
      await h.clock.tickAsync(60_000);
      assert.equal(h.clients.length, 2);
      assert.equal(h.clients[0]!.destroyed, 1);
      h.client().emit('qr', 'fresh-qr');
      assert.equal(h.channel.currentQr(), 'fresh-qr');
    });
  });

  describe('messages', () => {
    beforeEach(async () => {
      h = await startChannel();
      await ready(h);
    });

    it('hands a one-to-one text to the engine', async () => {
      const m = webMessage({ body: 'hola buenas tardes' });
      h.client().emit('message', m);
      await h.channel.idle();
      assert.deepEqual(h.handler.received, [
        {
          channel: 'whatsapp-web',
          from: '573001234567',
          messageId: m.id._serialized,
          text: 'hola buenas tardes',
          at: new Date(1763740800 * 1000),
          // WhatsApp verified this number: it may stand for the second identity fact (Ley 2300 art. 4).
          verifiedPhone: '573001234567',
        },
      ]);
    });

    it('proves no phone for a linked id (…@lid), which is not a number', async () => {
      const m = webMessage({ from: '204812345678901@lid', body: 'hola' });
      h.client().emit('message', m);
      await h.channel.idle();
      assert.equal(h.handler.received[0]?.from, '204812345678901@lid');
      assert.equal(h.handler.received[0]?.verifiedPhone, undefined);
    });

    it('sends options as a numbered list and passes a typed number back to the engine', async () => {
      await h.channel.outbound.send('573001234567', [
        { text: '¿Cómo quiere pagar?', buttons: [{ id: 'contado', text: 'Pago de contado' }, { id: 'cuotas', text: 'En cuotas' }] },
      ]);
      assert.deepEqual(h.client().sent.map((s) => [s.chatId, s.content]), [
        ['573001234567@c.us', '¿Cómo quiere pagar?\n\n1. Pago de contado\n2. En cuotas\n\nResponda con el número de su opción.'],
      ]);
      h.client().emit('message', webMessage({ body: '2' }));
      await h.channel.idle();
      assert.equal(h.handler.received[0]?.text, '2');
    });

    it('ignores groups, status broadcasts and our own messages', async () => {
      h.client().emit('message', webMessage({ from: '120363025246125486@g.us', author: '573001234567@c.us', body: 'hola grupo' }));
      h.client().emit('message', webMessage({ from: 'status@broadcast', author: '573001234567@c.us', body: 'mi estado' }));
      const mine = webMessage({ body: 'enviado desde el teléfono' });
      h.client().emit('message', { ...mine, fromMe: true, id: { ...mine.id, fromMe: true } });
      h.client().emit('message', webMessage({ type: 'e2e_notification' }));
      h.client().emit('message', webMessage({ from: '120363169862946357@newsletter', body: 'canal' }));
      await h.channel.idle();
      assert.deepEqual(h.handler.received, []);
    });

    it('hands photos and voice notes to the engine as media, so it answers politely', async () => {
      h.client().emit('message', webMessage({ type: 'image', hasMedia: true, body: '' }));
      h.client().emit('message', webMessage({ type: 'ptt', hasMedia: true, body: '' }));
      h.client().emit('message', webMessage({ type: 'location', body: '/9j/4AAQSkZJRgABAQAAAQABAAD' }));
      await h.channel.idle();
      assert.deepEqual(
        h.handler.received.map((m) => [m.media?.kind, m.text]),
        [
          ['image', undefined],
          ['voice', undefined],
          ['location', undefined],
        ],
      );
    });

    it('hands a message id only once when whatsapp-web.js emits it again', async () => {
      const m = webMessage({ body: '93388915' });
      h.client().emit('message', m);
      h.client().emit('message', { ...m });
      await h.channel.idle();
      assert.equal(h.handler.received.length, 1);
    });

    it('handles a chat’s messages one after another, in order', async () => {
      let open!: () => void;
      h.handler.gate = new Promise<void>((resolve) => (open = resolve));
      h.client().emit('message', webMessage({ body: 'primero' }));
      h.client().emit('message', webMessage({ body: 'segundo' }));
      await Promise.resolve();
      await Promise.resolve();
      assert.deepEqual(h.handler.received.map((m) => m.text), ['primero'], 'the second waits for the first turn');
      open();
      await h.channel.idle();
      assert.deepEqual(h.handler.received.map((m) => m.text), ['primero', 'segundo']);
    });

    it('says how many replies went out when a send fails part-way, with their ids', async () => {
      h.client().failWhenSending = (content) => (content === 'tres' ? new Error('Evaluation failed: t: Error: WidFactory') : undefined);
      // The empty reply renders to nothing: it counts as delivered with the one before it.
      await assert.rejects(h.channel.outbound.send('573001234567', [{ text: 'uno' }, { text: ' ' }, { text: 'dos' }, { text: 'tres' }]), (err: unknown) => {
        assert.ok(err instanceof ChannelApiError);
        assert.equal(err.options.retryable, true);
        assert.equal(err.options.delivered, 3);
        assert.deepEqual(err.options.externalIds, [1, 2].map((n) => `true_573001234567@c.us_3EB0${String(n).padStart(16, '0')}`));
        return true;
      });
      h.client().failWhenSending = undefined;
      const result = await h.channel.outbound.send('573001234567', [{ text: 'tres' }]);
      assert.deepEqual(h.client().sent.map((s) => s.content), ['uno', 'dos', 'tres']);
      assert.deepEqual(result?.externalIds, [`true_573001234567@c.us_3EB0${String(3).padStart(16, '0')}`]);
    });

    it('refuses to send while not linked, as a retryable error', async () => {
      h.client().emit('disconnected', 'CONFLICT');
      await assert.rejects(h.channel.outbound.send('573001234567', [{ text: 'hola' }]), (err: unknown) => {
        assert.ok(err instanceof ChannelApiError);
        assert.equal(err.options.retryable, true);
        return true;
      });
    });
  });

  describe('pacing', () => {
    it('waits like a person typing: a delay per character, with "typing…" shown', async () => {
      h = await startChannel({}, { WHATSAPP_WEB_TYPING_MS_PER_CHAR: '50', WHATSAPP_WEB_TYPING_MAX_MS: '3000' });
      await ready(h);
      const start = h.clock.now;
      const sending = h.channel.outbound.send('573001234567', [{ text: 'hola' }, { text: 'x'.repeat(500) }]);
      await h.clock.tickAsync(199);
      assert.equal(h.client().sent.length, 0, 'still typing the first message');
      assert.deepEqual(h.client().typing.map((t) => t.at - start), [0]);
      await h.clock.tickAsync(1);
      assert.equal(h.client().sent.length, 1);
      // The long one is capped at WHATSAPP_WEB_TYPING_MAX_MS.
      await h.clock.tickAsync(2_999);
      assert.equal(h.client().sent.length, 1);
      await h.clock.tickAsync(1);
      const result = await sending;
      assert.deepEqual(h.client().sent.map((s) => s.at - start), [200, 3_200]);
      // The id of the last message sent, for the outbox row.
      assert.equal(result?.externalId, `true_573001234567@c.us_3EB0${String(2).padStart(16, '0')}`);
    });

    it('keeps to the maximum rate per minute', async () => {
      h = await startChannel({ pacing: { maxQueueMs: 120_000 } }, { WHATSAPP_WEB_MAX_PER_MINUTE: '2' });
      await ready(h);
      const start = h.clock.now;
      const sending = Promise.all([
        h.channel.outbound.send('573001234567', [{ text: 'uno' }]),
        h.channel.outbound.send('573009998877', [{ text: 'dos' }]),
        h.channel.outbound.send('573001234567', [{ text: 'tres' }]),
      ]);
      await h.clock.tickAsync(59_999);
      assert.deepEqual(h.client().sent.map((s) => s.content), ['uno', 'dos']);
      await h.clock.tickAsync(1);
      await sending;
      assert.deepEqual(h.client().sent.map((s) => [s.content, s.at - start]), [
        ['uno', 0],
        ['dos', 0],
        ['tres', 60_000],
      ]);
    });

    it('hands a reply back to the outbox when its turn is too far away', async () => {
      h = await startChannel({}, { WHATSAPP_WEB_MAX_PER_MINUTE: '1' });
      await ready(h);
      await h.channel.outbound.send('573001234567', [{ text: 'uno' }]);
      await h.clock.tickAsync(10_000);
      await assert.rejects(h.channel.outbound.send('573001234567', [{ text: 'dos' }]), (err: unknown) => {
        assert.ok(err instanceof ChannelApiError);
        assert.equal(err.options.retryable, true);
        assert.equal(err.options.retryAfterMs, 50_000);
        return true;
      });
      assert.equal(h.client().sent.length, 1);
    });
  });

  describe('connection', () => {
    it('reconnects with backoff after a disconnect, and resets the backoff once ready', async () => {
      h = await startChannel({ reconnect: { baseMs: 2_000, maxMs: 60_000 } });
      await ready(h);
      h.client().emit('disconnected', 'NAVIGATION');
      assert.equal(h.channel.status().state, 'disconnected');
      await h.clock.tickAsync(1_999);
      assert.equal(h.clients.length, 1);
      await h.clock.tickAsync(1);
      assert.equal(h.clients.length, 2);
      assert.equal(h.clients[0]!.destroyed, 1, 'the old browser is closed first');
      assert.equal(h.client().initialized, 1);
      assert.equal(h.channel.status().state, 'starting');

      // The new one fails to start: the next wait is twice as long.
      h.client().emit('disconnected', 'TIMEOUT');
      await h.clock.tickAsync(3_999);
      assert.equal(h.clients.length, 2);
      await h.clock.tickAsync(1);
      assert.equal(h.clients.length, 3);

      await ready(h);
      assert.equal(h.channel.status().state, 'ready');
      assert.equal(h.channel.status().reconnectAttempts, 0);
      // Events from a replaced client are ignored.
      h.clients[0]!.emit('message', webMessage({ body: 'viejo' }));
      h.client().emit('message', webMessage({ body: 'nuevo' }));
      await h.channel.idle();
      assert.deepEqual(h.handler.received.map((m) => m.text), ['nuevo']);
      await h.channel.outbound.send('573001234567', [{ text: 'de vuelta' }]);
      assert.equal(h.client().sent.length, 1);
    });

    it('retries when the browser cannot start', async () => {
      let fail = true;
      const clients: FakeWebClient[] = [];
      h = await startChannel({
        clientFactory: () => {
          const c = new FakeWebClient(() => 0);
          if (fail) c.initializeError = new Error('Failed to launch the browser process!');
          fail = false;
          clients.push(c);
          return c;
        },
      });
      await Promise.resolve();
      assert.equal(h.channel.status().state, 'disconnected');
      await h.clock.tickAsync(2_000);
      assert.equal(clients.length, 2);
      assert.equal(h.channel.status().state, 'starting');
    });

    it('stops cleanly: the browser is closed and nothing reconnects', async () => {
      h = await startChannel();
      await ready(h);
      h.client().emit('disconnected', 'CONFLICT');
      await h.channel.stop!();
      assert.equal(h.channel.status().state, 'stopped');
      await h.clock.tickAsync(600_000);
      assert.equal(h.clients.length, 1);
      assert.equal(h.clients[0]!.destroyed, 1);
    });
  });

  it('starts Chromium without the sandbox only as root', () => {
    assert.ok(chromiumArgs(true).includes('--no-sandbox'));
    assert.ok(!chromiumArgs(false).includes('--no-sandbox'));
  });
});
