import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { loadConfig } from '../../../src/core/index.js';
import { startService, type RunningService } from '../../../src/service.js';
import { freshDatabase, type TestDatabase } from '../../support/db.js';
import { bubble, launchChromium, newPage, say, screenshot, transcript, W } from './browser.js';
import { quietLog } from './support.js';

/**
 * A whole negotiation in the widget, in headless Chromium, against the service as
 * `npm start` runs it (startService: the real engine, the shipped flow, the local
 * understander without OpenAI, the outbox and the channels), on the demo portfolio:
 * "hola", the demo debtor's cédula, a chip tapped while the service is down and
 * delivered after it restarts, an agreement recorded.
 */
describe('web chat: a negotiation with the real service in Chromium', function () {
  this.timeout(120_000);
  let db: TestDatabase;
  let dataDir: string;
  let service: RunningService | undefined;
  let browser: Browser;
  let context: BrowserContext;
  let url: string;

  const start = async (port = 0) => {
    service = await startService(
      loadConfig({ DATABASE_URL: db.url, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'silent', OPENAI_ENABLED: 'false', DEMO_DATA: 'true' }),
      quietLog,
    );
    url = `http://127.0.0.1:${service.port}`;
    return service;
  };

  before(async () => {
    db = await freshDatabase();
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'acuerdo-webchat-'));
    await start();
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'es-CO', timezoneId: 'America/Bogota' });
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      for (const [i, page] of context.pages().entries()) await screenshot(page, `failed-negotiation-${i}`).catch(() => undefined);
    }
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await service?.close();
    await db?.drop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('greets, shows the debt after the cédula, reaches the offers across a restart, and records the agreement', async () => {
    const page = await newPage(context);
    await page.goto(url);
    await page.locator(W.launcher).click();

    await say(page, 'hola');
    await bubble(page, 'bot', /Soy el asistente virtual de acuerdos de pago/);
    await bubble(page, 'bot', /número de cédula/);
    await screenshot(page, 'e2e-01-greeting');

    // The widget always asks the second fact (Ley 2300 art. 4); the demo's Carlos has 3001234567 on file.
    await say(page, '93388915');
    await bubble(page, 'bot', /últimos 4 dígitos/);
    assert.doesNotMatch((await transcript(page)).join('\n'), /Carlos|\$123\.456|TUYA/);
    await say(page, '4567');
    assert.match(await bubble(page, 'bot', /Usted tiene una obligación/), /COMPAÑÍA DE FINANCIAMIENTO TUYA S\.A\. por \$123\.456/);
    await bubble(page, 'bot', /Gracias, Carlos/i);
    const chips = page.getByRole('group', { name: 'Opciones de respuesta' }).getByRole('button');
    assert.deepEqual(await chips.allTextContents(), ['Ver opciones de pago', 'Hablar con un asesor']);
    await screenshot(page, 'e2e-02-debt');

    // The server goes down mid-chat; the debtor taps a chip while it is down.
    const port = service!.port;
    await service!.close();
    service = undefined;
    await page.locator(W.status, { hasText: 'Sin conexión' }).waitFor();
    await chips.filter({ hasText: 'Ver opciones de pago' }).click();
    await page.locator(`${W.log} .msg.pending`, { hasText: 'Ver opciones de pago' }).waitFor();
    await screenshot(page, 'e2e-03-offline-tap');
    await start(port);

    assert.match(await bubble(page, 'bot', /Estas son sus opciones/, 30_000), /de contado .* queda en \$[\d.]+/);
    await page.locator(W.status, { hasText: 'En línea' }).waitFor();
    const plans = await chips.allTextContents();
    assert.ok(plans.length >= 2, `the plans as chips: ${plans.join(' | ')}`);
    assert.ok(plans.some((p) => /contado/i.test(p)) && plans.some((p) => /cuotas/i.test(p)), plans.join(' | '));
    await screenshot(page, 'e2e-04-offers');

    await chips.filter({ hasText: /contado/i }).first().click();
    // The plan in full (total, first due date, how to pay), then the question.
    await bubble(page, 'bot', /Quedaría así: un pago de contado de \$[\d.]+, con el primer pago el/);
    await bubble(page, 'bot', /Cómo pagar:/);
    await bubble(page, 'bot', /¿Confirmamos el acuerdo\?/);
    await chips.filter({ hasText: 'Sí, confirmo' }).click();
    const done = await bubble(page, 'bot', /Su acuerdo de pago quedó registrado/);
    const reference = /referencia (AC-[A-Z0-9]+)/.exec(done)?.[1];
    assert.ok(reference, done);
    await bubble(page, 'bot', /Total a pagar: \$[\d.]+ en un solo pago/);
    await screenshot(page, 'e2e-05-agreement');

    const visitorId = await page.evaluate(() => Object.entries(localStorage).find(([k]) => k.endsWith(':token'))?.[1]?.split('.')[0]);
    const agreement = await db.knex('agreements as a').join('debtors as d', 'd.id', 'a.debtor_id').where({ 'a.reference': reference }).first('a.*', 'd.cedula');
    assert.equal(agreement.cedula, '93388915');
    assert.equal(agreement.channel, 'webchat');
    assert.equal(agreement.kind, 'contado');
    const conversation = await db.knex('conversations').where({ id: agreement.conversation_id }).first();
    assert.equal(conversation.user_id, visitorId);

    // Each typed or tapped message went through the engine once, and every reply was sent.
    const inbound = await db.knex('messages').where({ conversation_id: conversation.id, direction: 'in' }).orderBy('id');
    assert.deepEqual(inbound.map((m: { text: string }) => m.text).slice(0, 4), ['hola', '93388915', '4567', 'Ver opciones de pago']);
    assert.equal(inbound[3].button_id, 'ver_opciones');
    await service!.outbox.idle();
    const unsent = await db.knex('outbox').where({ channel: 'webchat', recipient: visitorId }).whereNot({ status: 'sent' });
    assert.deepEqual(unsent, []);

    // The history survives a reload, the same as the database has it.
    const before = await transcript(page);
    await page.reload();
    await bubble(page, 'bot', /Su acuerdo de pago quedó registrado/);
    assert.deepEqual(await transcript(page), before);
    const stored = await db.knex('messages').where({ conversation_id: conversation.id }).count<{ n: string }[]>('* as n');
    assert.equal(before.length, Number(stored[0]!.n));
    assert.equal(before.filter((t) => t === 'visitor: Ver opciones de pago').length, 1, 'the tap queued offline was sent once');
    assert.deepEqual(page.errors, []);
  });
});
