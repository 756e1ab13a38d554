import { TEST_NOW, testClock } from '../support/ports.js';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { seed, startOpsApp, type OpsApp, type SeedIds } from '../admin/support.js';
import { PASSWORD, seedPeople, type PeopleIds } from '../admin/people-support.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { CHROMIUM } from './support.js';

const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts', 'dashboard-login');

describe('dashboard sign-in with e-mail and password, in headless Chromium', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let app: OpsApp;
  let ids: SeedIds;
  let people: PeopleIds;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const clock = testClock(new Date(Date.parse(TEST_NOW) + 30_000));

  before(async () => {
    await fs.mkdir(ARTIFACTS, { recursive: true });
    db = await freshDatabase();
    ids = await seed(db.knex);
    people = await seedPeople(db.knex, ids, clock);
    app = await startOpsApp(db.knex, { clock });
    browser = await chromium.launch({ ...CHROMIUM, headless: true });
    context = await browser.newContext({ locale: 'es-CO', timezoneId: 'America/Bogota' });
    page = await context.newPage();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await db?.drop();
  });

  const signIn = async (email: string, password: string) => {
    await page.fill('#login-email', email);
    await page.fill('#login-password', password);
    await Promise.all([page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login')), page.click('#login-user-form button[type=submit]')]);
  };
  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

  it('locks the account after five wrong passwords, by the service’s clock, and says until when', async () => {
    await page.goto(`${app.base}/admin`);
    await page.waitForSelector('#login:not([hidden])');
    await signIn('mario@agencia.test', 'no-es-la-clave');
    await page.waitForFunction(() => document.getElementById('login-user-error')?.textContent === 'Correo o contraseña incorrectos.');
    await shot('1-wrong-password');
    for (let i = 2; i <= 5; i++) await signIn('mario@agencia.test', `otra-clave-${i}`);
    await page.waitForFunction(() => /Cuenta bloqueada/.test(document.getElementById('login-user-error')?.textContent ?? ''));
    // The right password is refused while the lock lasts.
    await signIn('mario@agencia.test', PASSWORD);
    await page.waitForFunction(() => /Cuenta bloqueada.*después de las/.test(document.getElementById('login-user-error')?.textContent ?? ''));
    assert.equal(await page.isHidden('#app'), true);
    await shot('2-locked');
    clock.advance(16 * 60_000);
    await signIn('mario@agencia.test', PASSWORD);
    await page.waitForSelector('#app:not([hidden])');
    assert.equal(await page.textContent('#who'), 'Mario Ruiz');
  });

  it('keeps the session in an httpOnly, SameSite=Strict cookie the page cannot read, and shows an agent only the agent’s tabs', async () => {
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'acuerdo_session')!;
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie.includes('acuerdo_session')), false);
    assert.equal(await page.textContent('#who-role'), 'Asesor');
    const visible = await page.$$eval('[role=tab]', (tabs) => tabs.filter((t) => !(t as HTMLElement).hidden).map((t) => (t as HTMLElement).dataset.view));
    assert.deepEqual(visible, ['conversations', 'handoffs']);
    await page.waitForSelector('body[data-loaded=handoffs]');
    await shot('3-agent-queue');
  });

  it('refuses a change sent with the session cookie but without the CSRF token, and a supervisor’s export to an agent', async () => {
    const attempt = await page.evaluate(async (id) => {
      const forged = await fetch(`/api/v1/admin/handoffs/${id}/take`, { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agent: 'x' }) });
      const exported = await fetch('/api/v1/admin/agreements.csv', { credentials: 'same-origin' });
      return { forged: forged.status, error: ((await forged.json()) as { error: string }).error, exported: exported.status };
    }, ids.handoff);
    assert.deepEqual(attempt, { forged: 403, error: 'csrf_failed', exported: 403 });
    // With the session's token (as the page's own actions send it) the change goes through.
    const taken = await page.evaluate(async (id) => {
      const res = await fetch(`/api/v1/auth/session`, { credentials: 'same-origin' });
      const { csrf_token } = (await res.json()) as { csrf_token: string };
      return (await fetch(`/api/v1/admin/handoffs/${id}/take`, { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf_token }, body: JSON.stringify({ agent: 'x' }) })).status;
    }, ids.handoff);
    assert.equal(taken, 200);
    const row = await db.knex('conversations').where({ id: ids.handoff }).first('assigned_to');
    assert.equal(row.assigned_to, 'Mario Ruiz');
  });

  it('signs out (the session ends on the server), and an admin sees the audit trail with the sign-ins', async () => {
    await page.click('#logout');
    await page.waitForSelector('#login:not([hidden])');
    await page.waitForFunction(async () => (await fetch('/api/v1/admin/handoffs', { credentials: 'same-origin' })).status === 401);
    await signIn('admin@agencia.test', PASSWORD);
    await page.waitForSelector('#app:not([hidden])');
    assert.equal(await page.textContent('#who-role'), 'Administrador');
    await page.click('[role=tab][data-view=audit]');
    await page.waitForSelector('body[data-loaded=audit]');
    const actions = await page.$$eval('#audit-table tbody tr', (rows) => rows.map((r) => `${r.children[1]?.textContent} ${r.children[3]?.textContent}`));
    for (const expected of ['mario@agencia.test Ingreso fallido', 'mario@agencia.test Cuenta bloqueada', 'mario@agencia.test Ingreso', 'mario@agencia.test Tomó la conversación', 'mario@agencia.test Salida', 'mario@agencia.test Acceso negado']) {
      assert.ok(actions.includes(expected), `${expected} in ${actions.join(' | ')}`);
    }
    await shot('4-admin-audit');
    assert.ok(people.users.admin.id > 0);
  });
});
