import { TEST_NOW } from '../support/ports.js';
import assert from 'node:assert/strict';
import * as s from '../../src/http/admin/schemas.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { ADMIN_TOKEN, adminFetch, collectingLogger, seed, startOpsApp, type OpsApp, type SeedIds } from './support.js';

describe('admin API /api/v1/admin', () => {
  let db: TestDatabase;
  let app: OpsApp;
  let ids: SeedIds;
  const get = async (path: string) => {
    const res = await adminFetch(app.base, path);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & { items?: Record<string, unknown>[] } };
  };

  before(async () => {
    db = await freshDatabase();
    ids = await seed(db.knex);
    app = await startOpsApp(db.knex);
  });
  after(async () => {
    await app.close();
    await db.drop();
  });

  describe('access', () => {
    it('answers 401 without a token or with a wrong one, and names the scheme', async () => {
      const none = await fetch(`${app.base}/api/v1/admin/conversations`);
      assert.equal(none.status, 401);
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
      const wrong = await fetch(`${app.base}/api/v1/admin/conversations`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}x` } });
      assert.equal(wrong.status, 401);
      assert.equal(((await wrong.json()) as { error: string }).error, 'unauthorized');
    });

    it('is off (404) with no ADMIN_TOKEN, and start-up warns', async () => {
      const { log, lines } = collectingLogger();
      const off = await startOpsApp(db.knex, { env: { ADMIN_TOKEN: '' }, log });
      try {
        const res = await fetch(`${off.base}/api/v1/admin/session`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        assert.equal(res.status, 404);
        assert.equal(((await res.json()) as { error: string }).error, 'admin_api_disabled');
        assert.ok(lines().some((l) => l.level === 40 && /ADMIN_TOKEN is not set/.test(String(l.msg))));
      } finally {
        await off.close();
      }
    });
  });

  describe('config', () => {
    it('shows the settings in force, with the environment and seed defaults', async () => {
      const { status, body } = await get('/api/v1/admin/config');
      assert.equal(status, 200);
      const parsed = s.configResponseSchema.parse(body);
      assert.equal(parsed.config.nlu.confidence_threshold, 0.6);
      assert.deepEqual(parsed.config.timeouts.vip, { timeout_hours: 48, warning_hours: 40, max_messages: 100 });
      assert.equal(parsed.config.alerts.response_time_ms, 2000);
      assert.deepEqual(parsed.overrides, {});
    });

    it('validates a change, stores it in the settings table and applies it at once', async () => {
      const put = await adminFetch(app.base, '/api/v1/admin/config', {
        method: 'PUT',
        body: JSON.stringify({ nlu: { confidence_threshold: 0.75, openai_enabled: false }, timeouts: { premium: { timeout_hours: 30 } } }),
      });
      assert.equal(put.status, 200);
      const body = s.configResponseSchema.parse(await put.json());
      assert.equal(body.config.nlu.confidence_threshold, 0.75);
      assert.equal(body.config.timeouts.premium.timeout_hours, 30);
      assert.equal(body.config.timeouts.premium.warning_hours, 20, 'untouched values keep their defaults');
      // Applied without a restart: the NLU's getter already sees it.
      assert.deepEqual(app.ops.settings.nlu(), { confidenceThreshold: 0.75, openaiEnabled: false, maxChars: 2000 });
      const row = await db.knex('settings').where({ key: 'ops.runtime' }).first();
      assert.deepEqual(row.value, { nlu: { confidence_threshold: 0.75, openai_enabled: false }, timeouts: { premium: { timeout_hours: 30 } } });
      const after = await get('/api/v1/admin/config');
      assert.equal((after.body.config as { nlu: { openai_enabled: boolean } }).nlu.openai_enabled, false);
    });

    it('refuses wrong values and unknown keys with 400 naming each field, and changes nothing', async () => {
      const bad = await adminFetch(app.base, '/api/v1/admin/config', {
        method: 'PUT',
        body: JSON.stringify({ nlu: { confidence_threshold: 1.5 }, rate_limits: { chat_per_sender_per_minute: -1 }, colour: 'red' }),
      });
      assert.equal(bad.status, 400);
      const body = (await bad.json()) as { error: string; details: { path: string }[] };
      assert.equal(body.error, 'invalid_request');
      const paths = body.details.map((d) => d.path);
      assert.ok(paths.includes('body.nlu.confidence_threshold'), paths.join());
      assert.ok(paths.includes('body.rate_limits.chat_per_sender_per_minute'), paths.join());
      assert.ok(paths.includes('body'), 'the unknown key: ' + paths.join());
      const crossed = await adminFetch(app.base, '/api/v1/admin/config', {
        method: 'PUT',
        body: JSON.stringify({ timeouts: { default: { warning_hours: 13 } } }),
      });
      assert.equal(crossed.status, 400, 'a warning after the timeout is refused');
      assert.match(JSON.stringify(await crossed.json()), /body.timeouts.default.warning_hours.*warning_hours must be less than timeout_hours/);
      assert.equal(app.ops.settings.current().nlu.confidence_threshold, 0.75);
    });

    it('restores a default when a value is set to null', async () => {
      const put = await adminFetch(app.base, '/api/v1/admin/config', { method: 'PUT', body: JSON.stringify({ nlu: { openai_enabled: null }, timeouts: null }) });
      const body = s.configResponseSchema.parse(await put.json());
      assert.equal(body.config.nlu.openai_enabled, true);
      assert.equal(body.config.timeouts.premium.timeout_hours, 24);
      assert.deepEqual(body.overrides, { nlu: { confidence_threshold: 0.75 } });
    });
  });

  describe('conversations', () => {
    it('lists conversations, most recently active first, with debtor and portfolio', async () => {
      const { status, body } = await get('/api/v1/admin/conversations');
      assert.equal(status, 200);
      const list = s.conversationListSchema.parse(body);
      assert.equal(list.total, 4);
      assert.deepEqual(list.items.map((c) => c.id), [ids.anonymous, ids.agreed, ids.handoff, ids.closed]);
      const handoff = list.items.find((c) => c.id === ids.handoff)!;
      assert.equal(handoff.debtor_name, 'CARLOS FAJARDO');
      assert.equal(handoff.portfolio, 'Cartera Tuya');
      assert.equal(handoff.last_message, 'hola? alguien');
    });

    it('filters by status, state, channel, portfolio (id or name), dates and handoff', async () => {
      const idsOf = async (q: string) => s.conversationListSchema.parse((await get(`/api/v1/admin/conversations?${q}`)).body).items.map((c) => c.id).sort();
      assert.deepEqual(await idsOf('status=handoff'), [ids.handoff]);
      assert.deepEqual(await idsOf('state=inicial'), [ids.anonymous]);
      assert.deepEqual(await idsOf('channel=telegram'), [ids.agreed, ids.closed].sort());
      assert.deepEqual(await idsOf(`portfolio=${ids.otherPortfolioId}`), [ids.closed]);
      assert.deepEqual(await idsOf(`portfolio=${encodeURIComponent('Cartera Tuya')}`), [ids.agreed, ids.handoff].sort());
      assert.deepEqual(await idsOf('handoff=true'), [ids.handoff]);
      assert.equal((await idsOf('handoff=false')).length, 3);
      const since = new Date(Date.parse(TEST_NOW) - 45 * 60_000).toISOString();
      assert.deepEqual(await idsOf(`from=${encodeURIComponent(since)}`), [ids.anonymous, ids.handoff].sort());
      const until = new Date(Date.parse(TEST_NOW) - 45 * 60_000).toISOString();
      assert.deepEqual(await idsOf(`to=${encodeURIComponent(until)}`), [ids.agreed, ids.closed].sort());
      const page = s.conversationListSchema.parse((await get('/api/v1/admin/conversations?limit=1&offset=1')).body);
      assert.equal(page.total, 4);
      assert.deepEqual(page.items.map((c) => c.id), [ids.agreed]);
    });

    it('shows each conversation’s identity verification and failed attempts (Ley 2300 art. 4)', async () => {
      await db.knex('conversations').where({ id: ids.handoff }).update({ context: JSON.stringify({ _identidad: { estado: 'bloqueado', metodo: 'telefono' } }) });
      await db.knex('conversations').where({ id: ids.agreed }).update({ context: JSON.stringify({ _identidad: { estado: 'verificado', metodo: 'canal' } }) });
      const at = new Date(TEST_NOW);
      const attempt = (outcome: string) => ({ conversation_id: ids.handoff, channel: 'webchat', user_id: 'v-handoff-1', debtor_id: ids.carlos, method: 'telefono', outcome, created_at: at });
      await db.knex('identity_attempts').insert([attempt('fallido'), attempt('fallido'), attempt('fallido')]);
      try {
        const list = s.conversationListSchema.parse((await get('/api/v1/admin/conversations')).body);
        const byId = new Map(list.items.map((c) => [c.id, c]));
        assert.deepEqual([byId.get(ids.handoff)?.verification, byId.get(ids.handoff)?.failed_attempts], ['bloqueado', 3]);
        assert.deepEqual([byId.get(ids.agreed)?.verification, byId.get(ids.agreed)?.verification_method], ['verificado', 'canal']);
        assert.deepEqual([byId.get(ids.anonymous)?.verification, byId.get(ids.anonymous)?.failed_attempts], [null, 0]);
        const t = s.transcriptSchema.parse((await get(`/api/v1/admin/conversations/${ids.handoff}`)).body);
        assert.equal(t.conversation.verification, 'bloqueado');
      } finally {
        await db.knex('identity_attempts').del();
        await db.knex('conversations').whereIn('id', [ids.handoff, ids.agreed]).update({ context: JSON.stringify({}) });
      }
    });

    it('refuses bad filters with 400', async () => {
      for (const q of ['status=gone', 'from=yesterday', 'handoff=maybe', 'limit=0', 'limit=abc']) {
        const res = await adminFetch(app.base, `/api/v1/admin/conversations?${q}`);
        assert.equal(res.status, 400, q);
        assert.equal(((await res.json()) as { error: string }).error, 'invalid_request');
      }
    });

    it('shows one conversation’s transcript, oldest first, with NLU and states', async () => {
      const { status, body } = await get(`/api/v1/admin/conversations/${ids.agreed}`);
      assert.equal(status, 200);
      const t = s.transcriptSchema.parse(body);
      assert.equal(t.conversation.id, ids.agreed);
      assert.equal(t.messages.length, 6);
      assert.deepEqual(t.messages[0], { ...t.messages[0], direction: 'in', author: 'debtor', text: 'hola', intent: 'saludo', nlu_source: 'model' });
      assert.deepEqual(t.messages[4]!.buttons, [{ id: 'contado', text: 'Pago de contado' }]);
      assert.equal(t.messages[5]!.button_id, 'contado');
      const missing = await adminFetch(app.base, '/api/v1/admin/conversations/00000000-0000-4000-8000-000000000000');
      assert.equal(missing.status, 404);
      assert.equal((await adminFetch(app.base, '/api/v1/admin/conversations/not-a-uuid')).status, 400);
    });
  });

  describe('agreements', () => {
    it('lists agreements with filters and the total amount', async () => {
      const all = s.agreementListSchema.parse((await get('/api/v1/admin/agreements')).body);
      assert.equal(all.total, 2);
      assert.equal(all.total_amount, 86419 + 1800000);
      assert.equal(all.items[0]!.debtor_name, 'CARLOS FAJARDO', 'newest first');
      const cuotas = s.agreementListSchema.parse((await get('/api/v1/admin/agreements?kind=cuotas')).body);
      assert.deepEqual(cuotas.items.map((a) => [a.cedula, a.installments, a.installment_amount, a.first_due_date]), [['52123456', 6, 300000, '2026-12-15']]);
      const recent = s.agreementListSchema.parse((await get(`/api/v1/admin/agreements?from=${encodeURIComponent(new Date(Date.parse(TEST_NOW) - 86400_000).toISOString())}`)).body);
      assert.equal(recent.total, 1);
    });

    it('exports agreements.csv: a header, one line per agreement, quoted and formula-safe', async () => {
      const res = await adminFetch(app.base, '/api/v1/admin/agreements.csv');
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/csv; charset=utf-8/);
      assert.match(res.headers.get('content-disposition') ?? '', /attachment; filename="acuerdos-\d{4}-\d{2}-\d{2}\.csv"/);
      const bytes = new Uint8Array(await res.arrayBuffer());
      assert.deepEqual([...bytes.slice(0, 3)], [0xef, 0xbb, 0xbf], 'a UTF-8 byte-order mark for Excel');
      const lines = new TextDecoder().decode(bytes.slice(3)).split('\r\n');
      assert.equal(
        lines[0],
        'id,created_at,portfolio,cedula,debtor_name,banco,kind,total,installments,installment_amount,first_due_date,channel,status,conversation_id,reference,schedule,paid_amount,next_due_date,next_due_amount',
      );
      assert.equal(lines.length, 4, 'header, two rows, and the final line break');
      assert.equal(lines[3], '');
      // Oldest first: Ana's agreement; her name has a comma and quotes, her bank looks like a formula.
      assert.match(lines[1]!, /,Banco Castigada,52123456,"ANA PÉREZ, ""LA FLACA""",'=BANCO,cuotas,1800000,6,300000,2026-12-15,telegram,vigente,/);
      assert.match(lines[2]!, /,Cartera Tuya,93388915,CARLOS FAJARDO,TUYA S.A.,contado,86419,1,86419,2026-11-28,telegram,vigente,[0-9a-f-]{36},[^,]*,0\/1 pagadas,0,,$/);
      const filtered = await adminFetch(app.base, '/api/v1/admin/agreements.csv?portfolio=Cartera%20Tuya');
      assert.equal((await filtered.text()).trim().split('\r\n').length, 2);
      // Excel as used in Colombia: semicolons, Spanish headers, dd/mm/yyyy, amounts without separators.
      for (const excel of [
        await adminFetch(app.base, '/api/v1/admin/agreements.csv?format=excel-co'),
        await adminFetch(app.base, '/api/v1/admin/agreements.csv', { headers: { 'accept-language': 'es-CO,es;q=0.9,en;q=0.5' } }),
      ]) {
        const text = (await excel.text()).replace(/^\uFEFF/, '').split('\r\n');
        assert.equal(text[0], 'ID;Fecha del acuerdo;Cartera;Cédula;Nombre;Entidad;Tipo;Valor total;Cuotas;Valor cuota;Primer pago;Canal;Estado;Conversación;Referencia;Plan de pagos;Valor pagado;Próximo vencimiento;Valor próximo pago');
        assert.match(text[2]!, /;Cartera Tuya;93388915;CARLOS FAJARDO;TUYA S.A.;contado;86419;1;86419;28\/11\/2026;telegram;vigente;/);
        assert.match(text[1]!, /^\d+;\d{2}\/\d{2}\/\d{4};Banco Castigada;/);
      }
    });
  });

  describe('metrics, funnel, NLU, AI usage', () => {
    before(async () => {
      // Turns as the engine wrapper records them.
      const t = app.ops.turnStats;
      for (let i = 0; i < 6; i++) t.record({ channel: 'telegram', latencyMs: 20, ok: true, source: 'model', confidence: 0.9 });
      t.record({ channel: 'telegram', latencyMs: 40, ok: true, source: 'rules', confidence: 0.3 });
      t.record({ channel: 'webchat', latencyMs: 300, ok: true, source: 'openai', confidence: 0.8 });
      t.record({ channel: 'webchat', latencyMs: 15, ok: true, source: 'cedula', confidence: 1 });
      t.record({ channel: 'webchat', latencyMs: 5, ok: false, source: 'none' });
    });

    it('returns the seed system’s metrics JSON from every instance’s turn counts', async () => {
      const { status, body } = await get('/api/v1/admin/metrics');
      assert.equal(status, 200);
      const m = s.metricsSchema.parse(body);
      assert.equal(m.summary.total_requests, 10);
      assert.equal(m.summary.errors, 1);
      assert.equal(m.summary.error_rate, 0.1);
      assert.equal(m.summary.avg_response_time_ms, (6 * 20 + 40 + 300 + 15 + 5) / 10);
      assert.equal(m.summary.max_response_time_ms, 300);
      // The threshold in force is 0.75 (changed above): the rules turn (0.3) is under it.
      assert.equal(m.summary.low_confidence_rate, Math.round((1 / 9) * 10_000) / 10_000);
      assert.deepEqual(m.system_usage, { ml: 60, rules: 10, openai: 10, cedula: 10, none: 10 });
      assert.equal(m.performance.avg_response_time_ms_by_source.ml, 20);
      assert.equal(m.performance.avg_response_time_ms_by_source.openai, 300);
      assert.deepEqual(m.performance.by_channel.webchat, { requests: 3, errors: 1, avg_response_time_ms: 106.7 });
      assert.deepEqual(m.conversations, { open: 2, handoff: 1, closed: 1, archived: 0, opened_in_window: 4, opened_by_source: { directo: 4 } });
      assert.deepEqual(m.handoffs, { queued: 1, in_window: 1, by_reason: { solicitar_asesor: 1 } });
      assert.deepEqual(m.agreements, { in_window: 1, total_amount: 86419, by_portfolio: { 'Cartera Tuya': 1 } });
      assert.equal(m.openai.calls, 3);
      assert.equal(m.openai.failures, 1);
    });

    it('computes the funnel per portfolio and channel', async () => {
      const f = s.funnelSchema.parse((await get('/api/v1/admin/funnel')).body);
      const row = (portfolio: string | null, channel: string) => f.rows.find((r) => r.portfolio === portfolio && r.channel === channel);
      assert.deepEqual(
        { ...row('Cartera Tuya', 'telegram') },
        { portfolio_id: ids.portfolioId, portfolio: 'Cartera Tuya', channel: 'telegram', conversations: 1, identified: 1, offered: 1, agreements: 1 },
      );
      assert.deepEqual({ ...row('Cartera Tuya', 'webchat') }, { portfolio_id: ids.portfolioId, portfolio: 'Cartera Tuya', channel: 'webchat', conversations: 1, identified: 1, offered: 0, agreements: 0 });
      assert.deepEqual({ ...row(null, 'webchat') }, { portfolio_id: null, portfolio: null, channel: 'webchat', conversations: 1, identified: 0, offered: 0, agreements: 0 });
      // Ana's closed conversation reached informar_deuda only, but recorded an agreement: every earlier stage counts it.
      assert.deepEqual({ ...row('Banco Castigada', 'telegram') }, { portfolio_id: ids.otherPortfolioId, portfolio: 'Banco Castigada', channel: 'telegram', conversations: 1, identified: 1, offered: 1, agreements: 1 });
      // Plans computed at identification (context.planes) are not an offer shown: "offered" counts conversations shown one.
      await db.knex('conversations').where({ id: ids.handoff }).update({ context: JSON.stringify({ planes: [{ tipo: 'contado' }] }) });
      const again = s.funnelSchema.parse((await get('/api/v1/admin/funnel')).body);
      assert.equal(again.rows.find((r) => r.portfolio === 'Cartera Tuya' && r.channel === 'webchat')!.offered, 0);
      await db.knex('conversations').where({ id: ids.handoff }).update({ context: '{}' });
    });

    it('shows NLU sources and the latest low-confidence messages under the threshold in force', async () => {
      const n = s.nluOverviewSchema.parse((await get('/api/v1/admin/nlu')).body);
      assert.equal(n.threshold, 0.75);
      const bySource = Object.fromEntries(n.sources.map((x) => [x.source, x.messages]));
      assert.deepEqual(bySource, { cedula: 3, model: 3, rules: 1, openai: 1 });
      assert.deepEqual(n.low_confidence.map((m) => m.text), ['hola? alguien', 'ola ke ase'], 'newest first, cédulas never');
    });

    it('reports AI usage: totals, per Bogotá day and per model, from llm_calls', async () => {
      const u = s.aiUsageSchema.parse((await get('/api/v1/admin/ai/usage')).body);
      assert.equal(u.totals.calls, 4);
      assert.equal(u.totals.ok, 3);
      assert.equal(u.totals.failed, 1);
      assert.equal(u.totals.tokens_in, 310);
      assert.equal(u.totals.tokens_out, 53);
      assert.ok(Math.abs(u.totals.cost_usd - 0.000431) < 1e-9, String(u.totals.cost_usd));
      assert.deepEqual(u.failures, { timeout: 1 });
      const mini = u.per_model.find((m) => m.model === 'gpt-4o-mini')!;
      assert.deepEqual([mini.calls, mini.tokens_in, mini.failed], [3, 220, 1]);
      const big = u.per_model.find((m) => m.model === 'gpt-4o')!;
      assert.equal(big.cost_usd, 0.000375);
      assert.ok(u.per_day.length >= 1 && u.per_day.length <= 3);
      assert.equal(u.per_day.reduce((n, d) => n + d.calls, 0), 4);
      for (const d of u.per_day) assert.match(d.day, /^\d{4}-\d{2}-\d{2}$/);
      const lastHour = s.aiUsageSchema.parse((await get(`/api/v1/admin/ai/usage?from=${encodeURIComponent(new Date(Date.parse(TEST_NOW) - 3600_000).toISOString())}`)).body);
      assert.equal(lastHour.totals.calls, 3);
    });
  });

  describe('hygiene', () => {
    it('sends security headers on every response, the API’s and the dashboard’s', async () => {
      for (const path of ['/api/v1/admin/session', '/admin/', '/api/v1/chat/test', '/nowhere']) {
        const res = await fetch(app.base + path);
        const csp = res.headers.get('content-security-policy') ?? '';
        assert.match(csp, /default-src 'self'/, path);
        assert.match(csp, /script-src 'self'/, path);
        assert.match(csp, /frame-ancestors 'self'/, path);
        assert.doesNotMatch(csp, /upgrade-insecure-requests/, 'plain http must keep working');
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
        assert.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN', path);
        assert.equal(res.headers.get('cross-origin-resource-policy'), 'cross-origin', 'the widget loads from other sites');
        assert.equal(res.headers.get('x-powered-by'), null);
      }
    });

    it('limits admin requests per IP, with the limit read live from the settings', async () => {
      await adminFetch(app.base, '/api/v1/admin/config', { method: 'PUT', body: JSON.stringify({ rate_limits: { admin_per_ip_per_minute: 3 } }) });
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await adminFetch(app.base, '/api/v1/admin/session')).status);
      // The PUT itself was the first request of this minute's budget of 3 (the limit applies as soon as it is stored).
      assert.ok(statuses.includes(429), statuses.join());
      const limited = await adminFetch(app.base, '/api/v1/admin/session');
      assert.equal(limited.status, 429);
      assert.equal(((await limited.json()) as { error: string }).error, 'rate_limited');
      assert.ok(limited.headers.get('ratelimit-policy') || limited.headers.get('ratelimit'), 'standard RateLimit headers');
      // Wrong tokens are limited too (no brute force).
      assert.equal((await fetch(`${app.base}/api/v1/admin/session`, { headers: { authorization: 'Bearer nope' } })).status, 429);
      await app.ops.settings.update({ rate_limits: { admin_per_ip_per_minute: 0 } });
      assert.equal((await adminFetch(app.base, '/api/v1/admin/session')).status, 200, '0 turns the limit off');
    });
  });
});
