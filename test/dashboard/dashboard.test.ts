import { TEST_NOW, testClock } from '../support/ports.js';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createOutbox, type Outbox } from '../../src/engine/index.js';
import { createLogger } from '../../src/log.js';
import { ADMIN_TOKEN, seed, startOpsApp, type OpsApp, type SeedIds } from '../admin/support.js';
import { RecordingChannel } from '../ops/support.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { CHROMIUM } from './support.js';


describe('supervisor dashboard at /admin, in headless Chromium', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let app: OpsApp;
  let ids: SeedIds;
  let outbox: Outbox;
  let webchat: RecordingChannel;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  const log = createLogger({ level: 'silent', pretty: false });

  before(async () => {
    db = await freshDatabase();
    ids = await seed(db.knex);
    // One clock for the outbox and the operations side, as the service has: half a minute after the seed.
    const clock = testClock(new Date(Date.parse(TEST_NOW) + 30_000));
    outbox = createOutbox({ knex: db.knex, log, clock });
    webchat = new RecordingChannel('webchat');
    outbox.registerChannel(webchat);
    app = await startOpsApp(db.knex, { clock, dispatch: (outboxIds) => outbox.dispatch(outboxIds) });
    browser = await chromium.launch({ ...CHROMIUM, headless: true });
    context = await browser.newContext({ acceptDownloads: true, locale: 'es-CO', timezoneId: 'America/Bogota' });
    page = await context.newPage();
    // Any script error or Content-Security-Policy violation fails the suite.
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
  });
  after(async () => {
    await browser?.close();
    await outbox?.stop();
    await app?.close();
    await db?.drop();
  });
  afterEach(function () {
    const failed = this.currentTest?.state === 'failed';
    if (failed) void page.screenshot({ path: `${process.env.TMPDIR ?? '/tmp'}/acuerdo-dashboard-failure.png` }).catch(() => undefined);
    assert.deepEqual(problems.splice(0), [], 'no script errors or CSP violations in the page');
  });

  it('refuses a wrong token and logs in with the admin token', async () => {
    await page.goto(`${app.base}/admin`);
    await page.fill('#login-token', 'not-the-token-at-all');
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction(() => document.getElementById('login-error')?.textContent === 'Token incorrecto.');
    problems.splice(0); // the browser logs the 401 of the failed login as a console error
    await page.fill('#login-token', ADMIN_TOKEN);
    await page.fill('#login-agent', 'Laura');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#app:not([hidden])');
    assert.equal(await page.textContent('#who'), 'Laura');
    assert.equal(await page.isHidden('#login'), true);
  });

  it('shows the funnel per portfolio and channel, the summary, NLU sources and low-confidence messages', async () => {
    await page.waitForSelector('body[data-loaded=overview]');
    const funnel = async () =>
      page.$$eval('#funnel-chart [data-value]', (els) => Object.fromEntries(els.map((e) => [(e as SVGElement).dataset.value, e.textContent])));
    assert.deepEqual(await funnel(), { conversations: '4 (100%)', identified: '3 (75%)', offered: '2 (50%)', agreements: '2 (50%)' });
    await page.selectOption('#funnel-portfolio', { label: 'Cartera Tuya' });
    assert.deepEqual(await funnel(), { conversations: '2 (100%)', identified: '2 (100%)', offered: '1 (50%)', agreements: '1 (50%)' });
    await page.selectOption('#funnel-channel', 'webchat');
    assert.deepEqual(await funnel(), { conversations: '1 (100%)', identified: '1 (100%)', offered: '0 (0%)', agreements: '0 (0%)' });
    assert.match((await page.textContent('#summary')) ?? '', /En cola de asesor\s*1/);
    const sources = await page.$$eval('#nlu-sources tbody tr', (rows) => rows.map((r) => r.children[0]?.textContent));
    assert.deepEqual(sources.sort(), ['Cédula', 'Modelo local', 'OpenAI', 'Reglas']);
    const low = await page.$$eval('#nlu-low tbody tr', (rows) => rows.map((r) => r.children[2]?.textContent));
    assert.deepEqual(low, ['hola? alguien', 'ola ke ase']);
  });

  it('lists live conversations and opens a seeded one’s transcript', async () => {
    await page.click('[data-view=conversations]');
    await page.waitForSelector('body[data-loaded=conversations]');
    const rows = await page.$$eval('#conversations tbody tr', (trs) => trs.map((r) => Array.from(r.children).map((c) => c.textContent)));
    assert.equal(rows.length, 2, 'open conversations by default');
    // The identity column (Ley 2300 art. 4) says whether the person proved who they are.
    assert.ok(rows.some((r) => r[2] === 'CARLOS FAJARDO' && r[1] === 'telegram' && r[3] === 'Sin cédula' && r[4] === 'Cartera Tuya'), JSON.stringify(rows));
    await page.click('#conversations tbody tr:has-text("CARLOS FAJARDO")');
    await page.waitForSelector('#conv-transcript .msg');
    const texts = await page.$$eval('#conv-transcript .msg .text', (els) => els.map((e) => e.textContent));
    assert.deepEqual(texts.slice(0, 3), ['hola', '¡Hola! ¿Me regala su cédula?', '93388915']);
    assert.match((await page.textContent('#conv-transcript .transcript-head')) ?? '', /CARLOS FAJARDO · CC 93388915 · telegram/);
  });

  it('takes a handoff, replies, and the debtor’s channel receives the reply', async () => {
    await page.click('[data-view=handoffs]');
    await page.waitForSelector('body[data-loaded=handoffs]');
    assert.equal(await page.textContent('#queue-badge'), '1');
    await page.click(`#queue tbody tr:has-text("CARLOS FAJARDO")`);
    await page.waitForSelector('#handoff-panel:not([hidden]) .msg');
    await page.click('#handoff-take');
    await page.waitForFunction(() => document.querySelector('#queue tbody tr')?.children[5]?.textContent === 'Laura');
    const sent = new Promise<{ to: string; text: string }>((resolve) => webchat.once('sent', (to: string, replies: { text: string }[]) => resolve({ to, text: replies[0]!.text })));
    await page.fill('#reply-text', 'Hola Carlos, soy Laura de la agencia. <b>¿En qué le ayudo?</b>');
    await page.click('#reply-form button[type=submit]');
    assert.deepEqual(await sent, { to: 'v-handoff-1', text: 'Hola Carlos, soy Laura de la agencia. <b>¿En qué le ayudo?</b>' });
    await page.waitForSelector('#handoff-transcript .msg.agent');
    assert.equal(await page.textContent('#handoff-transcript .msg.agent .text'), 'Hola Carlos, soy Laura de la agencia. <b>¿En qué le ayudo?</b>', 'shown as text, never as HTML');
    assert.equal(await page.textContent('#reply-status'), 'Enviado.');
    const row = await db.knex('outbox').where({ kind: 'agent' }).first();
    assert.equal(row.status, 'sent');

    await page.click('#handoff-release');
    await page.waitForSelector('#queue-empty:not([hidden])');
    assert.equal((await db.knex('conversations').where({ id: ids.handoff }).first()).status, 'open');
  });

  it('lists agreements and downloads them as CSV', async () => {
    await page.click('[data-view=agreements]');
    await page.waitForSelector('body[data-loaded=agreements]');
    assert.match((await page.textContent('#agreements-total')) ?? '', /^2 acuerdos · \$\s?1\.886\.419$/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#agreements-csv')]);
    assert.match(download.suggestedFilename(), /^acuerdos-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = (await fs.readFile((await download.path())!, 'utf8')).replace(/^\uFEFF/, '');
    const lines = csv.trim().split('\r\n');
    assert.equal(lines.length, 3);
    // The browser prefers Spanish (es-CO): Excel as used in Colombia, semicolons and Spanish headers.
    assert.match(lines[0]!, /^ID;Fecha del acuerdo;Cartera;Cédula;Nombre/);
    assert.match(lines[2]!, /Cartera Tuya;93388915;CARLOS FAJARDO/);
  });

  it('logs out, and a stale token sends the supervisor back to the login', async () => {
    await page.click('#logout');
    await page.waitForSelector('#login:not([hidden])');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('acuerdo.admin.token')), null);
    await page.evaluate((t) => sessionStorage.setItem('acuerdo.admin.token', t), 'a-token-that-was-rotated');
    await page.reload();
    await page.waitForFunction(() => /sesión expiró/.test(document.getElementById('login-error')?.textContent ?? ''));
    // Every request the stale token made has answered (a late 401 would be blamed on the next test).
    await page.waitForLoadState('networkidle');
    problems.splice(0); // the 401s
  });

  it('serves Swagger UI at /docs that renders under the security headers', async () => {
    await page.goto(`${app.base}/docs/`);
    await page.waitForSelector('.swagger-ui .info .title');
    assert.match((await page.textContent('.swagger-ui .info .title')) ?? '', /acuerdo API/);
    await page.waitForSelector('.opblock-summary-path[data-path="/api/v1/admin/agreements.csv"]');
    await page.waitForSelector('.opblock-summary-path[data-path="/api/v1/chat/message"]');
  });
});
