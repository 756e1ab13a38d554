import { testPorts, testClock } from '../../support/ports.js';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createWhatsAppCloudChannel, signatureFor } from '../../../channels/whatsapp-cloud/index.js';
import { loadConfig } from '../../../src/core/index.js';
import { createApp } from '../../../src/http/app.js';
import { engineFixture, quietLog, type EngineFixture } from '../whatsapp-web/engine-fixture.js';
import { FakeGraphApi } from './fake-graph.js';

const FIXTURES = path.resolve(__dirname, '../../fixtures/whatsapp/cloud');
const APP_SECRET = 'negotiation-app-secret';
const DEBTOR = '573001234567';

// Loose on purpose: the tests edit recorded payloads in place.
type Json = Record<string, any>;

/** Meta's recorded payload, with this message's id, time and content. */
function payload(fixture: 'text-message.json' | 'button-reply.json' | 'list-reply.json', id: string, change: (message: Json) => void): string {
  const body = JSON.parse(fs.readFileSync(path.join(FIXTURES, fixture), 'utf8')) as Json;
  const message = body.entry[0].changes[0].value.messages[0] as Json;
  message.id = id;
  message.timestamp = String(Date.parse('2026-11-23T15:00:00Z') / 1000);
  change(message);
  return JSON.stringify(body);
}

interface Interactive {
  type: string;
  body: { text: string };
  action: { buttons?: { reply: { id: string; title: string } }[]; sections?: { rows: { id: string; title: string; description?: string }[] }[] };
}

/**
 * A whole negotiation over the official Cloud API, through the real engine and outbox:
 * signed webhooks in, interactive buttons and lists out through a local Graph API.
 */
describe('WhatsApp Cloud API channel with the engine', () => {
  const graph = new FakeGraphApi();
  let f: EngineFixture;
  let server: http.Server;
  let base: string;
  let counter = 0;

  before(async function () {
    this.timeout(60_000);
    await graph.start();
    f = await engineFixture();
    const config = loadConfig({
      WHATSAPP_CLOUD_ENABLED: 'true',
      WHATSAPP_CLOUD_TOKEN: 'token',
      WHATSAPP_CLOUD_PHONE_NUMBER_ID: '106540352242922',
      WHATSAPP_CLOUD_VERIFY_TOKEN: 'verify',
      WHATSAPP_CLOUD_APP_SECRET: APP_SECRET,
      WHATSAPP_CLOUD_BASE_URL: graph.url,
    });
    const channel = createWhatsAppCloudChannel(testPorts({ engine: f.engine, knex: f.db.knex, config: config, log: quietLog }));
    f.outbox.registerChannel(channel.outbound);
    server = http.createServer(createApp({ clock: testClock(), knex: f.db.knex, config, log: quietLog, beforeBodyParsers: (app) => channel.mount?.(app) }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await f?.outbox.stop();
    await graph.stop();
    await f?.db.drop();
  });

  /** Posts a signed delivery; resolves with the Graph API messages the bot sent back. */
  async function deliver(body: string): Promise<Json[]> {
    const before = graph.requests.length;
    const res = await fetch(`${base}/whatsapp/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signatureFor(body, APP_SECRET) },
      body,
    });
    assert.equal(res.status, 200);
    await f.outbox.idle();
    return graph.requests.slice(before).map((r) => r.body as Json);
  }
  const text = (body: string) => payload('text-message.json', `wamid.TEST${++counter}`, (m) => (m.text.body = body));
  const press = (id: string, title: string) =>
    payload('button-reply.json', `wamid.TEST${++counter}`, (m) => (m.interactive.button_reply = { id, title }));
  const choose = (id: string, title: string) =>
    payload('list-reply.json', `wamid.TEST${++counter}`, (m) => (m.interactive.list_reply = { id, title }));

  it('negotiates to a recorded agreement with reply buttons and a list', async () => {
    const greeting = await deliver(text('hola'));
    assert.ok(greeting.every((m) => m.to === DEBTOR && m.type === 'text'));
    assert.match(greeting.map((m) => m.text.body).join('\n'), /cédula/);

    // Written from the mobile on file: WhatsApp proved it, so no identity question (Ley 2300 art. 4).
    const debt = await deliver(text('mi cedula es 93.388.915'));
    assert.doesNotMatch(JSON.stringify(debt), /últimos 4 dígitos/);
    const buttons = debt.find((m) => m.type === 'interactive')?.interactive as Interactive;
    assert.equal(buttons.type, 'button');
    assert.match(buttons.body.text, /\$123\.456/);
    assert.deepEqual(buttons.action.buttons?.map((b) => [b.reply.id, b.reply.title]), [
      ['ver_opciones', 'Ver opciones de pago'],
      ['asesor', 'Hablar con un asesor'],
    ]);

    const offers = await deliver(press('ver_opciones', 'Ver opciones de pago'));
    const list = offers.find((m) => m.type === 'interactive')?.interactive as Interactive;
    assert.equal(list.type, 'list', 'four offers go as a list');
    const rows = list.action.sections?.flatMap((s) => s.rows) ?? [];
    assert.deepEqual(rows.map((r) => r.id), ['contado', 'cuotas_3', 'cuotas_6', 'cuotas_12']);
    assert.equal(rows[0]?.title, 'Pago de contado: $98.765');

    const confirm = await deliver(choose('contado', 'Pago de contado: $98.765'));
    const confirmButtons = confirm.find((m) => m.type === 'interactive')?.interactive as Interactive;
    assert.match(confirmButtons.body.text, /¿Confirmamos el acuerdo\?/);

    const done = await deliver(press('si', 'Sí, confirmo'));
    assert.match(done.map((m) => m.text?.body ?? '').join('\n'), /acuerdo de pago quedó registrado/);
    assert.deepEqual(await f.db.knex('agreements').select('kind', 'total', 'channel'), [{ kind: 'contado', total: 98765, channel: 'whatsapp-cloud' }]);
  });

  it('asks another WhatsApp number for the second fact, and discloses nothing before the right answer', async () => {
    const other = '573009998877';
    const from = (body: string) =>
      payload('text-message.json', `wamid.OTHER${++counter}`, (m) => {
        m.from = other;
        m.text.body = body;
      });
    await deliver(from('hola'));
    const asked = await deliver(from('93388915'));
    assert.ok(asked.every((m) => m.to === other));
    const said = asked.map((m) => m.text?.body ?? m.interactive?.body?.text ?? '').join('\n');
    assert.match(said, /últimos 4 dígitos/);
    assert.doesNotMatch(said, /Carlos|\$|TUYA/);
    const wrong = await deliver(from('1234'));
    assert.doesNotMatch(JSON.stringify(wrong), /Carlos|\$|TUYA/);
    // Verified: the debt is disclosed (here, the agreement the first test recorded).
    const right = await deliver(from('4567'));
    assert.match(JSON.stringify(right), /Carlos/);
    assert.ok(right.every((m) => m.to === other));
  });

  it('drops a repeated delivery of the same wamid', async () => {
    const body = text('hola otra vez');
    const first = await deliver(body);
    assert.ok(first.length > 0);
    const messages = Number((await f.db.knex('messages').count('* as n').first())?.n);
    const again = await deliver(body);
    assert.deepEqual(again, []);
    assert.equal(Number((await f.db.knex('messages').count('* as n').first())?.n), messages);
  });

  it('moves the reply’s outbox row to delivered when Meta says so', async () => {
    await deliver(text('gracias'));
    const row = (await f.db.knex('outbox').orderBy('id', 'desc').first('id', 'external_id', 'status')) as { id: number; external_id: string; status: string };
    assert.equal(row.status, 'sent');
    const status = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'status-delivered.json'), 'utf8')) as Json;
    status.entry[0].changes[0].value.statuses[0].id = row.external_id;
    await deliver(JSON.stringify(status));
    assert.equal((await f.db.knex('outbox').where({ id: row.id }).first('status')).status, 'delivered');
  });
});
