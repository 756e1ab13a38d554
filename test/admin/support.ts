import { TEST_NOW, testClock } from '../support/ports.js';
import type { Clock } from '../../src/core/index.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../src/core/index.js';
import { createApp } from '../../src/http/app.js';
import { createChatRateLimiter, operationsRoutes } from '../../src/http/admin/index.js';
import { createLogger, type Logger } from '../../src/log.js';
import { startOps, type Ops } from '../../src/ops/index.js';
import type { Knex } from '../../src/store/db.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/** A logger whose JSON lines the test can read. */
export function collectingLogger(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const log = createLogger({ level: 'debug', pretty: false, destination });
  return {
    log,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export interface SeedIds {
  portfolioId: number;
  otherPortfolioId: number;
  carlos: number;
  ana: number;
  /** open, identified, offered, agreement (telegram). */
  agreed: string;
  /** open, anonymous (webchat). */
  anonymous: string;
  /** with a person (webchat), waiting since 10 minutes. */
  handoff: string;
  /** closed, identified (telegram), other portfolio. */
  closed: string;
}

/**
 * A small, realistic data set: two portfolios, conversations in each status with
 * messages carrying NLU results, one agreement, OpenAI audit rows and turn statistics.
 */
export async function seed(knex: Knex, now = new Date(TEST_NOW)): Promise<SeedIds> {
  const ago = (minutes: number) => new Date(now.getTime() - minutes * 60_000);
  const [p1] = (await knex('portfolios').insert({ name: 'Cartera Tuya', created_at: now, updated_at: now }).returning('id')) as { id: number }[];
  const [p2] = (await knex('portfolios').insert({ name: 'Banco Castigada', created_at: now, updated_at: now }).returning('id')) as { id: number }[];
  const [carlos] = (await knex('debtors')
    .insert({ portfolio_id: p1!.id, cedula: '93388915', nombre_del_cliente: 'CARLOS FAJARDO', saldo_total: 123456, banco: 'TUYA S.A.', oferta_1: 98765, oferta_2: 86419, phone: '3001234567', created_at: now, updated_at: now })
    .returning('id')) as { id: number }[];
  const [ana] = (await knex('debtors')
    .insert({ portfolio_id: p2!.id, cedula: '52123456', nombre_del_cliente: 'ANA PÉREZ, "LA FLACA"', saldo_total: 2500000, banco: '=BANCO', tier: 'vip', created_at: now, updated_at: now })
    .returning('id')) as { id: number }[];

  const conv = async (row: Record<string, unknown>) =>
    ((await knex('conversations').insert(row).returning('id')) as { id: string }[])[0]!.id;
  const agreed = await conv({
    channel: 'telegram', user_id: '777001', state: 'finalizar_conversacion', status: 'open', debtor_id: carlos!.id, portfolio_id: p1!.id,
    opened_at: ago(60), last_activity_at: ago(5), message_count: 6,
  });
  const anonymous = await conv({ channel: 'webchat', user_id: 'v-anon-1', state: 'inicial', status: 'open', opened_at: ago(30), last_activity_at: ago(2), message_count: 2 });
  const handoff = await conv({
    channel: 'webchat', user_id: 'v-handoff-1', state: 'transferir_asesor', status: 'handoff', debtor_id: carlos!.id, portfolio_id: p1!.id,
    opened_at: ago(40), last_activity_at: ago(10), handoff_at: ago(10), handoff_reason: 'solicitar_asesor', message_count: 5, fallback_count: 2,
  });
  const closed = await conv({
    channel: 'telegram', user_id: '777002', state: 'informar_deuda', status: 'closed', debtor_id: ana!.id, portfolio_id: p2!.id,
    opened_at: ago(300), last_activity_at: ago(200), closed_at: ago(100), close_reason: 'timeout', message_count: 3,
  });

  const msg = (conversation_id: string, channel: string, minutesAgo: number, m: Record<string, unknown>) => ({
    conversation_id, channel, created_at: ago(minutesAgo), direction: 'in', author: 'debtor', ...m,
  });
  await knex('messages').insert([
    msg(agreed, 'telegram', 59, { external_id: 't1', text: 'hola', intent: 'saludo', confidence: 0.93, nlu_source: 'model', previous_state: 'inicial', next_state: 'inicial' }),
    msg(agreed, 'telegram', 59, { direction: 'out', author: 'bot', text: '¡Hola! ¿Me regala su cédula?', previous_state: 'inicial', next_state: 'inicial' }),
    msg(agreed, 'telegram', 58, { external_id: 't2', text: '93388915', intent: 'identificacion', confidence: 1, nlu_source: 'cedula', previous_state: 'inicial', next_state: 'informar_deuda' }),
    msg(agreed, 'telegram', 57, { external_id: 't3', text: 'que opciones hay', intent: 'solicitud_plan', confidence: 0.81, nlu_source: 'model', previous_state: 'informar_deuda', next_state: 'proponer_planes_pago' }),
    msg(agreed, 'telegram', 57, { direction: 'out', author: 'bot', text: 'Tiene estas opciones', buttons: JSON.stringify([{ id: 'contado', text: 'Pago de contado' }]), previous_state: 'informar_deuda', next_state: 'proponer_planes_pago' }),
    msg(agreed, 'telegram', 56, { external_id: 't4', button_id: 'contado', previous_state: 'proponer_planes_pago', next_state: 'finalizar_conversacion' }),
    msg(anonymous, 'webchat', 3, { external_id: 'w1', text: 'ola ke ase', intent: 'fuera_de_tema', confidence: 0.31, nlu_source: 'rules', previous_state: 'inicial', next_state: 'inicial' }),
    msg(handoff, 'webchat', 12, { external_id: 'a1', text: '93388915', intent: 'identificacion', confidence: 1, nlu_source: 'cedula', previous_state: 'inicial', next_state: 'informar_deuda' }),
    msg(handoff, 'webchat', 11, { external_id: 'a2', text: 'quiero hablar con una persona', intent: 'solicitar_asesor', confidence: 0.88, nlu_source: 'model', previous_state: 'informar_deuda', next_state: 'transferir_asesor' }),
    msg(handoff, 'webchat', 11, { direction: 'out', author: 'bot', text: 'Le comunico con un asesor', previous_state: 'informar_deuda', next_state: 'transferir_asesor' }),
    msg(handoff, 'webchat', 9, { external_id: 'a3', text: 'hola? alguien', intent: 'saludo', confidence: 0.42, nlu_source: 'openai', previous_state: 'transferir_asesor', next_state: 'transferir_asesor' }),
    msg(closed, 'telegram', 250, { external_id: 't9', text: '52123456', intent: 'identificacion', confidence: 1, nlu_source: 'cedula', previous_state: 'inicial', next_state: 'informar_deuda' }),
  ]);

  await knex('agreements').insert({
    conversation_id: agreed, debtor_id: carlos!.id, portfolio_id: p1!.id, kind: 'contado', total: 86419, installments: 1,
    installment_amount: 86419, first_due_date: '2026-11-28', channel: 'telegram', status: 'vigente', created_at: ago(56),
  });
  await knex('agreements').insert({
    conversation_id: closed, debtor_id: ana!.id, portfolio_id: p2!.id, kind: 'cuotas', total: 1800000, installments: 6,
    installment_amount: 300000, first_due_date: '2026-12-15', channel: 'telegram', status: 'vigente', created_at: ago(3 * 24 * 60),
  });

  await knex('llm_calls').insert([
    { model: 'gpt-4o-mini', tokens_in: 120, tokens_out: 20, latency_ms: 800, status: 'ok', cost_usd: 0.00003, created_at: ago(9) },
    { model: 'gpt-4o-mini', tokens_in: 100, tokens_out: 18, latency_ms: 700, status: 'ok', cost_usd: 0.000026, created_at: ago(26 * 60) },
    { model: 'gpt-4o', tokens_in: 90, tokens_out: 15, latency_ms: 1200, status: 'ok', cost_usd: 0.000375, created_at: ago(8) },
    { model: 'gpt-4o-mini', tokens_in: 0, tokens_out: 0, latency_ms: 8000, status: 'timeout', error: 'timed out', cost_usd: 0, created_at: ago(7) },
  ]);
  return { portfolioId: p1!.id, otherPortfolioId: p2!.id, carlos: carlos!.id, ana: ana!.id, agreed, anonymous, handoff, closed };
}

export interface OpsApp {
  ops: Ops;
  config: Config;
  server: http.Server;
  base: string;
  close(): Promise<void>;
}

/** The HTTP app with the operations routes (and the chat rate limiter in front of `chatRouter`). */
export async function startOpsApp(
  knex: Knex,
  options: { env?: Record<string, string>; log?: Logger; dispatch?: (ids: number[]) => Promise<void>; clock?: Clock; chatRouter?: import('express').Router } = {},
): Promise<OpsApp> {
  const config = loadConfig({ ADMIN_TOKEN, ...options.env });
  const log = options.log ?? createLogger({ level: 'silent', pretty: false });
  // Half a minute after the seed's time: windows that end "now" see the seeded rows and
  // this minute's turn counts, on any real date.
  const clock = options.clock ?? testClock(new Date(Date.parse(TEST_NOW) + 30_000));
  const ops = await startOps({ knex, config, log, dispatch: options.dispatch, clock, settingsRefreshMs: 0, statsFlushMs: 0, alertsEveryMs: 0 });
  const routes = [
    ...(options.chatRouter
      ? [
          { path: '/api/v1/chat', router: createChatRateLimiter(() => ops.settings.current().rate_limits.chat_per_sender_per_minute) },
          { path: '/api/v1/chat', router: options.chatRouter },
        ]
      : []),
    ...operationsRoutes({ knex, config, log, ops, clock }),
  ];
  const app = createApp({ clock, knex, config, log, routes });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    ops,
    config,
    server,
    base,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ops.stop();
    },
  };
}

/** fetch with the admin token. */
export function adminFetch(base: string, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(base + path, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.headers as Record<string, string>) },
  });
}
