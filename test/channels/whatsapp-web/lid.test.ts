import assert from 'node:assert/strict';
import { createWhatsAppWebChannel, type WhatsAppWebChannel } from '../../../channels/whatsapp-web/index.js';
import { loadConfig, type InboundMessage, type MessageHandler, type TurnResult } from '../../../src/core/index.js';
import { createLogger } from '../../../src/log.js';
import { testPorts } from '../../support/ports.js';
import { FakeWebClient, webMessage } from './fake-client.js';

const PHONE = '573001234567';
/** A linked id as WhatsApp Web reports it for a contact whose number it hides on this device. */
const LID = '112893567721673@lid';

class RecordingHandler implements MessageHandler {
  readonly received: InboundMessage[] = [];
  async handle(message: InboundMessage): Promise<TurnResult> {
    this.received.push(message);
    return { conversationId: 'c1', state: 'inicio', replies: [], context: {}, duplicate: false };
  }
}

/** The fake client with whatsapp-web.js's Client.getContactLidAndPhone: [{ lid, pn }] per id asked. */
class MappingClient extends FakeWebClient {
  readonly asked: string[][] = [];
  constructor(private readonly mapping: Record<string, string>) {
    super(() => Date.now());
  }
  async getContactLidAndPhone(userIds: string[]): Promise<{ lid: string; pn: string }[]> {
    this.asked.push(userIds);
    return userIds.map((lid) => ({ lid, pn: this.mapping[lid] ?? '' }));
  }
}

async function start(client: FakeWebClient): Promise<{ channel: WhatsAppWebChannel; handler: RecordingHandler }> {
  const handler = new RecordingHandler();
  const config = loadConfig({ WHATSAPP_WEB_ENABLED: 'true', WHATSAPP_WEB_TYPING_MS_PER_CHAR: '0', WHATSAPP_WEB_TYPING_MAX_MS: '0', WHATSAPP_WEB_MAX_PER_MINUTE: '100' });
  const channel = createWhatsAppWebChannel(testPorts({ engine: handler, config, log: createLogger({ level: 'silent', pretty: false }) }), {
    clientFactory: () => client,
    printQr: () => undefined,
  });
  await channel.start!();
  return { channel, handler };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('WhatsApp Web: one contact, @c.us or @lid', () => {
  it('maps a linked id to its number, so both ids are one channel user (one debtor)', async () => {
    const client = new MappingClient({ [LID]: `${PHONE}@c.us` });
    const { channel, handler } = await start(client);
    try {
      client.emit('authenticated');
      client.emit('ready');
      client.emit('message', webMessage({ from: `${PHONE}@c.us`, body: 'hola' }));
      client.emit('message', webMessage({ from: LID, body: 'soy yo de nuevo' }));
      client.emit('message', webMessage({ from: LID, body: 'y otra vez' }));
      await settle();
      assert.deepEqual(handler.received.map((m) => [m.from, m.text]), [
        [PHONE, 'hola'],
        [PHONE, 'soy yo de nuevo'],
        [PHONE, 'y otra vez'],
      ]);
      // The number came from the @c.us chat only: a linked id proves no number by itself.
      assert.equal(handler.received[0]!.verifiedPhone, PHONE);
      assert.equal(handler.received[1]!.verifiedPhone, undefined);
      assert.deepEqual(client.asked, [[LID]], 'asked once, then remembered');
      // Replies to that user go to the phone's chat.
      await channel.outbound.send(PHONE, [{ text: 'Hola' }]);
      assert.equal(client.sent.at(-1)?.chatId, `${PHONE}@c.us`);
    } finally {
      await channel.stop!();
    }
  });

  it('keeps the linked id when WhatsApp does not share the number', async () => {
    const client = new MappingClient({});
    const { channel, handler } = await start(client);
    try {
      client.emit('ready');
      client.emit('message', webMessage({ from: LID, body: 'hola' }));
      await settle();
      assert.equal(handler.received[0]!.from, LID);
    } finally {
      await channel.stop!();
    }
  });

  it('names the network, not Chromium, when WhatsApp’s servers cannot be reached', async () => {
    const offline = new FakeWebClient(() => Date.now());
    offline.initializeError = new Error('net::ERR_NAME_NOT_RESOLVED at https://web.whatsapp.com/');
    const a = await start(offline);
    await settle();
    assert.equal(a.channel.status().lastDisconnect?.reason, 'NETWORK');
    assert.match(String(a.channel.status().hint), /network/);
    assert.doesNotMatch(String(a.channel.status().hint), /Chromium at/);
    await a.channel.stop!();

    const noBrowser = new FakeWebClient(() => Date.now());
    noBrowser.initializeError = new Error('Failed to launch the browser process! spawn /usr/bin/chromium ENOENT');
    const b = await start(noBrowser);
    await settle();
    assert.equal(b.channel.status().lastDisconnect?.reason, 'INITIALIZE_FAILED');
    assert.match(String(b.channel.status().hint), /CHROMIUM_PATH/);
    await b.channel.stop!();
  });
});
