import assert from 'node:assert/strict';
import { createWhatsAppCloudChannel, toGraphMessages } from '../../../channels/whatsapp-cloud/index.js';
import { loadConfig, splitAtSentences, type MessageHandler } from '../../../src/core/index.js';
import { createLogger } from '../../../src/log.js';
import { createKnex } from '../../../src/store/db.js';
import { testPorts } from '../../support/ports.js';
import { FakeGraphApi } from './fake-graph.js';

/** Meta's limit for a text message body (Cloud API "Send text messages": at most 4,096 characters). */
const TEXT_LIMIT = 4096;
const SENTENCE = 'Su saldo pendiente con la entidad es de $1.234.567 y puede pagarlo en cuotas. ';

/** A long reply in sentences (about 9,500 characters), with a question and an exclamation on the way. */
const LONG = Array.from({ length: 120 }, (_, i) => (i % 17 === 5 ? '¿Desea conocer las opciones? ' : i % 23 === 7 ? '¡Gracias por escribirnos! ' : SENTENCE)).join('').trim();

describe('WhatsApp Cloud: texts longer than Meta allows', () => {
  it('splits at sentence ends, each part within 4,096 characters, nothing lost or reordered', () => {
    const parts = splitAtSentences(LONG, TEXT_LIMIT);
    assert.ok(parts.length >= 3, `${parts.length} parts`);
    for (const part of parts) {
      assert.ok(part.length <= TEXT_LIMIT, `${part.length}`);
      assert.match(part, /[.!?]$/, 'each part ends a sentence');
    }
    assert.equal(parts.join(' '), LONG);
    // A word longer than a message is cut where it must, never inside an emoji.
    const emoji = '😀'.repeat(3000);
    const cut = splitAtSentences(emoji, TEXT_LIMIT);
    assert.equal(cut.join(''), emoji);
    for (const piece of cut) assert.ok(!/[\ud800-\udbff]$/.test(piece));
  });

  it('puts the buttons on the last part, as interactive reply buttons', () => {
    const buttons = [
      { id: 'ver_opciones', text: 'Ver opciones de pago' },
      { id: 'asesor', text: 'Hablar con un asesor' },
    ];
    const messages = toGraphMessages({ text: LONG, buttons });
    const last = messages.at(-1)!;
    assert.equal(last.type, 'interactive');
    const interactive = (last as unknown as { interactive: { body: { text: string }; action: { buttons: { reply: { id: string } }[] } } }).interactive;
    assert.deepEqual(interactive.action.buttons.map((b) => b.reply.id), ['ver_opciones', 'asesor']);
    assert.ok(interactive.body.text.length <= 1024, 'an interactive body holds at most 1,024 characters');
    for (const m of messages.slice(0, -1)) {
      assert.equal(m.type, 'text');
      assert.ok((m as unknown as { text: { body: string } }).text.body.length <= TEXT_LIMIT);
    }
    const bodies = messages.map((m) => (m.type === 'text' ? (m as unknown as { text: { body: string } }).text.body : (m as unknown as { interactive: { body: { text: string } } }).interactive.body.text));
    assert.equal(bodies.join(' '), LONG);
    // A short reply stays one message.
    assert.equal(toGraphMessages({ text: 'Hola', buttons }).length, 1);
  });

  it('sends a long reply as ordered Graph messages through the channel', async () => {
    const graph = new FakeGraphApi();
    await graph.start();
    const knex = createKnex('postgres://unused@127.0.0.1:1/unused');
    try {
      const config = loadConfig({
        WHATSAPP_CLOUD_ENABLED: 'true',
        WHATSAPP_CLOUD_TOKEN: 'test-access-token',
        WHATSAPP_CLOUD_PHONE_NUMBER_ID: '106540352242922',
        WHATSAPP_CLOUD_VERIFY_TOKEN: 'verify',
        WHATSAPP_CLOUD_APP_SECRET: 'secret',
        WHATSAPP_CLOUD_BASE_URL: graph.url,
      });
      const engine: MessageHandler = { handle: async () => ({ conversationId: 'c', state: 's', replies: [], context: {}, duplicate: false }) };
      const channel = createWhatsAppCloudChannel(testPorts({ engine, knex, config, log: createLogger({ level: 'silent', pretty: false }) }));
      const sent = await channel.outbound.send('573001234567', [{ text: LONG }, { text: 'Última respuesta.' }]);
      const bodies = graph.sent.map((b) => (b as { type: string; text: { body: string }; messaging_product: string }));
      assert.ok(bodies.length >= 4);
      for (const b of bodies) {
        assert.equal(b.messaging_product, 'whatsapp');
        assert.equal(b.type, 'text');
        assert.ok(b.text.body.length <= TEXT_LIMIT);
      }
      assert.equal(bodies.slice(0, -1).map((b) => b.text.body).join(' '), LONG);
      assert.equal(bodies.at(-1)!.text.body, 'Última respuesta.');
      assert.equal((sent as { externalIds: string[] }).externalIds.length, bodies.length);
    } finally {
      await graph.stop();
      await knex.destroy();
    }
  });
});
