import { testPorts } from '../../support/ports.js';
import assert from 'node:assert/strict';
import FakeTimers from '@sinonjs/fake-timers';
import { createWhatsAppWebChannel, type Timers, type WhatsAppWebChannel } from '../../../channels/whatsapp-web/index.js';
import { loadConfig } from '../../../src/core/index.js';
import { engineFixture, quietLog, type EngineFixture } from './engine-fixture.js';
import { FakeWebClient, webMessage } from './fake-client.js';

const CHAT = '573001234567@c.us';

/**
 * A whole negotiation over a linked phone, through the real engine and outbox: the
 * debtor writes on WhatsApp, the bot answers with numbered options, and typing a
 * number picks one, until the agreement is recorded.
 */
describe('WhatsApp Web channel with the engine', () => {
  let f: EngineFixture;
  let clients: FakeWebClient[];
  let channel: WhatsAppWebChannel;
  const clock = FakeTimers.createClock(Date.parse('2026-11-23T15:00:00Z'));
  const timers: Timers = {
    setTimeout: (cb, ms) => clock.setTimeout(cb, ms),
    clearTimeout: (h) => clock.clearTimeout(h as FakeTimers.TimerId),
    now: () => clock.now,
  };

  function start(): WhatsAppWebChannel {
    const config = loadConfig({ WHATSAPP_WEB_ENABLED: 'true', WHATSAPP_WEB_TYPING_MS_PER_CHAR: '0', WHATSAPP_WEB_TYPING_MAX_MS: '0', WHATSAPP_WEB_MAX_PER_MINUTE: '1000' });
    const c = createWhatsAppWebChannel(
      testPorts({ engine: f.engine, knex: f.db.knex, config: config, log: quietLog }),
      {
        clientFactory: () => {
          const client = new FakeWebClient(() => clock.now);
          clients.push(client);
          return client;
        },
        timers,
        printQr: () => undefined,
      },
    );
    f.outbox.registerChannel(c.outbound);
    return c;
  }

  /** The debtor writes; resolves with what the bot sent back. */
  async function say(body: string, extra: Parameters<typeof webMessage>[0] = {}): Promise<string[]> {
    const client = clients[clients.length - 1]!;
    const before = client.sent.length;
    client.emit('message', webMessage({ from: CHAT, body, ...extra }));
    await channel.idle();
    await f.outbox.idle();
    return client.sent.slice(before).map((s) => s.content);
  }

  before(async function () {
    this.timeout(60_000);
    f = await engineFixture();
    clients = [];
    channel = start();
    await channel.start!();
    clients[0]!.emit('ready');
  });

  after(async () => {
    await channel?.stop?.();
    await f?.outbox.stop();
    await f?.db.drop();
  });

  it('negotiates to a recorded agreement, options as numbered lists answered by number', async () => {
    const greeting = await say('hola');
    assert.match(greeting.join('\n'), /cédula/);
    assert.ok(clients[0]!.sent.every((s) => s.chatId === CHAT));

    const debt = (await say('93388915')).join('\n');
    assert.match(debt, /\$123\.456/);
    assert.match(debt, /\n1\. Ver opciones de pago\n2\. Hablar con un asesor\n/);

    const offers = (await say('1')).join('\n');
    assert.match(offers, /1\. Pago de contado: \$98\.765/);
    assert.match(offers, /4\. 12 cuotas de/);

    const confirm = (await say('1')).join('\n');
    assert.match(confirm, /¿Confirmamos el acuerdo\?/);
    assert.match(confirm, /1\. Sí, confirmo/);

    const done = (await say('sí, confirmo')).join('\n');
    assert.match(done, /acuerdo de pago quedó registrado/);

    const agreements = await f.db.knex('agreements').select('kind', 'total', 'channel');
    assert.deepEqual(agreements, [{ kind: 'contado', total: 98765, channel: 'whatsapp-web' }]);
    const conversation = await f.db.knex('conversations').first('channel', 'user_id');
    assert.deepEqual(conversation, { channel: 'whatsapp-web', user_id: '573001234567' });
    // Every reply's outbox row points at the message whatsapp-web.js sent.
    const unsent = await f.db.knex('outbox').whereNot({ status: 'sent' }).count('* as n');
    assert.equal(Number(unsent[0]?.n), 0);
    assert.ok((await f.db.knex('outbox').whereNull('external_id').count('* as n').first())?.n == 0);
  });

  it('answers a photo politely and a repeated delivery not at all, even after a restart', async () => {
    // Another debtor, mid-conversation (the first one's conversation is closed).
    const other = '573115550000@c.us';
    await say('buenas', { from: other });
    const photo = webMessage({ from: other, type: 'image', hasMedia: true, body: '' });
    const reply = await say('', photo);
    assert.match(reply.join('\n'), /solo puedo leer mensajes de texto/);
    const rows = Number((await f.db.knex('outbox').count('* as n').first())?.n);

    // A new process (a new adapter, empty memory) sees the same message again: the engine drops it.
    await channel.stop!();
    channel = start();
    await channel.start!();
    clients[clients.length - 1]!.emit('ready');
    const again = await say('', photo);
    assert.deepEqual(again, []);
    assert.equal(Number((await f.db.knex('outbox').count('* as n').first())?.n), rows);
  });

  it('ignores a group message entirely', async () => {
    const before = Number((await f.db.knex('messages').count('* as n').first())?.n);
    const reply = await say('hola', { from: '120363025246125486@g.us', author: CHAT });
    assert.deepEqual(reply, []);
    assert.equal(Number((await f.db.knex('messages').count('* as n').first())?.n), before);
  });
});
