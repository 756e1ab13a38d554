import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../src/core/index.js';
import { createDashboardRouter } from '../../src/http/dashboard/index.js';
import { createApp } from '../../src/http/app.js';
import { createLearningRouter, LEARNING_PATH } from '../../src/http/learning-routes.js';
import { readGateSets } from '../../src/learning/index.js';
import { readLabelledTsv, TRAIN_CORPUS } from '../../src/nlu/index.js';
import { CARLOS_DIGITS, Chat, quietLog, TestClock } from '../engine/support/harness.js';
import { SETTINGS, seedCarlos, startInstance, type Instance } from '../learning/support.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { CHROMIUM } from './support.js';

const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts', 'learning');
const TOKEN = 'learning-test-token-0123456789';
const SLANG = 'camellando consigo ese billuyo';

/**
 * The supervisor's learning page (/admin/learning.html) in headless Chromium, on the
 * learning admin API: ratings, the review inbox (correct a message), training a version
 * off the request path and forcing it, the dictionary, the fine-tuning report and the
 * debt view. The engine and understander are the learning loop's, on the same database.
 */
describe('learning page at /admin/learning.html, in headless Chromium', function () {
  this.timeout(90_000);
  let db: TestDatabase;
  let bot: Instance;
  let server: http.Server;
  let base: string;
  let browser: Browser;
  let page: Page;
  let debtorId: number;
  const clock = new TestClock();
  const problems: string[] = [];
  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

  before(async () => {
    await fs.mkdir(ARTIFACTS, { recursive: true });
    db = await freshDatabase();
    ({ debtorId } = await seedCarlos(db.knex));
    bot = await startInstance(db.knex, clock);
    // A debtor who rates the conversation and comments; another the model does not understand.
    const happy = new Chat(bot.engine, 'page-1', 'api', clock);
    await happy.send('hola');
    await happy.identify('93388915', CARLOS_DIGITS);
    await happy.send('gracias, chao');
    await happy.send('5');
    await happy.send('Muy amable y rápido');
    const unsure = new Chat(bot.engine, 'page-2', 'api', clock);
    await unsure.send('hola');
    await unsure.send(SLANG);

    const config = loadConfig({ ADMIN_TOKEN: TOKEN });
    const corpus = (await readLabelledTsv(TRAIN_CORPUS)).filter((_, i) => i % 3 === 0);
    const gateSets = (await readGateSets()).filter((s) => s.name === 'blind').map((s) => ({ ...s, rows: s.rows.slice(0, 40) }));
    const app = createApp({
      knex: db.knex,
      config,
      log: quietLog,
      clock,
      routes: [
        {
          path: LEARNING_PATH,
          router: createLearningRouter({
            knex: db.knex,
            clock,
            log: quietLog,
            adminToken: () => TOKEN,
            nluSettings: () => SETTINGS,
            openai: () => undefined,
            changed: () => void bot.understander.refresh(),
            training: { corpus, gateSets, folds: 2 },
          }),
        },
        { path: '/admin', router: createDashboardRouter() },
      ],
    });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ ...CHROMIUM, headless: true });
    const context = await browser.newContext({ locale: 'es-CO', timezoneId: 'America/Bogota', viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('dialog', (d) => void d.accept());
  });
  after(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await bot?.stop();
    await db?.drop();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await shot(`failed-${this.currentTest.title.slice(0, 30)}`).catch(() => undefined);
    assert.deepEqual(problems.splice(0), [], 'no script errors or CSP violations in the page');
  });

  it('signs in with the token and shows the ratings by portfolio, channel and week, with the comments', async () => {
    await page.goto(`${base}/admin/learning.html`);
    await page.fill('#login-token', TOKEN);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#app:not([hidden])');
    await page.waitForFunction(() => document.getElementById('ratings-summary')?.textContent?.startsWith('1 calificaciones'));
    assert.deepEqual(await page.$$eval('#ratings-portfolio tbody tr', (rows) => rows.map((r) => r.textContent)), ['TUYA51'], (await page.textContent('#ratings')) ?? '');
    assert.deepEqual(await page.$$eval('#ratings-channel tbody tr', (rows) => rows.map((r) => r.textContent)), ['api51']);
    assert.match((await page.textContent('#ratings-comments')) ?? '', /Muy amable y rápido/);
    await shot('01-ratings');
  });

  it('corrects an unsure message in the review inbox, seeing the conversation around it', async () => {
    const row = page.locator('#inbox-table tbody tr', { hasText: SLANG });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /confianza baja|respondieron las reglas/);
    await row.locator('summary').click();
    assert.match((await row.locator('.around').textContent()) ?? '', /Bot: /);
    await row.locator('select').selectOption('intencion_pago');
    await shot('02-inbox');
    await row.getByRole('button', { name: 'Corregir' }).click();
    await page.waitForFunction((text) => !Array.from(document.querySelectorAll('#inbox-table tbody tr')).some((r) => r.textContent?.includes(text)), SLANG);
    const item = await db.knex('review_items').where({ text_masked: SLANG }).first();
    assert.equal(item.status, 'corrected');
    assert.equal(item.reviewed_intent, 'intencion_pago');
    assert.equal(item.reviewed_by, 'ADMIN_TOKEN');
  });

  it('trains a version off the request path, shows its gate, and activates it; the message is understood', async () => {
    await page.click('#train');
    await page.locator('#models-table tbody tr[data-version="1"]').waitFor({ timeout: 60_000 });
    const row = page.locator('#models-table tbody tr[data-version="1"]');
    assert.match((await row.textContent()) ?? '', /blind: [\d.]+ % vs [\d.]+ %/);
    assert.match((await row.textContent()) ?? '', /\+ 1 revisados/);
    const force = row.getByRole('button', { name: 'Forzar activación' });
    if (await force.count()) await force.click();
    await page.waitForFunction(() => document.getElementById('models-active')?.textContent?.startsWith('En uso: versión 1'));
    await shot('03-models');
    await bot.understander.refresh();
    const turn = await new Chat(bot.engine, 'page-3', 'api', clock).send(SLANG);
    assert.equal(turn.nlu?.intent, 'intencion_pago');
  });

  it('adds a dictionary entry, validates a fine-tuning export and shows everything about one debt', async () => {
    await page.fill('#dict-term', 'luca');
    await page.fill('#dict-canonical', 'mil pesos');
    await page.selectOption('#dict-category', 'jerga');
    await page.fill('#dict-synonyms', 'lucas, luka');
    await page.fill('#dict-examples', 'le doy 50 lucas');
    await page.click('#dict-form button[type=submit]');
    await page.locator('#dict-table tbody tr', { hasText: 'luca' }).waitFor();
    assert.match((await page.textContent('#dictionary-version')) ?? '', /versión 1/);
    assert.equal((await db.knex('semantic_dictionary').first()).updated_by, 'ADMIN_TOKEN');
    await shot('04-dictionary');

    await page.selectOption('#ft-rating', '4');
    await page.selectOption('#ft-outcome', 'any');
    await page.click('#ft-form button[type=submit]');
    await page.waitForFunction(() => document.getElementById('ft-report')?.textContent?.includes('Ejemplos'));
    const report = (await page.textContent('#ft-report')) ?? '';
    assert.match(report, /Conversaciones1Ejemplos1/);
    assert.match(report, /al menos 10 ejemplos|at least 10 examples/);
    assert.equal(await page.isDisabled('#ft-start'), true);
    await shot('05-finetune');

    await page.fill('#debt-id', String(debtorId));
    await page.click('#debt-form button[type=submit]');
    await page.waitForFunction(() => document.getElementById('debt-view')?.textContent?.includes('Conversaciones'));
    const debt = (await page.textContent('#debt-view')) ?? '';
    assert.match(debt, /cédula terminada en 8915/);
    assert.match(debt, /⭐⭐⭐⭐⭐/);
    assert.doesNotMatch(debt, /93388915/);
    await shot('06-debt');
  });

  it('refuses the API without a token, and malformed input with a 400', async () => {
    assert.equal((await fetch(`${base}${LEARNING_PATH}/inbox`)).status, 401);
    const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const bad = await fetch(`${base}${LEARNING_PATH}/inbox/1`, { method: 'POST', headers: auth, body: JSON.stringify({ action: 'correct', intent: 'pagar_ya' }) });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: string }).error, 'invalid_request');
    assert.equal((await fetch(`${base}${LEARNING_PATH}/models/x/activate`, { method: 'POST', headers: auth, body: '{}' })).status, 400);
    assert.equal((await fetch(`${base}${LEARNING_PATH}/debts/999999`, { headers: auth })).status, 404);
    const broken = await fetch(`${base}${LEARNING_PATH}/dictionary`, { method: 'POST', headers: auth, body: '{"term":' });
    assert.equal(broken.status, 400);
  });
});
