import { TEST_TIME } from '../../support/ports.js';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext } from 'playwright-core';
import { freshDatabase, type TestDatabase } from '../../support/db.js';
import { bubble, launchChromium, newPage, say, screenshot, transcript, W } from './browser.js';
import { ScriptedBot, startWebchatServer, type WebchatServer } from './support.js';

/**
 * The widget in real headless Chromium, on the demo page, against the web chat server
 * and a scripted stand-in for the engine (the full negotiation with the real engine is
 * in negotiation.test.ts).
 */
describe('web chat widget in Chromium', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let bot: ScriptedBot;
  let server: WebchatServer;
  let browser: Browser;
  let context: BrowserContext;

  before(async () => {
    db = await freshDatabase();
    bot = new ScriptedBot(db.knex);
    server = await startWebchatServer({ knex: db.knex, handler: bot });
    browser = await launchChromium();
  });
  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'es-CO', timezoneId: 'America/Bogota' });
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      for (const [i, page] of context.pages().entries()) await screenshot(page, `failed-${this.currentTest.title.replace(/\W+/g, '-')}-${i}`).catch(() => undefined);
    }
    await context.close();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await db?.drop();
  });

  it('adds a bubble to the page that opens an accessible Spanish panel; "hola" gets the greeting and chips', async () => {
    const page = await newPage(context);
    await page.goto(server.url);
    const launcher = page.locator(W.launcher);
    await launcher.waitFor();
    assert.equal(await launcher.getAttribute('aria-label'), 'Abrir el chat: Cobranzas Andinas');
    assert.equal(await launcher.getAttribute('aria-expanded'), 'false');
    assert.equal(await page.locator(W.panel).isVisible(), false);
    await screenshot(page, '01-demo-page-bubble');

    await launcher.click();
    assert.equal(await launcher.getAttribute('aria-expanded'), 'true');
    const panel = page.getByRole('dialog', { name: 'Cobranzas Andinas' });
    await panel.waitFor();
    const log = page.getByRole('log', { name: 'Mensajes de la conversación' });
    assert.equal(await log.getAttribute('aria-live'), 'polite');
    assert.ok(await page.getByRole('textbox', { name: 'Escriba su mensaje' }).isVisible());
    assert.ok(await page.getByRole('button', { name: 'Enviar mensaje' }).isVisible());
    assert.ok(await page.getByRole('button', { name: 'Cerrar el chat' }).isVisible());
    await page.locator(W.status, { hasText: 'En línea' }).waitFor();
    assert.match((await page.locator(`${W.log} .intro`).textContent()) ?? '', /asistente virtual de Cobranzas Andinas/);

    await say(page, 'hola');
    assert.match(await bubble(page, 'bot', '¡Hola! Soy el asistente'), /Cobranzas Andinas/);
    await bubble(page, 'bot', '¿Qué quieres hacer?');
    const chips = page.getByRole('group', { name: 'Opciones de respuesta' }).getByRole('button');
    assert.deepEqual(await chips.allTextContents(), ['Consultar mi deuda', 'Hablar con un asesor']);
    assert.deepEqual(await transcript(page), ['visitor: hola', 'bot: ¡Hola! Soy el asistente virtual de Cobranzas Andinas.', 'bot: ¿Qué quieres hacer?']);
    const times = await page.locator(`${W.log} .msg time`).evaluateAll((els) => els.map((e) => [e.getAttribute('datetime'), e.textContent]));
    assert.equal(times.length, 3);
    for (const [iso, shown] of times) {
      assert.ok(iso && !Number.isNaN(Date.parse(iso)));
      // The server's clock is fixed in the tests; the browser's is the device's: the day shows when they differ.
      assert.match(shown ?? '', /^(\d{1,2} de [a-z]+\.?, )?\d{1,2}:\d{2}\s?(a|p)\.\s?m\.$/, `a Colombian time: ${shown}`);
    }
    // The host page's aggressive CSS (red monospace buttons and textareas) does not reach in.
    const color = await page.locator(W.input).evaluate((el) => getComputedStyle(el).color);
    assert.notEqual(color, 'rgb(204, 0, 0)');
    await screenshot(page, '02-greeting-with-chips');

    await chips.first().click();
    assert.equal(await bubble(page, 'bot', 'Elegiste'), 'Asistente: Elegiste: consultar');
    assert.equal(bot.received.at(-1)?.buttonId, 'consultar');
    assert.equal(await page.locator(W.chips).isVisible(), false, 'no chips under a reply without buttons');
    assert.deepEqual(page.errors, []);
  });

  it('shows markup as text, runs no script from a message, and makes only safe links clickable', async () => {
    const page = await newPage(context);
    await page.goto(server.url);
    const attack = '<img src=x onerror="window.__pwned=1;alert(1)"><script>window.__pwned=2</script>';
    await say(page, attack);
    const echoed = await bubble(page, 'bot', 'Recibido: <img');
    assert.equal(echoed, `Asistente: Recibido: ${attack}`);
    assert.equal(await bubble(page, 'visitor', '<img src=x'), `Usted: ${attack}`);
    assert.equal(await page.locator(`${W.log} img, ${W.log} script`).count(), 0);
    assert.equal(await page.evaluate(() => (window as { __pwned?: number }).__pwned), undefined);

    await say(page, 'pague en https://pagos.example.com/ref?x=1&y=2. o llame a tel:+576015550000, no javascript:alert(1) ni data:text/html,hola');
    const reply = page.locator(`${W.log} .msg.bot`, { hasText: 'Recibido: pague en' }).last();
    await reply.waitFor();
    const links = await reply.locator('a').evaluateAll((as) => as.map((a) => [a.getAttribute('href'), a.textContent, a.getAttribute('rel'), a.getAttribute('target')]));
    assert.deepEqual(links, [
      ['https://pagos.example.com/ref?x=1&y=2', 'https://pagos.example.com/ref?x=1&y=2', 'noopener noreferrer', '_blank'],
      ['tel:+576015550000', 'tel:+576015550000', 'noopener noreferrer', '_blank'],
    ]);
    await screenshot(page, '03-markup-as-text-and-links');
    assert.deepEqual(page.errors, []);
  });

  it('keeps the conversation across a reload, a second page of the site and a second tab', async () => {
    const page = await newPage(context);
    await page.goto(server.url);
    await say(page, 'hola');
    await bubble(page, 'bot', '¿Qué quieres hacer?');
    const before = await transcript(page);

    await page.reload();
    await bubble(page, 'bot', '¿Qué quieres hacer?');
    assert.ok(await page.locator(W.panel).isVisible(), 'the panel stays open across pages of the site');
    assert.deepEqual(await transcript(page), before);
    assert.deepEqual(
      await page.getByRole('group', { name: 'Opciones de respuesta' }).getByRole('button').allTextContents(),
      ['Consultar mi deuda', 'Hablar con un asesor'],
    );
    await screenshot(page, '04-after-reload');

    const second = await newPage(context);
    await second.goto(`${server.url}/#opciones`);
    await second.locator(W.launcher).click();
    await bubble(second, 'bot', '¿Qué quieres hacer?');
    assert.deepEqual(await transcript(second), before);

    await say(second, 'escribo desde la otra pestaña');
    await bubble(second, 'bot', 'Recibido: escribo desde la otra pestaña');
    await bubble(page, 'visitor', 'escribo desde la otra pestaña');
    await bubble(page, 'bot', 'Recibido: escribo desde la otra pestaña');
    assert.deepEqual(await transcript(page), await transcript(second));
    await screenshot(second, '05-second-tab');
    assert.deepEqual([...page.errors, ...second.errors], []);
  });

  it('gives no access to another visitor’s conversation when the id in localStorage is changed', async () => {
    const victimContext = await browser.newContext();
    const victim = await newPage(victimContext);
    await victim.goto(server.url);
    await say(victim, 'mi secreto es 93388915');
    await bubble(victim, 'bot', 'Recibido: mi secreto');
    const victimToken = await victim.evaluate(() => Object.entries(localStorage).find(([k]) => k.endsWith(':token'))?.[1]);
    await victimContext.close();
    assert.ok(victimToken);
    const victimId = victimToken.split('.')[0]!;

    const page = await newPage(context);
    await page.goto(server.url);
    await say(page, 'hola');
    await bubble(page, 'bot', '¿Qué quieres hacer?');
    const [key, myToken] = (await page.evaluate(() => Object.entries(localStorage).find(([k]) => k.endsWith(':token'))))!;
    const forged = `${victimId}.${myToken.split('.')[1]}`;
    await page.evaluate(([k, v]) => localStorage.setItem(k!, v!), [key, forged]);

    const rejected: number[] = [];
    page.on('response', (res) => {
      if (res.url().includes('/webchat/v1/history')) rejected.push(res.status());
    });
    await page.reload();
    await page.locator(W.status, { hasText: 'En línea' }).waitFor();
    assert.deepEqual(rejected, [401, 200], 'the forged token is refused, and a new visitor starts');
    assert.deepEqual(await transcript(page), [], 'neither the victim’s messages nor the old ones are shown');
    const now = await page.evaluate((k) => localStorage.getItem(k), key);
    assert.ok(now && now !== forged && !now.startsWith(victimId), 'a fresh identity replaced the forged one');
    assert.equal(await page.locator(W.log).getByText('mi secreto').count(), 0);
    assert.deepEqual(page.errors, []);
  });

  it('queues a message typed while the server is down and delivers it once after reconnecting', async () => {
    const page = await newPage(context);
    await page.goto(server.url);
    await say(page, 'hola');
    await bubble(page, 'bot', '¿Qué quieres hacer?');

    const port = server.port;
    await server.close();
    await page.locator(W.status, { hasText: 'Sin conexión' }).waitFor();
    await say(page, 'sigo aquí, no me dejen');
    const pending = page.locator(`${W.log} .msg.pending`, { hasText: 'sigo aquí' });
    await pending.waitFor();
    assert.match((await pending.locator('.meta').textContent()) ?? '', /se enviará al reconectar/);
    const queued = await page.evaluate(() => Object.entries(localStorage).find(([k]) => k.endsWith(':queue'))?.[1]);
    assert.match(queued ?? '', /sigo aquí, no me dejen/);
    await screenshot(page, '06-offline-queued');


    server = await startWebchatServer({ knex: db.knex, handler: bot, port });
    assert.equal(await bubble(page, 'bot', 'Recibido: sigo aquí', 30_000), 'Asistente: Recibido: sigo aquí, no me dejen');
    await page.locator(W.status, { hasText: 'En línea' }).waitFor();
    assert.equal(await page.locator(`${W.log} .msg.pending`).count(), 0);
    assert.equal(await page.evaluate(() => Object.entries(localStorage).find(([k]) => k.endsWith(':queue'))?.[1]), '[]');
    const rows = await db.knex('messages').where({ channel: 'webchat', direction: 'in', text: 'sigo aquí, no me dejen' });
    assert.equal(rows.length, 1, 'delivered exactly once');
    assert.equal((await transcript(page)).filter((t) => t === 'bot: Recibido: sigo aquí, no me dejen').length, 1);
    await screenshot(page, '07-delivered-after-reconnect');
    assert.deepEqual(page.errors, []);
  });

  it('shows a typing indicator while the bot works and an unread badge while closed', async () => {
    const page = await newPage(context);
    await page.goto(server.url);
    await say(page, 'hola');
    await bubble(page, 'bot', '¿Qué quieres hacer?');

    let release!: () => void;
    bot.gate = new Promise((resolve) => (release = resolve));
    await say(page, 'un momento');
    await page.locator(W.typing).waitFor({ state: 'visible' });
    assert.equal(await page.locator(`${W.typing} .sr`).textContent(), 'Escribiendo…');
    await screenshot(page, '08-typing');
    bot.gate = undefined;
    release();
    await bubble(page, 'bot', 'Recibido: un momento');
    await page.locator(W.typing).waitFor({ state: 'hidden' });

    // Closed panel: a person's message arrives and the bubble counts it.
    await page.getByRole('button', { name: 'Cerrar el chat' }).click();
    const visitorId = await page.evaluate(() => Object.entries(localStorage).find(([k]) => k.endsWith(':token'))?.[1]?.split('.')[0]);
    const conv = await db.knex('conversations').where({ channel: 'webchat', user_id: visitorId }).first('id');
    await db.knex('messages').insert({ conversation_id: conv.id, direction: 'out', author: 'agent', channel: 'webchat', text: 'Hola, soy Laura. ¿Te ayudo?', created_at: TEST_TIME });
    await server.channel.outbound.send(visitorId!, [{ text: 'Hola, soy Laura. ¿Te ayudo?' }]);
    await page.locator(W.badge, { hasText: '1' }).waitFor();
    assert.equal(await page.locator(W.launcher).getAttribute('aria-label'), 'Abrir el chat: Cobranzas Andinas (1 mensaje sin leer)');
    await screenshot(page, '09-unread-badge');

    // Still unread after a reload; read once opened.
    await page.reload();
    await page.locator(W.badge, { hasText: '1' }).waitFor();
    await page.locator(W.launcher).click();
    await bubble(page, 'agent', 'soy Laura');
    assert.equal(await page.locator(W.badge).isVisible(), false);
    await page.reload();
    await page.locator(W.status, { hasText: 'En línea' }).waitFor();
    assert.equal(await page.locator(W.badge).isVisible(), false);
    assert.deepEqual(page.errors, []);
  });

  it('works from the keyboard alone, and fills a phone screen', async () => {
    const page = await newPage(context);
    await page.goto(server.url);
    await page.locator(W.launcher).focus();
    await page.keyboard.press('Enter');
    await page.locator(W.panel).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.tagName), 'TEXTAREA');
    await page.keyboard.type('hola');
    await page.keyboard.press('Enter');
    await bubble(page, 'bot', '¿Qué quieres hacer?');
    await page.keyboard.press('Shift+Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.textContent), 'Hablar con un asesor');
    await page.keyboard.press('Enter');
    await bubble(page, 'bot', 'Elegiste: asesor');
    await page.keyboard.press('Escape');
    await page.locator(W.panel).waitFor({ state: 'hidden' });
    assert.equal(await page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.getAttribute('class')), 'launcher');

    const phone = await browser.newContext({ viewport: { width: 390, height: 780 }, isMobile: true, hasTouch: true });
    try {
      const mobile = await newPage(phone);
      await mobile.goto(server.url);
      await mobile.locator(W.launcher).tap();
      await mobile.locator(W.panel).waitFor();
      const box = await mobile.locator(W.panel).boundingBox();
      assert.deepEqual(box, { x: 0, y: 0, width: 390, height: 780 });
      await say(mobile, 'hola');
      await bubble(mobile, 'bot', '¿Qué quieres hacer?');
      await screenshot(mobile, '10-phone-full-screen');
      assert.deepEqual(mobile.errors, []);
    } finally {
      await phone.close();
    }
  });

  it('runs on another site’s page when its origin is allowed, with that page’s title and color', async () => {
    // The agency's own site, on another origin (localhost vs 127.0.0.1), embedding the one tag.
    const chat = await startWebchatServer({ knex: db.knex, handler: bot, env: { WEBCHAT_ALLOWED_ORIGINS: 'http://localhost:1' } });
    const page = (tag: string) => `<!doctype html><html lang="es"><body><h1>Agencia</h1>${tag}</body></html>`;
    let html = '';
    const site = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html));
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    const sitePort = (site.address() as AddressInfo).port;
    const siteUrl = `http://localhost:${sitePort}/`;
    try {
      html = page(`<script src="${chat.url}/widget.js" data-title="Agencia Externa" data-color="#aa3300" data-greeting="" async></script>`);
      const refused = await newPage(context);
      await refused.goto(siteUrl);
      await refused.locator(W.launcher).waitFor();
      await refused.locator(W.status, { hasText: 'Sin conexión' }).waitFor({ state: 'attached' });
      await refused.close();

      await chat.close();
      const allowed = await startWebchatServer({ knex: db.knex, handler: bot, env: { WEBCHAT_ALLOWED_ORIGINS: `http://localhost:${sitePort}` }, port: chat.port });
      try {
        const p = await newPage(context);
        await p.goto(siteUrl);
        assert.equal(await p.locator(W.launcher).getAttribute('aria-label'), 'Abrir el chat: Agencia Externa');
        assert.equal(await p.locator(W.launcher).evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(170, 51, 0)');
        await say(p, 'hola');
        await bubble(p, 'bot', '¿Qué quieres hacer?');
        assert.equal(await p.locator(`${W.log} .intro`).count(), 0, 'an empty data-greeting shows none');
        await screenshot(p, '11-other-origin');
        assert.deepEqual(p.errors, []);

        // A color that is not a color is ignored rather than injected into the styles.
        html = page(`<script src="${chat.url}/widget.js" data-color="red;background:url(https://evil.example/x)"></script>`);
        const odd = await newPage(context);
        await odd.goto(siteUrl);
        assert.equal(await odd.locator(W.launcher).evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(11, 110, 79)');
      } finally {
        await allowed.close();
      }
    } finally {
      await new Promise((resolve) => site.close(resolve));
    }
  });
});
