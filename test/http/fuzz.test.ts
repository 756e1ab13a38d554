import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { loadConfig } from '../../src/core/index.js';
import { createLogger } from '../../src/log.js';
import { startService, type RunningService } from '../../src/service.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

/**
 * Bounded fuzzing of every route the service answers: each operation of its OpenAPI
 * document (chat, admin, scheduler, agreements) and each channel webhook, with control
 * characters in every field and in path parameters, bodies past the size limits, deeply
 * nested JSON, wrong types and broken JSON. Nothing may answer 5xx: a bad request is the
 * client's (4xx with a JSON reason). A seeded generator makes every run the same.
 */
const ADMIN_TOKEN = 'fuzz-admin-token-0123456789abcdef';
const TELEGRAM_SECRET = 'fuzz_telegram_secret_0123456789';

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CONTROL = ['\u0000', '\u0001', '\u0007', '\u0008', '\u000b', '\u001b', '\u007f', '\u0085', '\u009f', '\r\n', '\t', '\u2028', '\ud800', '\ufeff'];

describe('every route under fuzzed input (bounded, seeded)', function () {
  this.timeout(120_000);
  let db: TestDatabase;
  let service: RunningService;
  let fakeTelegram: http.Server;
  const results: { method: string; path: string; status: number; sample: string }[] = [];

  before(async () => {
    // Telegram's Bot API as the channel meets it at start (getMe, setWebhook), answering locally.
    const tg = express();
    tg.use(express.json());
    tg.post('/bot:token/:method', (req, res) => {
      if (req.params.method === 'getMe') res.json({ ok: true, result: { id: 7000000001, is_bot: true, first_name: 'Acuerdo', username: 'acuerdo_fuzz_bot' } });
      else res.json({ ok: true, result: true });
    });
    fakeTelegram = http.createServer(tg).listen(0, '127.0.0.1');
    await once(fakeTelegram, 'listening');
    db = await freshDatabase();
    service = await startService(
      loadConfig({
        DATABASE_URL: db.url,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        SCHEDULER_ENABLED: 'false',
        ADMIN_TOKEN,
        BOTFRAMEWORK_ENABLED: 'true',
        WHATSAPP_CLOUD_ENABLED: 'true',
        WHATSAPP_CLOUD_TOKEN: 'fuzz-token',
        WHATSAPP_CLOUD_PHONE_NUMBER_ID: '106540352242922',
        WHATSAPP_CLOUD_VERIFY_TOKEN: 'fuzz-verify',
        WHATSAPP_CLOUD_APP_SECRET: 'fuzz-app-secret',
        WHATSAPP_CLOUD_BASE_URL: 'http://127.0.0.1:9',
        TELEGRAM_BOT_TOKEN: '123456789:AAHfuzzfuzzfuzzfuzzfuzzfuzzfuzz',
        TELEGRAM_WEBHOOK_URL: 'https://example.invalid/telegram/webhook',
        TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET,
        TELEGRAM_API_ROOT: `http://127.0.0.1:${(fakeTelegram.address() as AddressInfo).port}`,
        MERCADOPAGO_ACCESS_TOKEN: 'TEST-fuzz',
        MERCADOPAGO_WEBHOOK_SECRET: 'fuzz-mp-secret',
      }),
      createLogger({ level: 'silent', pretty: false }),
      { database: { onFatal: () => undefined } },
    );
  });
  after(async () => {
    await service?.close();
    fakeTelegram?.closeAllConnections();
    await new Promise((resolve) => fakeTelegram?.close(resolve));
    await db?.drop();
  });

  it('answers no 5xx to control characters, huge and nested bodies on any route', async () => {
    const base = `http://127.0.0.1:${service.port}`;
    const doc = (await (await fetch(`${base}/docs/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: { $ref?: string } }> } }>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    const operations: { method: string; path: string; fields: string[] }[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const ref = op.requestBody?.content?.['application/json']?.schema?.$ref;
        const schema = ref ? doc.components.schemas[ref.split('/').pop()!] : undefined;
        operations.push({ method: method.toUpperCase(), path, fields: Object.keys(schema?.properties ?? {}) });
      }
    }
    assert.ok(operations.length >= 20, `the document lists the routes (${operations.length})`);
    // The channels' webhooks and the payment provider's, which the document does not describe.
    const webhooks = ['/api/messages', '/whatsapp/webhook', '/telegram/webhook', '/webhooks/mercadopago', '/webchat/v1/session'];
    for (const path of webhooks) operations.push({ method: 'POST', path, fields: ['update_id', 'message', 'object', 'entry', 'type', 'text', 'from', 'data', 'id'] });
    operations.push({ method: 'GET', path: '/whatsapp/webhook', fields: [] });

    const random = rng(18);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const nasty = () => {
      const kind = Math.floor(random() * 6);
      if (kind === 0) return `a${pick(CONTROL)}b`;
      if (kind === 1) return pick(CONTROL).repeat(1 + Math.floor(random() * 4));
      if (kind === 2) return ' '.repeat(50) + pick(CONTROL) + 'X'.repeat(300);
      if (kind === 3) return pick([0, -1, 1.5, 1e308, Number.MAX_SAFE_INTEGER + 2, true, null, [], {}, [pick(CONTROL)], { $ne: '' }]);
      if (kind === 4) return '%00' + pick(CONTROL);
      return 'x'.repeat(5000);
    };
    /** Percent-encodes; a lone surrogate becomes invalid UTF-8 on the wire (%ED%A0%80), which is a case of its own. */
    const enc = (value: string) => {
      try {
        return encodeURIComponent(value);
      } catch {
        return '%ED%A0%80';
      }
    };
    const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    const nestedObject = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    const bodies = (fields: string[]): string[] => {
      const out: string[] = [];
      for (let i = 0; i < 4; i++) {
        const body: Record<string, unknown> = {};
        for (const f of fields.length ? fields : ['user_id', 'message']) body[f] = nasty();
        out.push(JSON.stringify(body));
      }
      out.push(nested(20_000), nestedObject(5_000), `{"user_id":"${'a'.repeat(80_000)}"}`, '{"user_id": ', '\u0000', 'null', '[]', '"x"', JSON.stringify({ [pick(CONTROL)]: 1 }));
      return out;
    };
    const fillPath = (path: string) => path.replace(/\{[^}]+\}/g, () => enc(String(pick(['\u0000', '1\u0000', '%', '..', ' 1 ', '-1', '99999999999999999999', 'a\u001bb', '00000000-0000-4000-8000-00000000000\u0000']))));

    const headersFor = (path: string): Record<string, string> => ({
      'content-type': 'application/json',
      ...(path.startsWith('/api/v1/admin') || path.startsWith('/admin') ? { authorization: `Bearer ${ADMIN_TOKEN}` } : {}),
      ...(path === '/telegram/webhook' ? { 'x-telegram-bot-api-secret-token': TELEGRAM_SECRET } : {}),
    });

    for (const op of operations) {
      for (let round = 0; round < 2; round++) {
        const path = fillPath(op.path);
        const query = `?${pick(['limit', 'from', 'to', 'status', 'q', 'channel', 'hub.mode', 'hub.challenge'])}=${enc(String(nasty()))}`;
        if (op.method === 'GET' || op.method === 'DELETE') {
          const res = await fetch(`${base}${path}${query}`, { method: op.method, headers: headersFor(op.path) });
          results.push({ method: op.method, path: `${path}${query}`, status: res.status, sample: '' });
          await res.body?.cancel();
          continue;
        }
        for (const body of bodies(op.fields)) {
          const res = await fetch(`${base}${path}`, { method: op.method, headers: headersFor(op.path), body });
          results.push({ method: op.method, path, status: res.status, sample: body.slice(0, 80) });
          if (res.status >= 500) results[results.length - 1]!.sample += ` → ${(await res.text()).slice(0, 200)}`;
          else await res.body?.cancel();
        }
      }
    }
    const failures = results.filter((r) => r.status >= 500);
    process.stdout.write(`      (${results.length} fuzzed requests over ${operations.length} operations; statuses ${JSON.stringify(Object.entries(results.reduce<Record<number, number>>((a, r) => ((a[r.status] = (a[r.status] ?? 0) + 1), a), {})))})\n`);
    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} answers were 5xx`);
    // The service still works after all that.
    const ok = await fetch(`${base}/api/v1/chat/message`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'después-del-fuzz', message: 'hola' }) });
    assert.equal(ok.status, 200);
  });
});
