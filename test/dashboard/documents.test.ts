import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../src/core/index.js';
import { createChatConversations } from '../../src/engine/index.js';
import { operationsRoutes } from '../../src/http/admin/index.js';
import { createApp } from '../../src/http/app.js';
import { CHAT_API_PATH, createChatRouter } from '../../src/http/chat-routes.js';
import { createKnowledgeRouter, DOCUMENTS_PATH } from '../../src/http/knowledge-routes.js';
import { addDocument, createKnowledge, DEMO_DOCUMENT } from '../../src/knowledge/index.js';
import { detectCedula } from '../../src/nlu/index.js';
import { startOps, type Ops } from '../../src/ops/index.js';
import { ADMIN_TOKEN } from '../admin/support.js';
import { engineFixture, quietLog, type EngineFixture } from '../engine/support/harness.js';
import { CHROMIUM } from './support.js';

const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts');

describe('the dashboard’s documents page, in headless Chromium', function () {
  this.timeout(60_000);
  let f: EngineFixture;
  let ops: Ops;
  let server: http.Server;
  let base: string;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    f = await engineFixture();
    await addDocument(f.knex, f.clock, { fileName: 'guia-atencion-deudor.md', data: await fs.readFile(DEMO_DOCUMENT), title: 'Guía de atención al deudor' });
    const config = loadConfig({ ADMIN_TOKEN, LOG_LEVEL: 'silent' });
    ops = await startOps({ knex: f.knex, config, log: quietLog, clock: f.clock, settingsRefreshMs: 0, statsFlushMs: 0, alertsEveryMs: 0 });
    const engine = f.makeEngine({ knowledge: createKnowledge({ knex: f.knex, clock: f.clock, log: quietLog }) });
    const app = createApp({
      clock: f.clock,
      knex: f.knex,
      config,
      log: quietLog,
      routes: [
        { path: CHAT_API_PATH, router: createChatRouter({ engine, conversations: createChatConversations(f.knex), detectCedula, clock: f.clock }) },
        { path: DOCUMENTS_PATH, router: createKnowledgeRouter({ knex: f.knex, clock: f.clock, log: quietLog, adminToken: () => ADMIN_TOKEN }) },
        ...operationsRoutes({ knex: f.knex, config, log: quietLog, ops, clock: f.clock }),
      ],
    });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ ...CHROMIUM, headless: true });
    page = await (await browser.newContext({ locale: 'es-CO', timezoneId: 'America/Bogota', viewport: { width: 1400, height: 1000 } })).newPage();
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
  });
  after(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await ops?.stop();
    await f?.db.drop();
  });

  const ask = (user: string, message: string) =>
    fetch(`${base}${CHAT_API_PATH}/message`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: user, message }) }).then((r) => r.json());

  it('lists documents, the questions asked and the unanswered ones; uploads, deactivates and deletes', async () => {
    await ask('visitor-1', 'hola');
    await ask('visitor-1', '¿Qué significa que mi deuda esté castigada?');
    await ask('visitor-1', '¿Tienen parqueadero en la oficina?');

    await page.goto(`${base}/admin`);
    await page.fill('#login-token', ADMIN_TOKEN);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#app:not([hidden])');
    await page.click('[role=tab][data-view=documents]');
    await page.waitForSelector('body[data-loaded=documents]');

    const rows = () => page.$$eval('#documents tbody tr', (trs) => trs.map((tr) => Array.from(tr.children, (td) => td.textContent)));
    assert.deepEqual((await rows()).map((r) => [r[0], r[2], r[4], r[6], r[7]]), [['Guía de atención al deudor', 'Markdown', 'Todas', 'Activo', '1']]);
    assert.match((await page.textContent('#doc-summary')) ?? '', /Preguntas\s*2\s*Respondidas\s*1\s*Sin respuesta\s*1/);
    assert.deepEqual(await page.$$eval('#doc-unanswered tbody tr td:nth-child(3)', (tds) => tds.map((td) => td.textContent)), ['¿Tienen parqueadero en la oficina?']);
    const recent = await page.$$eval('#doc-questions tbody tr', (trs) => trs.map((tr) => tr.children[3]?.textContent));
    assert.deepEqual(recent.sort(), ['Guía de atención al deudor', 'Sin respuesta']);

    await page.setInputFiles('#doc-file', { name: 'parqueaderos.txt', mimeType: 'text/plain', buffer: Buffer.from('Parqueadero\n\nLa oficina de Bogotá tiene parqueadero gratuito para visitantes en el sótano 2.\n') });
    await page.fill('#doc-title', 'Parqueaderos');
    await page.click('#doc-upload-form button[type=submit]');
    await page.waitForFunction(() => /cargado: 1 fragmento\./.test(document.getElementById('doc-upload-status')?.textContent ?? ''));
    await page.waitForFunction(() => document.querySelectorAll('#documents tbody tr').length === 2);
    await fs.mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-documents.png'), fullPage: true });
    const reply = (await ask('visitor-1', '¿Tienen parqueadero en la oficina de Bogotá?')) as { replies: { text: string }[] };
    assert.match(reply.replies.map((r) => r.text).join('\n'), /sótano 2[\s\S]*Fuente: «Parqueaderos»/);

    await page.setInputFiles('#doc-file', { name: 'roto.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 nothing here') });
    await page.click('#doc-upload-form button[type=submit]');
    await page.waitForFunction(() => /No se cargó: roto\.pdf: the PDF cannot be read/.test(document.getElementById('doc-upload-status')?.textContent ?? ''));
    problems.splice(0); // the browser logs the refused upload's 400 as a console error

    const id = (await f.knex('documents').where({ title: 'Parqueaderos' }).first('id')) as { id: number };
    await page.click(`[data-toggle="${id.id}"]`);
    await page.waitForSelector(`[data-toggle="${id.id}"]:text("Activar")`);
    assert.equal((await f.knex('documents').where({ id: id.id }).first('active')).active, false);
    page.once('dialog', (d) => void d.accept());
    await page.click(`[data-delete="${id.id}"]`);
    await page.waitForFunction(() => document.querySelectorAll('#documents tbody tr').length === 1);
    assert.equal(await f.knex('documents').where({ id: id.id }).first(), undefined);
    assert.deepEqual(problems, [], 'no script errors or CSP violations');
  });
});
