import { TEST_NOW, testClock } from '../support/ports.js';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { ROLES, roleAtLeast, type Role } from '../../src/http/admin-auth.js';
import { adminRoutes } from '../../src/http/admin/index.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { ADMIN_TOKEN, adminFetch, seed, startOpsApp, type OpsApp, type SeedIds } from './support.js';
import { PASSWORD, seedPeople, tokenFetch, type PeopleIds } from './people-support.js';

/**
 * The least role of every admin route, as the product defines it. A route missing here
 * is checked against the role it declares (route.role, admin when unstated).
 */
const EXPECTED: Record<string, Role> = {
  'GET /session': 'agent',
  'GET /conversations': 'agent',
  'GET /conversations/:id': 'agent',
  'GET /handoffs': 'agent',
  'POST /handoffs/:id/take': 'agent',
  'POST /handoffs/:id/reply': 'agent',
  'POST /handoffs/:id/release': 'agent',
  'POST /handoffs/:id/close': 'agent',
  'POST /me/password': 'agent',
  'GET /me/tokens': 'agent',
  'POST /me/tokens': 'agent',
  'DELETE /me/tokens/:id': 'agent',
  'GET /agreements': 'supervisor',
  'GET /agreements.csv': 'supervisor',
  'GET /agreements/:id': 'supervisor',
  'GET /agreements-overview': 'supervisor',
  'GET /payments/unmatched': 'supervisor',
  'GET /metrics': 'supervisor',
  'GET /funnel': 'supervisor',
  'GET /nlu': 'supervisor',
  'GET /alerts': 'supervisor',
  'GET /ai/usage': 'supervisor',
  'GET /config': 'admin',
  'PUT /config': 'admin',
  'GET /users': 'admin',
  'POST /users': 'admin',
  'POST /users/:id/disable': 'admin',
  'POST /users/:id/enable': 'admin',
  'POST /users/:id/password': 'admin',
  'DELETE /users/:id/tokens/:token': 'admin',
  'GET /audit': 'admin',
  'GET /audit.csv': 'admin',
  'GET /agency': 'admin',
  'PUT /agency': 'admin',
};

const NO_CONVERSATION = '00000000-0000-4000-8000-000000000000';

describe('people, roles and agencies in the admin API', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let app: OpsApp;
  let ids: SeedIds;
  let people: PeopleIds;
  const clock = testClock(new Date(Date.parse(TEST_NOW) + 30_000));

  before(async () => {
    db = await freshDatabase();
    ids = await seed(db.knex);
    people = await seedPeople(db.knex, ids, clock);
    app = await startOpsApp(db.knex, { clock });
  });
  after(async () => {
    await app?.close();
    await db?.drop();
  });

  const as = (who: keyof PeopleIds['tokens'], path: string, init: RequestInit = {}) => tokenFetch(app.base, people.tokens[who], `/api/v1/admin${path}`, init);

  it('lets each role do only what it may, route by route (401 without credentials, 403 below the route’s role)', async () => {
    const routes = adminRoutes({ knex: db.knex, config: app.config, log: undefined as never, settings: app.ops.settings, handoff: app.ops.handoff, clock, people: app.ops.people });
    const tokenOf: Record<Role, keyof PeopleIds['tokens']> = { agent: 'agentAll', supervisor: 'supervisor', admin: 'admin' };
    const seen: string[] = [];
    for (const route of routes) {
      const key = `${route.method.toUpperCase()} ${route.path}`;
      seen.push(key);
      const least = EXPECTED[key] ?? route.role ?? 'admin';
      assert.equal(route.role ?? 'admin', least, `${key} declares the role the product gives it`);
      // Ids that exist nowhere: a permitted request answers 400/404/409, never changes seeded data.
      const path = route.path.replace(/:id|:token/g, (p) => (/conversations|handoffs/.test(route.path) && p === ':id' ? NO_CONVERSATION : '987654'));
      const init: RequestInit = route.method === 'get' ? {} : { method: route.method.toUpperCase(), body: '{}' };
      // The four requests of a route at once (ids that exist nowhere: they cannot interfere).
      const [anonymous, ...answers] = await Promise.all([fetch(`${app.base}/api/v1/admin${path}`, { method: init.method }), ...ROLES.map((role) => as(tokenOf[role], path, init))]);
      assert.equal(anonymous!.status, 401, `${key} without credentials`);
      await anonymous!.body?.cancel().catch(() => undefined);
      for (const [i, role] of ROLES.entries()) {
        const res = answers[i]!;
        if (roleAtLeast(role, least)) {
          assert.ok(![401, 403].includes(res.status) && res.status < 500, `${key} as ${role}: ${res.status} ${await res.text()}`);
        } else {
          assert.equal(res.status, 403, `${key} as ${role}`);
          assert.equal(((await res.json()) as { error: string }).error, 'forbidden');
        }
        await res.body?.cancel().catch(() => undefined);
      }
    }
    for (const key of Object.keys(EXPECTED)) assert.ok(seen.includes(key), `${key} is still a route`);
  });

  it('keeps an agent to the conversations of their portfolios', async () => {
    const list = (await (await as('agent', '/conversations')).json()) as { items: { id: string; portfolio_id: number | null }[] };
    assert.ok(list.items.length > 0);
    assert.ok(list.items.every((c) => c.portfolio_id === null || c.portfolio_id === ids.portfolioId));
    assert.ok(!list.items.some((c) => c.id === ids.closed), 'the other portfolio’s conversation is not listed');
    assert.equal((await as('agent', `/conversations/${ids.closed}`)).status, 404);
    assert.equal((await as('agentAll', `/conversations/${ids.closed}`)).status, 200);
    const queue = (await (await as('agent', '/handoffs')).json()) as { items: { id: string }[] };
    assert.deepEqual(queue.items.map((c) => c.id), [ids.handoff]);
  });

  it('refuses another agency’s data by every id, with row-level security on', async () => {
    // The second agency's admin sees only its own conversation and queue.
    const list = (await (await as('admin2', '/conversations')).json()) as { total: number; items: { id: string }[] };
    assert.deepEqual(list.items.map((c) => c.id), [people.conversation2]);
    const queue = (await (await as('admin2', '/handoffs')).json()) as { items: { id: string }[] };
    assert.deepEqual(queue.items.map((c) => c.id), [people.conversation2]);
    // Guessing the first agency's ids: as if they did not exist.
    assert.equal((await as('admin2', `/conversations/${ids.handoff}`)).status, 404);
    assert.equal((await as('admin2', `/agreements/${people.agreement1}`)).status, 404);
    assert.equal((await as('admin2', `/handoffs/${ids.handoff}/reply`, { method: 'POST', body: JSON.stringify({ agent: 'x', text: 'hola' }) })).status, 404);
    assert.equal((await as('admin2', `/handoffs/${ids.handoff}/take`, { method: 'POST', body: JSON.stringify({ agent: 'x' }) })).status, 404);
    assert.equal((await as('admin2', `/users/${people.users.agent.id}/disable`, { method: 'POST', body: '{}' })).status, 404);
    const agreements = (await (await as('admin2', '/agreements')).json()) as { items: { id: number }[] };
    assert.deepEqual(agreements.items.map((a) => a.id), [people.agreement2]);
    const users = (await (await as('admin2', '/users')).json()) as { items: { email: string }[] };
    assert.deepEqual(users.items.map((u) => u.email), ['admin@norte.test']);
    // And the other way round.
    assert.equal((await as('admin', `/conversations/${people.conversation2}`)).status, 404);
    assert.equal((await as('supervisor', `/agreements/${people.agreement2}`)).status, 404);
    const mine = (await (await as('admin', '/conversations?limit=500')).json()) as { items: { id: string }[] };
    assert.ok(!mine.items.some((c) => c.id === people.conversation2));
    // Nothing changed on the first agency's conversation.
    const row = await db.knex('conversations').where({ id: ids.handoff }).first('assigned_to');
    assert.equal(row.assigned_to, null);
  });

  it('shows nothing to a connection that has not set its agency, and an agency’s rows once it has', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ bypasses: boolean }>('select rolsuper or rolbypassrls as bypasses from pg_roles where rolname = current_user');
      // A superuser is never held by row security: take the application role, as the service does.
      if (rows[0]!.bypasses) await client.query('set role acuerdo_app');
      const count = async (table: string) => Number((await client.query<{ n: string }>(`select count(*) as n from ${table}`)).rows[0]!.n);
      for (const table of ['conversations', 'messages', 'debtors', 'portfolios', 'agreements', 'audit_log']) assert.equal(await count(table), 0, `${table} without an agency`);
      await client.query(`select set_config('acuerdo.agency_id', '1', false)`);
      assert.equal(await count('conversations'), 4);
      assert.equal(await count('portfolios'), 2);
      await client.query(`select set_config('acuerdo.agency_id', $1, false)`, [String(people.agency2)]);
      assert.equal(await count('conversations'), 1);
      // Writing into another agency is refused too.
      await assert.rejects(client.query(`insert into portfolios (name, created_at, updated_at, agency_id) values ('Intrusa', now(), now(), 1)`), /row-level security/);
    } finally {
      await client.end();
    }
  });

  it('names the agent who took the conversation and signs their replies when the agency wants it', async () => {
    const put = await adminFetch(app.base, '/api/v1/admin/agency', { method: 'PUT', body: JSON.stringify({ reply_signature: 'Le escribe {nombre}, {cargo} de {agencia}.' }) });
    assert.equal(put.status, 200);
    // The agent's own name is recorded, whatever the request says.
    assert.equal((await as('agent', `/handoffs/${ids.handoff}/take`, { method: 'POST', body: JSON.stringify({ agent: 'Otra Persona' }) })).status, 200);
    const reply = await as('agent', `/handoffs/${ids.handoff}/reply`, { method: 'POST', body: JSON.stringify({ agent: 'x', text: 'Con gusto le ayudo.' }) });
    assert.equal(reply.status, 201);
    const transcript = (await (await as('agent', `/conversations/${ids.handoff}`)).json()) as { conversation: { assigned_to: string }; messages: { author: string; text: string }[] };
    assert.equal(transcript.conversation.assigned_to, 'Laura Gómez');
    assert.equal(transcript.messages.at(-1)!.author, 'agent');
    assert.equal(transcript.messages.at(-1)!.text, 'Le escribe Laura, asesora de Agencia de cobranza.\nCon gusto le ayudo.');
    // Without a signature the text goes as written.
    await adminFetch(app.base, '/api/v1/admin/agency', { method: 'PUT', body: JSON.stringify({ reply_signature: null }) });
    await as('agent', `/handoffs/${ids.handoff}/reply`, { method: 'POST', body: JSON.stringify({ agent: 'x', text: 'Quedo atenta.' }) });
    const last = await db.knex('messages').where({ conversation_id: ids.handoff }).orderBy('id', 'desc').first('text');
    assert.equal(last.text, 'Quedo atenta.');
  });

  it('keeps API tokens hashed, usable with the user’s role, and revocable', async () => {
    const created = await as('supervisor', '/me/tokens', { method: 'POST', body: JSON.stringify({ name: 'informe nocturno' }) });
    assert.equal(created.status, 201);
    const { id, token } = (await created.json()) as { id: number; token: string };
    assert.match(token, /^acu_[A-Za-z0-9_-]{40,}$/);
    const row = await db.knex('api_tokens').where({ id }).first();
    assert.equal(row.token_hash, createHash('sha256').update(token).digest('hex'));
    assert.ok(!JSON.stringify(row).includes(token), 'the token itself is not stored');
    assert.equal((await tokenFetch(app.base, token, '/api/v1/admin/metrics')).status, 200);
    assert.equal((await tokenFetch(app.base, token, '/api/v1/admin/config')).status, 403);
    assert.equal((await as('supervisor', `/me/tokens/${id}`, { method: 'DELETE' })).status, 200);
    assert.equal((await tokenFetch(app.base, token, '/api/v1/admin/metrics')).status, 401);
    // A disabled user's tokens stop working.
    const victim = await as('admin', '/users', { method: 'POST', body: JSON.stringify({ email: 'temporal@agencia.test', name: 'Temporal', role: 'agent', password: PASSWORD }) });
    assert.equal(victim.status, 201);
    const temp = (await victim.json()) as { id: number };
    const t2 = await app.ops.people.createApiToken(temp.id, 'x');
    assert.equal((await tokenFetch(app.base, t2.token, '/api/v1/admin/session')).status, 200);
    assert.equal((await as('admin', `/users/${temp.id}/disable`, { method: 'POST', body: '{}' })).status, 200);
    assert.equal((await tokenFetch(app.base, t2.token, '/api/v1/admin/session')).status, 401);
  });

  it('signs in with e-mail and password, locks after repeated failures (by the service’s clock), and needs the CSRF token', async () => {
    const csrf = async () => {
      const res = await fetch(`${app.base}/api/v1/auth/csrf`);
      const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      return { cookie, token: ((await res.json()) as { csrf_token: string }).csrf_token };
    };
    const login = async (password: string, c?: { cookie: string; token: string }) => {
      const pre = c ?? (await csrf());
      return fetch(`${app.base}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: pre.cookie, 'x-csrf-token': pre.token },
        body: JSON.stringify({ email: 'MARIO@agencia.test', password }),
      });
    };
    // No login CSRF token: refused before the password is even looked at.
    const bare = await fetch(`${app.base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'mario@agencia.test', password: PASSWORD }) });
    assert.equal(bare.status, 403);

    const ok = await login(PASSWORD);
    assert.equal(ok.status, 200);
    const setCookie = ok.headers.getSetCookie().find((c) => c.startsWith('acuerdo_session='))!;
    assert.match(setCookie, /HttpOnly/i);
    assert.match(setCookie, /SameSite=Strict/i);
    const session = setCookie.split(';')[0]!;
    const { csrf_token: csrfToken } = (await ok.json()) as { csrf_token: string };
    const withSession = (path: string, init: RequestInit = {}) =>
      fetch(`${app.base}${path}`, { ...init, headers: { cookie: session, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });
    assert.equal((await withSession('/api/v1/admin/handoffs')).status, 200);
    // A change with the session cookie but without its CSRF token is refused.
    const forged = await withSession(`/api/v1/admin/handoffs/${ids.handoff}/take`, { method: 'POST', body: JSON.stringify({ agent: 'x' }) });
    assert.equal(forged.status, 403);
    assert.equal(((await forged.json()) as { error: string }).error, 'csrf_failed');
    const real = await withSession(`/api/v1/admin/handoffs/${ids.handoff}/take`, { method: 'POST', body: JSON.stringify({ agent: 'x' }), headers: { 'x-csrf-token': csrfToken } });
    assert.equal(real.status, 200);

    // Five wrong passwords lock the account; then even the right one is refused.
    for (let i = 1; i <= 4; i++) assert.equal((await login('equivocada-' + i)).status, 401);
    const locked = await login('equivocada-5');
    assert.equal(locked.status, 423);
    assert.equal((await login(PASSWORD)).status, 423);
    clock.advance(14 * 60_000);
    assert.equal((await login(PASSWORD)).status, 423, 'still locked after 14 minutes');
    clock.advance(61_000);
    assert.equal((await login(PASSWORD)).status, 200, 'open again after 15 minutes');

    const out = await withSession('/api/v1/auth/logout', { method: 'POST', body: '{}', headers: { 'x-csrf-token': csrfToken } });
    assert.equal(out.status, 200);
    assert.equal((await withSession('/api/v1/admin/handoffs')).status, 401);

    // A user changes their own password with the current one; the change ends their sessions.
    const again = await login(PASSWORD);
    const cookie2 = again.headers.getSetCookie().find((c) => c.startsWith('acuerdo_session='))!.split(';')[0]!;
    const { csrf_token: csrf2 } = (await again.json()) as { csrf_token: string };
    const change = (current: string) =>
      fetch(`${app.base}/api/v1/admin/me/password`, {
        method: 'POST',
        headers: { cookie: cookie2, 'content-type': 'application/json', 'x-csrf-token': csrf2 },
        body: JSON.stringify({ current_password: current, new_password: 'una-clave-nueva-456' }),
      });
    assert.equal((await change('no-es-la-actual')).status, 403);
    assert.equal((await change(PASSWORD)).status, 200);
    assert.equal((await fetch(`${app.base}/api/v1/admin/handoffs`, { headers: { cookie: cookie2 } })).status, 401, 'the session ended');
    assert.equal((await login(PASSWORD)).status, 401);
    assert.equal((await login('una-clave-nueva-456')).status, 200);
  });

  it('records who did what, when and from where, for admins only, and the database refuses to edit it', async () => {
    const csv = await as('supervisor', '/agreements.csv');
    assert.equal(csv.status, 200);
    await csv.text();
    const res = await as('admin', '/audit?limit=500');
    assert.equal(res.status, 200);
    const { items } = (await res.json()) as { items: { action: string; actor: string; ip: string | null; target: string | null; at: string; details: Record<string, unknown> }[] };
    const find = (action: string, actor: string) => items.find((e) => e.action === action && e.actor === actor);
    assert.ok(find('login', 'mario@agencia.test'), 'a login');
    assert.ok(find('login_failed', 'mario@agencia.test'), 'a failed login');
    assert.ok(find('login_locked', 'mario@agencia.test'), 'a lockout');
    assert.ok(find('export', 'super@agencia.test'), 'an export');
    assert.ok(find('user_change', 'admin@agencia.test'), 'a user change');
    const setting = find('setting_change', 'ADMIN_TOKEN')!;
    assert.deepEqual(setting.details.change, { reply_signature: null });
    const takeover = find('takeover', 'laura@agencia.test')!;
    assert.equal(takeover.target, ids.handoff);
    assert.match(takeover.ip ?? '', /127\.0\.0\.1/);
    const reply = find('reply', 'laura@agencia.test')!;
    assert.deepEqual(reply.details.fields, ['agent', 'text'], 'the fields, never the message');
    assert.ok(!JSON.stringify(items).includes('Con gusto le ayudo'));
    // Another agency's trail is not there; the second agency's own is.
    assert.ok(!items.some((e) => e.actor === 'admin@norte.test'));
    assert.ok(((await (await as('admin2', '/audit')).json()) as { items: { actor: string }[] }).items.every((e) => e.actor === 'admin@norte.test'));
    // Exportable by admins only.
    assert.equal((await as('supervisor', '/audit')).status, 403);
    const exported = await as('admin', '/audit.csv');
    assert.equal(exported.status, 200);
    const bytes = Buffer.from(await exported.arrayBuffer());
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'a byte-order mark for Excel');
    const text = bytes.subarray(3).toString('utf8');
    assert.match(text, /^id,at,actor,actor_role,via,action,target,ip,user_agent,details\r\n/);
    assert.match(text, /laura@agencia\.test,agent,api_token,takeover,/);
    // Never editable, not even by the tables' owner.
    await assert.rejects(db.knex('audit_log').update({ action: 'nada' }), /append-only/);
    await assert.rejects(db.knex('audit_log').del(), /append-only/);
    await assert.rejects(db.knex.raw('truncate audit_log'), /append-only/);
  });

  it('keeps the ADMIN_TOKEN as the default agency’s admin', async () => {
    const res = await fetch(`${app.base}/api/v1/auth/session`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const body = (await res.json()) as { user: { role: string; via: string }; agency: { id: number } };
    assert.equal(body.user.role, 'admin');
    assert.equal(body.user.via, 'admin_token');
    assert.equal(body.agency.id, 1);
  });
});

describe('the routers mounted beside the admin API keep to their roles too', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let ops: import('../../src/ops/index.js').Ops;
  let server: import('node:http').Server;
  let base: string;
  let people: PeopleIds;

  before(async () => {
    const http = await import('node:http');
    const { loadConfig } = await import('../../src/core/index.js');
    const { createLogger } = await import('../../src/log.js');
    const { startOps } = await import('../../src/ops/index.js');
    const { createApp } = await import('../../src/http/app.js');
    const { operationsRoutes } = await import('../../src/http/admin/index.js');
    const { createKnowledgeRouter, DOCUMENTS_PATH } = await import('../../src/http/knowledge-routes.js');
    const { createLearningRouter, LEARNING_PATH } = await import('../../src/http/learning-routes.js');
    const { createSchedulerAdminRouter, SCHEDULER_ADMIN_PATH } = await import('../../src/http/scheduler-routes.js');
    db = await freshDatabase();
    const ids = await seed(db.knex);
    const clock = testClock(new Date(Date.parse(TEST_NOW) + 30_000));
    people = await seedPeople(db.knex, ids, clock);
    const config = loadConfig({ ADMIN_TOKEN });
    const log = createLogger({ level: 'silent', pretty: false });
    ops = await startOps({ knex: db.knex, config, log, clock, settingsRefreshMs: 0, statsFlushMs: 0, alertsEveryMs: 0 });
    const adminToken = () => config.ADMIN_TOKEN;
    const app = createApp({
      knex: db.knex,
      config,
      log,
      clock,
      routes: [
        // Never run here: agents and supervisors are stopped before the scheduler is asked anything.
        { path: SCHEDULER_ADMIN_PATH, router: createSchedulerAdminRouter({ scheduler: undefined as never, enabled: false, adminToken }) },
        { path: DOCUMENTS_PATH, router: createKnowledgeRouter({ knex: db.knex, clock, log, adminToken, embedder: () => undefined }) },
        { path: LEARNING_PATH, router: createLearningRouter({ knex: db.knex, clock, log, adminToken, nluSettings: () => ops.settings.nlu(), openai: () => undefined }) },
        ...operationsRoutes({ knex: db.knex, config, log, clock, ops }),
      ],
    });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await ops?.stop();
    await db?.drop();
  });

  // Every route these routers serve (their files' headers), with the least role each needs.
  const ROUTES: [string, string, Role][] = [
    ['GET', '/api/v1/admin/documents', 'supervisor'],
    ['POST', '/api/v1/admin/documents', 'supervisor'],
    ['GET', '/api/v1/admin/documents/questions', 'supervisor'],
    ['PATCH', '/api/v1/admin/documents/987654', 'supervisor'],
    ['DELETE', '/api/v1/admin/documents/987654', 'supervisor'],
    ['GET', '/api/v1/admin/learning/ratings', 'supervisor'],
    ['GET', '/api/v1/admin/learning/inbox', 'supervisor'],
    ['POST', '/api/v1/admin/learning/inbox/987654', 'supervisor'],
    ['GET', '/api/v1/admin/learning/models', 'supervisor'],
    ['POST', '/api/v1/admin/learning/models/train', 'supervisor'],
    ['POST', '/api/v1/admin/learning/models/987654/activate', 'supervisor'],
    ['POST', '/api/v1/admin/learning/models/rollback', 'supervisor'],
    ['GET', '/api/v1/admin/learning/dictionary', 'supervisor'],
    ['POST', '/api/v1/admin/learning/dictionary', 'supervisor'],
    ['PUT', '/api/v1/admin/learning/dictionary/987654', 'supervisor'],
    ['DELETE', '/api/v1/admin/learning/dictionary/987654', 'supervisor'],
    ['GET', '/api/v1/admin/learning/dictionary/history', 'supervisor'],
    ['POST', '/api/v1/admin/learning/finetune/export', 'supervisor'],
    ['GET', '/api/v1/admin/learning/finetune/export.jsonl', 'supervisor'],
    ['GET', '/api/v1/admin/learning/finetune/jobs', 'supervisor'],
    ['POST', '/api/v1/admin/learning/finetune/jobs', 'supervisor'],
    ['POST', '/api/v1/admin/learning/finetune/jobs/poll', 'supervisor'],
    ['POST', '/api/v1/admin/learning/finetune/jobs/987654/use', 'supervisor'],
    ['POST', '/api/v1/admin/learning/finetune/fallback/reset', 'supervisor'],
    ['GET', '/api/v1/admin/learning/debts/987654', 'supervisor'],
    ['GET', '/api/v1/admin/scheduler-status', 'admin'],
    ['POST', '/api/v1/admin/process-timeouts', 'admin'],
  ];

  it('refuses each route to the roles below it, and to nobody with credentials at or above it', async () => {
    for (const [method, path, least] of ROUTES) {
      const init = method === 'GET' ? {} : { method, body: '{}' };
      // A permitted write is not sent: it would train a model or change the dictionary.
      const pairs = (
        [
          ['agent', 'agentAll'],
          ['supervisor', 'supervisor'],
        ] as const
      ).filter(([role]) => method === 'GET' || !roleAtLeast(role, least));
      const [anonymous, ...answers] = await Promise.all([fetch(base + path, { method }), ...pairs.map(([, who]) => tokenFetch(base, people.tokens[who], path, init))]);
      assert.equal(anonymous!.status, 401, `${method} ${path} without credentials`);
      await anonymous!.body?.cancel().catch(() => undefined);
      for (const [i, [role]] of pairs.entries()) {
        const res = answers[i]!;
        if (roleAtLeast(role, least)) {
          if (method === 'GET') assert.ok(![401, 403].includes(res.status) && res.status < 500, `${method} ${path} as ${role}: ${res.status}`);
        } else {
          assert.equal(res.status, 403, `${method} ${path} as ${role}`);
        }
        await res.body?.cancel().catch(() => undefined);
      }
    }
  });
});

describe('another agency’s documents', function () {
  this.timeout(60_000);
  it('keeps a document uploaded by one agency out of the other’s list, multipart upload included', async () => {
    const http = await import('node:http');
    const { loadConfig } = await import('../../src/core/index.js');
    const { createLogger } = await import('../../src/log.js');
    const { startOps } = await import('../../src/ops/index.js');
    const { createApp } = await import('../../src/http/app.js');
    const { operationsRoutes } = await import('../../src/http/admin/index.js');
    const { createKnowledgeRouter, DOCUMENTS_PATH } = await import('../../src/http/knowledge-routes.js');
    const db = await freshDatabase();
    const clock = testClock(new Date(Date.parse(TEST_NOW) + 30_000));
    const people = await seedPeople(db.knex, await seed(db.knex), clock);
    const config = loadConfig({ ADMIN_TOKEN });
    const log = createLogger({ level: 'silent', pretty: false });
    const ops = await startOps({ knex: db.knex, config, log, clock, settingsRefreshMs: 0, statsFlushMs: 0, alertsEveryMs: 0 });
    const app = createApp({
      knex: db.knex,
      config,
      log,
      clock,
      routes: [
        { path: DOCUMENTS_PATH, router: createKnowledgeRouter({ knex: db.knex, clock, log, adminToken: () => ADMIN_TOKEN, embedder: () => undefined }) },
        ...operationsRoutes({ knex: db.knex, config, log, clock, ops }),
      ],
    });
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`;
    try {
      const form = new FormData();
      form.append('file', new Blob(['Horario de atención: lunes a viernes de 8 a. m. a 5 p. m.'], { type: 'text/plain' }), 'horario.txt');
      const up = await fetch(base + DOCUMENTS_PATH, { method: 'POST', body: form, headers: { authorization: `Bearer ${people.tokens.admin2}` } });
      assert.equal(up.status, 201);
      const { document } = (await up.json()) as { document: { id: number } };
      const list = async (who: keyof PeopleIds['tokens']) => ((await (await tokenFetch(base, people.tokens[who], DOCUMENTS_PATH)).json()) as { documents: { id: number }[] }).documents.map((d) => d.id);
      assert.deepEqual(await list('admin2'), [document.id]);
      assert.deepEqual(await list('supervisor'), []);
      // Deleting it from the other agency touches nothing (the row is not there for it).
      await tokenFetch(base, people.tokens.supervisor, `${DOCUMENTS_PATH}/${document.id}`, { method: 'DELETE' });
      assert.deepEqual(await list('admin2'), [document.id], 'still there');
      const audit = (await (await tokenFetch(base, people.tokens.admin2, '/api/v1/admin/audit')).json()) as { items: { action: string }[] };
      assert.ok(audit.items.some((e) => e.action === 'document_upload'));
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ops.stop();
      await db.drop();
    }
  });
});
