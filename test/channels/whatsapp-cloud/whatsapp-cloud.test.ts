import { testPorts, testClock, TEST_TIME } from '../../support/ports.js';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  createWhatsAppCloudChannel,
  shortenLabel,
  signatureFor,
  toGraphMessage,
  type WhatsAppCloudChannel,
} from '../../../channels/whatsapp-cloud/index.js';
import { loadConfig } from '../../../src/core/index.js';
import { createOutbox, enqueueReplies } from '../../../src/engine/outbox.js';
import type { InboundMessage, MessageHandler, TurnResult } from '../../../src/core/index.js';
import { ChannelApiError, ConfigError } from '../../../src/core/index.js';
import { createApp } from '../../../src/http/app.js';
import { createLogger } from '../../../src/log.js';
import { freshDatabase, type TestDatabase } from '../../support/db.js';
import { FakeGraphApi } from './fake-graph.js';

const FIXTURES = path.resolve(__dirname, '../../fixtures/whatsapp/cloud');
const fixture = (name: string): string => fs.readFileSync(path.join(FIXTURES, name), 'utf8');
const fixtureJson = (name: string): unknown => JSON.parse(fixture(name));

const APP_SECRET = 'test-app-secret-0123456789';
const VERIFY_TOKEN = 'verify-me-please';
const PHONE_NUMBER_ID = '106540352242922';
const DEBTOR = '573001234567';

/** Records what the engine was handed; answers like an engine that has not seen the id before. */
class RecordingHandler implements MessageHandler {
  readonly received: InboundMessage[] = [];
  failNext = false;
  async handle(message: InboundMessage): Promise<TurnResult> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('database unavailable');
    }
    this.received.push(message);
    return { conversationId: 'c1', state: 'inicio', replies: [], context: {}, duplicate: false };
  }
}

describe('WhatsApp Business Cloud API channel', () => {
  const log = createLogger({ level: 'silent', pretty: false });
  const graph = new FakeGraphApi();
  const handler = new RecordingHandler();
  let db: TestDatabase;
  let channel: WhatsAppCloudChannel;
  let server: http.Server;
  let base: string;

  before(async function () {
    this.timeout(60_000);
    await graph.start();
    db = await freshDatabase();
    const config = loadConfig({
      WHATSAPP_CLOUD_ENABLED: 'true',
      WHATSAPP_CLOUD_TOKEN: 'test-access-token',
      WHATSAPP_CLOUD_PHONE_NUMBER_ID: PHONE_NUMBER_ID,
      WHATSAPP_CLOUD_VERIFY_TOKEN: VERIFY_TOKEN,
      WHATSAPP_CLOUD_APP_SECRET: APP_SECRET,
      WHATSAPP_CLOUD_API_VERSION: 'v21.0',
      WHATSAPP_CLOUD_BASE_URL: graph.url,
    });
    channel = createWhatsAppCloudChannel(testPorts({ engine: handler, knex: db.knex, config: config, log: log }));
    const app = createApp({ clock: testClock(), knex: db.knex, config, log, beforeBodyParsers: (a) => channel.mount?.(a) });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await graph.stop();
    await db?.drop();
  });

  beforeEach(() => {
    graph.reset();
    handler.received.length = 0;
  });

  function post(body: string, signature?: string): Promise<Response> {
    return fetch(`${base}/whatsapp/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(signature !== undefined ? { 'x-hub-signature-256': signature } : {}) },
      body,
    });
  }
  const postSigned = (body: string) => post(body, signatureFor(body, APP_SECRET));

  describe('webhook verification (GET /whatsapp/webhook)', () => {
    it('echoes hub.challenge when hub.verify_token matches', async () => {
      const res = await fetch(`${base}/whatsapp/webhook?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), '1158201444');
    });

    it('refuses a wrong verify token or mode with 403', async () => {
      const wrong = await fetch(`${base}/whatsapp/webhook?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444`);
      assert.equal(wrong.status, 403);
      assert.doesNotMatch(await wrong.text(), /1158201444/);
      const mode = await fetch(`${base}/whatsapp/webhook?hub.mode=unsubscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1`);
      assert.equal(mode.status, 403);
    });
  });

  describe('signature (X-Hub-Signature-256)', () => {
    it('answers 401 and processes nothing when the signature is wrong, missing or for other bytes', async () => {
      const body = fixture('text-message.json');
      const wrongSecret = await post(body, signatureFor(body, 'another-secret'));
      assert.equal(wrongSecret.status, 401);
      const missing = await post(body);
      assert.equal(missing.status, 401);
      // Signed over a re-serialized body: same JSON, different bytes.
      const reserialized = await post(JSON.stringify(JSON.parse(body)), signatureFor(body, APP_SECRET));
      assert.equal(reserialized.status, 401);
      const garbage = await post(body, 'sha256=zz');
      assert.equal(garbage.status, 401);
      assert.equal(handler.received.length, 0);
    });

    it('checks the raw bytes, so unusual but valid JSON is accepted', async () => {
      // Meta escapes non-ASCII as \uXXXX; a parser-then-stringify check would break on it.
      const body = fixture('text-message.json').replace('llegó', 'lleg\\u00f3');
      const res = await postSigned(body);
      assert.equal(res.status, 200);
      assert.equal(handler.received[0]?.text, 'hola, me llegó un mensaje de una deuda');
    });
  });

  describe('inbound', () => {
    it('hands a text message to the engine and sends the reply as text (round trip)', async () => {
      const res = await postSigned(fixture('text-message.json'));
      assert.equal(res.status, 200);
      assert.equal(handler.received.length, 1);
      const inbound = handler.received[0]!;
      assert.deepEqual(
        { channel: inbound.channel, from: inbound.from, messageId: inbound.messageId, text: inbound.text, at: inbound.at.toISOString() },
        {
          channel: 'whatsapp-cloud',
          from: DEBTOR,
          messageId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
          text: 'hola, me llegó un mensaje de una deuda',
          at: new Date(1749416383 * 1000).toISOString(),
        },
      );
      // The sender's wa_id is a number WhatsApp verified (Ley 2300 art. 4: it may stand for the second fact).
      assert.equal(inbound.verifiedPhone, DEBTOR);

      const sent = await channel.outbound.send(inbound.from, [{ text: '¡Hola! Para ayudarte, escríbeme tu número de cédula.' }]);
      assert.equal(graph.requests.length, 1);
      const request = graph.requests[0]!;
      assert.equal(request.method, 'POST');
      assert.equal(request.path, `/v21.0/${PHONE_NUMBER_ID}/messages`);
      assert.equal(request.authorization, 'Bearer test-access-token');
      assert.deepEqual(request.body, {
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: DEBTOR,
        type: 'text',
        text: { preview_url: false, body: '¡Hola! Para ayudarte, escríbeme tu número de cédula.' },
      });
      assert.deepEqual(sent, { externalId: 'wamid.FAKE000001', externalIds: ['wamid.FAKE000001'] });
    });

    it('reads an interactive button_reply as the pressed button', async () => {
      assert.equal((await postSigned(fixture('button-reply.json'))).status, 200);
      assert.equal(handler.received[0]?.buttonId, 'contado');
      assert.equal(handler.received[0]?.text, 'Pago de contado');
    });

    it('reads an interactive list_reply as the chosen row', async () => {
      assert.equal((await postSigned(fixture('list-reply.json'))).status, 200);
      assert.equal(handler.received[0]?.buttonId, 'cuotas_6');
    });

    it('hands media to the engine as media (the engine answers politely)', async () => {
      assert.equal((await postSigned(fixture('image-message.json'))).status, 200);
      assert.deepEqual(handler.received[0]?.media, { kind: 'image' });
      assert.equal(handler.received[0]?.text, undefined);
    });

    it('ignores deliveries for another phone number of the same app', async () => {
      const other = fixture('text-message.json').replace(`"phone_number_id": "${PHONE_NUMBER_ID}"`, '"phone_number_id": "999"');
      assert.equal((await postSigned(other)).status, 200);
      assert.equal(handler.received.length, 0);
    });

    it('answers 500 when the engine fails, so that Meta delivers again', async () => {
      handler.failNext = true;
      assert.equal((await postSigned(fixture('text-message.json'))).status, 500);
      assert.equal((await postSigned(fixture('text-message.json'))).status, 200);
      assert.equal(handler.received.length, 1);
    });
  });

  describe('sending options', () => {
    it('sends up to 3 options as reply buttons, titles shortened to 20 characters, ids kept', async () => {
      await channel.outbound.send(DEBTOR, [
        {
          text: 'Tienes estas opciones para ponerte al día:',
          buttons: [
            { id: 'contado', text: 'Pago de contado con 40% de descuento' },
            { id: 'cuotas', text: 'Pagar en cuotas' },
            { id: 'asesor', text: 'Hablar con un asesor' },
          ],
        },
      ]);
      const body = graph.sent[0] as { type: string; interactive: { type: string; body: { text: string }; action: { buttons: { type: string; reply: { id: string; title: string } }[] } } };
      assert.equal(body.type, 'interactive');
      assert.equal(body.interactive.type, 'button');
      assert.equal(body.interactive.body.text, 'Tienes estas opciones para ponerte al día:');
      assert.deepEqual(
        body.interactive.action.buttons.map((b) => [b.type, b.reply.id, b.reply.title]),
        [
          ['reply', 'contado', 'Pago de contado con…'],
          ['reply', 'cuotas', 'Pagar en cuotas'],
          ['reply', 'asesor', 'Hablar con un asesor'],
        ],
      );
      for (const b of body.interactive.action.buttons) assert.ok(Array.from(b.reply.title).length <= 20);
    });

    it('sends 4 to 10 options as a list: row titles at most 24 characters, the full text in the description', async () => {
      const buttons = [
        { id: 'contado', text: 'Pago de contado: $1.200.000' },
        { id: 'cuotas_3', text: '3 cuotas de $450.000' },
        { id: 'cuotas_6', text: '6 cuotas mensuales de $240.000 cada una' },
        { id: 'cuotas_12', text: '12 cuotas de $130.000' },
        { id: 'asesor', text: 'Hablar con un asesor' },
      ];
      await channel.outbound.send(DEBTOR, [{ text: '¿Cómo prefieres pagar?', buttons }]);
      const body = graph.sent[0] as {
        interactive: { type: string; action: { button: string; sections: { rows: { id: string; title: string; description?: string }[] }[] } };
      };
      assert.equal(body.interactive.type, 'list');
      assert.ok(Array.from(body.interactive.action.button).length <= 20);
      const rows = body.interactive.action.sections.flatMap((s) => s.rows);
      assert.deepEqual(rows.map((r) => r.id), buttons.map((b) => b.id));
      for (const r of rows) assert.ok(Array.from(r.title).length <= 24, r.title);
      assert.deepEqual(rows[2], { id: 'cuotas_6', title: '6 cuotas mensuales de…', description: '6 cuotas mensuales de $240.000 cada una' });
      assert.deepEqual(rows[1], { id: 'cuotas_3', title: '3 cuotas de $450.000' });
    });

    it('sends more than 10 options as numbered text', () => {
      const buttons = Array.from({ length: 11 }, (_, i) => ({ id: `op${i + 1}`, text: `Opción ${i + 1}` }));
      const message = toGraphMessage({ text: 'Elige una opción', buttons }) as { type: string; text: { body: string } };
      assert.equal(message.type, 'text');
      assert.match(message.text.body, /^Elige una opción\n\n1\. Opción 1\n2\. Opción 2\n[\s\S]*11\. Opción 11/);
    });

    it('shortens at a word boundary with an ellipsis, and only when needed', () => {
      assert.equal(shortenLabel('Pagar en cuotas', 20), 'Pagar en cuotas');
      assert.equal(shortenLabel('Pago de contado con 40% de descuento', 20), 'Pago de contado con…');
      assert.equal(shortenLabel('Refinanciación, sin intereses adicionales', 20), 'Refinanciación, sin…');
      assert.equal(shortenLabel('Supercalifragilisticoexpialidoso', 20), 'Supercalifragilisti…');
      assert.equal(Array.from(shortenLabel('Acuerdo 😀😀😀😀😀😀😀😀😀😀😀😀😀😀', 20)).length, 20);
    });
  });

  describe('errors and statuses through the outbox', () => {
    let now: Date;
    const outbox = () => {
      const o = createOutbox({ knex: db.knex, log, clock: { now: () => now }, backoff: { baseMs: 2_000, maxMs: 60_000 } });
      o.registerChannel(channel.outbound);
      return o;
    };

    beforeEach(async () => {
      now = new Date('2026-11-23T15:00:00Z');
      await db.knex('outbox').del();
    });

    it('retries a 429 rate limit (130429) with backoff and then sends', async () => {
      graph.answer({ status: 429, body: fixtureJson('error-130429.json') });
      const o = outbox();
      const id = await enqueueReplies(db.knex, { channel: 'whatsapp-cloud', recipient: DEBTOR, replies: [{ text: 'Hola' }] }, now);
      await o.dispatch([id]);
      let row = await db.knex('outbox').where({ id }).first();
      assert.equal(row.status, 'pending');
      assert.match(row.last_error, /130429/);
      assert.ok(new Date(row.next_attempt_at).getTime() > now.getTime(), 'waits before the retry');

      assert.equal(await o.runOnce(), 0, 'not retried before its time');
      now = new Date(new Date(row.next_attempt_at).getTime() + 1);
      assert.equal(await o.runOnce(), 1);
      row = await db.knex('outbox').where({ id }).first();
      assert.equal(row.status, 'sent');
      assert.equal(row.external_id, 'wamid.FAKE000001');
      assert.equal(graph.requests.length, 2);
    });

    it('classifies 131056 as retryable with a pause and other client errors as final', async () => {
      graph.answer(
        { status: 400, body: { error: { message: '(#131056) (Business Account, Consumer Account) pair rate limit hit', type: 'OAuthException', code: 131056 } } },
        { status: 400, body: { error: { message: '(#100) Invalid parameter', type: 'OAuthException', code: 100 } } },
      );
      await assert.rejects(channel.outbound.send(DEBTOR, [{ text: 'a' }]), (err: unknown) => {
        assert.ok(err instanceof ChannelApiError);
        assert.equal(err.options.retryable, true);
        assert.equal(err.options.code, 131056);
        assert.ok((err.options.retryAfterMs ?? 0) > 0);
        return true;
      });
      await assert.rejects(channel.outbound.send(DEBTOR, [{ text: 'a' }]), (err: unknown) => err instanceof ChannelApiError && !err.options.retryable);
    });

    it('moves the outbox row along the statuses Meta reports, never backwards', async () => {
      const wamid = 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MTE5MjQ0ODgyQUIxMjFBRkQA';
      graph.answer({ status: 200, body: fixtureJson('send-response.json') });
      const o = outbox();
      const id = await enqueueReplies(db.knex, { channel: 'whatsapp-cloud', recipient: DEBTOR, replies: [{ text: 'Hola' }] }, now);
      await o.dispatch([id]);
      assert.deepEqual(await db.knex('outbox').where({ id }).first('status', 'external_id'), { status: 'sent', external_id: wamid });

      assert.equal((await postSigned(fixture('status-delivered.json'))).status, 200);
      assert.equal((await db.knex('outbox').where({ id }).first('status')).status, 'delivered');
      assert.equal((await postSigned(fixture('status-read.json'))).status, 200);
      assert.equal((await db.knex('outbox').where({ id }).first('status')).status, 'read');
      // A late "delivered" does not undo "read".
      assert.equal((await postSigned(fixture('status-delivered.json'))).status, 200);
      assert.equal((await db.knex('outbox').where({ id }).first('status')).status, 'read');
    });

    /** A status webhook from a fixture, about the given wamid. */
    const statusAbout = (name: string, wamid: string): string => {
      const body = fixtureJson(name) as { entry: { changes: { value: { statuses: { id: string }[] } }[] }[] };
      body.entry[0]!.changes[0]!.value.statuses[0]!.id = wamid;
      return JSON.stringify(body);
    };
    const texts = () => graph.sent.map((b) => (b.text as { body?: string } | undefined)?.body);

    it('resumes a three-reply row after the reply that failed, and keeps every wamid', async () => {
      graph.answer(
        { status: 200, body: { messaging_product: 'whatsapp', contacts: [{ input: DEBTOR, wa_id: DEBTOR }], messages: [{ id: 'wamid.UNO' }] } },
        { status: 200, body: { messaging_product: 'whatsapp', contacts: [{ input: DEBTOR, wa_id: DEBTOR }], messages: [{ id: 'wamid.DOS' }] } },
        { status: 429, body: fixtureJson('error-130429.json') },
      );
      const o = outbox();
      const id = await enqueueReplies(db.knex, { channel: 'whatsapp-cloud', recipient: DEBTOR, replies: [{ text: 'Uno' }, { text: 'Dos' }, { text: 'Tres' }] }, now);
      await o.dispatch([id]);
      let row = await db.knex('outbox').where({ id }).first();
      assert.deepEqual([row.status, row.sent_count], ['pending', 2]);
      assert.match(row.last_error, /130429/);

      now = new Date(new Date(row.next_attempt_at).getTime() + 1);
      assert.equal(await o.runOnce(), 1);
      assert.deepEqual(texts(), ['Uno', 'Dos', 'Tres', 'Tres'], 'Uno and Dos went out once; only Tres was sent again');
      row = await db.knex('outbox').where({ id }).first();
      assert.deepEqual([row.status, row.sent_count, row.external_id], ['sent', 3, 'wamid.FAKE000001']);
      assert.deepEqual(await db.knex('outbox_messages').where({ outbox_id: id }).orderBy('position').pluck('external_id'), ['wamid.UNO', 'wamid.DOS', 'wamid.FAKE000001']);
    });

    it('records statuses for the first message of a multi-message row; the row follows its last message', async () => {
      const o = outbox();
      const id = await enqueueReplies(db.knex, { channel: 'whatsapp-cloud', recipient: DEBTOR, replies: [{ text: 'Uno' }, { text: 'Dos' }, { text: 'Tres' }] }, now);
      await o.dispatch([id]);
      const [first, second, last] = ['wamid.FAKE000001', 'wamid.FAKE000002', 'wamid.FAKE000003'];
      assert.deepEqual(await db.knex('outbox').where({ id }).first('status', 'external_id'), { status: 'sent', external_id: last });
      const statusOf = async (wamid: string) => (await db.knex('outbox_messages').where({ outbox_id: id, external_id: wamid }).first('status')).status as string;
      const rowStatus = async () => (await db.knex('outbox').where({ id }).first('status')).status as string;

      assert.equal((await postSigned(statusAbout('status-delivered.json', first))).status, 200);
      assert.equal(await statusOf(first), 'delivered', 'the first message’s status is recorded');
      assert.equal(await rowStatus(), 'sent', 'the row waits for its last message');
      assert.equal((await postSigned(statusAbout('status-read.json', last))).status, 200);
      assert.equal(await rowStatus(), 'read');
      assert.equal((await postSigned(statusAbout('status-delivered.json', last))).status, 200);
      assert.equal(await rowStatus(), 'read', 'never backwards');

      assert.equal((await postSigned(statusAbout('status-failed-131047.json', second))).status, 200);
      const failed = await db.knex('outbox').where({ id }).first();
      assert.equal(failed.status, 'failed', 'a message of the row failed');
      assert.match(failed.last_error, /131047/);
      assert.deepEqual(await db.knex('outbox_messages').where({ outbox_id: id }).orderBy('position').pluck('status'), ['delivered', 'failed', 'read']);
    });

    it('records 131047 (24-hour window closed) on the row and tells the operator a template is needed', async () => {
      const wamid = 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJGMDQyNjZBN0E1RTBGN0M1QzMA';
      const before = channel.status().templateNeeded.count;
      const [row] = await db.knex('outbox')
        .insert({ channel: 'whatsapp-cloud', recipient: DEBTOR, payload: JSON.stringify([{ text: 'Hola' }]), status: 'sent', external_id: wamid, next_attempt_at: TEST_TIME, created_at: TEST_TIME, updated_at: TEST_TIME })
        .returning('id');
      assert.equal((await postSigned(fixture('status-failed-131047.json'))).status, 200);
      const failed = await db.knex('outbox').where({ id: (row as { id: number }).id }).first();
      assert.equal(failed.status, 'failed');
      assert.match(failed.last_error, /131047/);
      assert.match(failed.last_error, /template/);
      assert.equal(channel.status().templateNeeded.count, before + 1);
    });

    it('does not retry a send refused with 131047; the row keeps the reason', async () => {
      graph.answer({ status: 400, body: fixtureJson('error-131047.json') });
      const before = channel.status().templateNeeded.count;
      const o = outbox();
      const id = await enqueueReplies(db.knex, { channel: 'whatsapp-cloud', recipient: DEBTOR, replies: [{ text: 'Hola' }] }, now);
      await o.dispatch([id]);
      const row = await db.knex('outbox').where({ id }).first();
      assert.equal(row.status, 'failed');
      assert.match(row.last_error, /131047.*template/);
      assert.equal(channel.status().templateNeeded.count, before + 1);
      now = new Date(now.getTime() + 3_600_000);
      assert.equal(await o.runOnce(), 0);
      assert.equal(graph.requests.length, 1);
    });
  });

  describe('templates', () => {
    it('sends a message template with its language and body parameters', async () => {
      const sent = await channel.sendTemplate(DEBTOR, { name: 'recordatorio_deuda', language: 'es_CO', bodyParameters: ['Ana', 'Banco Andino'] });
      assert.deepEqual(graph.sent[0], {
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: DEBTOR,
        type: 'template',
        template: {
          name: 'recordatorio_deuda',
          language: { code: 'es_CO' },
          components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }, { type: 'text', text: 'Banco Andino' }] }],
        },
      });
      assert.match(sent.externalId, /^wamid\./);
    });
  });

  it('refuses to start without its secrets, naming each missing variable', () => {
    assert.throws(
      () => createWhatsAppCloudChannel(testPorts({ engine: handler, knex: db.knex, config: loadConfig({ WHATSAPP_CLOUD_ENABLED: 'true', WHATSAPP_CLOUD_TOKEN: 'x' }), log })),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.issues.map((i) => i.variable).join() === 'WHATSAPP_CLOUD_PHONE_NUMBER_ID,WHATSAPP_CLOUD_VERIFY_TOKEN,WHATSAPP_CLOUD_APP_SECRET',
    );
  });
});
