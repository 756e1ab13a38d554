/**
 * Support for the agreement-life tests: a fake Mercado Pago that speaks the documented
 * REST API (Checkout Pro preferences, GET /v1/payments/:id), the SDK's fetch pointed at
 * it, webhook signatures made as Mercado Pago documents them, a capturing channel, and
 * agreements recorded the way the engine records them.
 */
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Knex } from 'knex';
import { buildSchedule } from '../../src/agreements/index.js';
import { Router } from 'express';
import type { Clock, OutboundChannel, Reply } from '../../src/core/index.js';
import { requireAdminToken } from '../../src/http/admin-auth.js';
import { agreementAdminRoutes } from '../../src/http/admin/agreement-routes.js';
import { mountRoutes } from '../../src/http/admin/route.js';

export const FIXTURES = path.join(__dirname, '..', 'fixtures', 'mercadopago');

export interface FakeMercadoPago {
  url: string;
  preferences: Record<string, unknown>[];
  /** Payments the fake knows, by id (the documented payment resource). */
  payments: Map<string, Record<string, unknown>>;
  lookups: string[];
  close(): Promise<void>;
}

/** A payment resource as GET /v1/payments/:id returns it (test/fixtures/mercadopago/payment-approved.json). */
export function paymentResource(over: { id: string; amount: number; externalReference: string; status?: string; approved?: string }): Record<string, unknown> {
  const base = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'payment-approved.json'), 'utf8')) as Record<string, unknown>;
  return {
    ...base,
    id: Number(over.id),
    status: over.status ?? 'approved',
    status_detail: over.status && over.status !== 'approved' ? 'pending_waiting_transfer' : 'accredited',
    transaction_amount: over.amount,
    external_reference: over.externalReference,
    date_approved: over.approved ?? base.date_approved,
  };
}

export async function startFakeMercadoPago(token: string): Promise<FakeMercadoPago> {
  const preferences: Record<string, unknown>[] = [];
  const payments = new Map<string, Record<string, unknown>>();
  const lookups: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.headers.authorization !== `Bearer ${token}`) return send(401, { message: 'invalid_token', error: 'unauthorized', status: 401 });
      const url = new URL(req.url ?? '/', 'http://fake');
      if (req.method === 'POST' && url.pathname.replace(/\/$/, '') === '/checkout/preferences') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        const id = `123456789-pref-${preferences.length + 1}`;
        preferences.push(body);
        return send(201, {
          ...body,
          id,
          collector_id: 123456789,
          init_point: `https://www.mercadopago.com.co/checkout/v1/redirect?pref_id=${id}`,
          sandbox_init_point: `https://sandbox.mercadopago.com.co/checkout/v1/redirect?pref_id=${id}`,
        });
      }
      const m = /^\/v1\/payments\/(\d+)$/.exec(url.pathname);
      if (req.method === 'GET' && m) {
        lookups.push(m[1]!);
        const p = payments.get(m[1]!);
        return p ? send(200, p) : send(404, { message: 'Payment not found', error: 'not_found', status: 404, cause: [] });
      }
      send(404, { message: 'not found', status: 404 });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, preferences, payments, lookups, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/**
 * Points the SDK at the fake: the SDK calls the global fetch with api.mercadopago.com;
 * this rewrites that origin (and only that one). Returns the undo.
 */
export function routeMercadoPagoTo(fakeUrl: string): () => void {
  const original = globalThis.fetch;
  globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.toString() : input.url;
    if (url.startsWith('https://api.mercadopago.com')) return original(fakeUrl + url.slice('https://api.mercadopago.com'.length), init);
    return original(input, init);
  }) as typeof fetch;
  return () => {
    globalThis.fetch = original;
  };
}

/** The x-signature header as Mercado Pago documents it: ts and v1 = HMAC-SHA256(secret, "id:<data.id>;request-id:<x-request-id>;ts:<ts>;"). */
export function signNotification(secret: string, dataId: string, requestId: string, ts: string): string {
  const manifest = `id:${dataId.toLowerCase()};request-id:${requestId};ts:${ts};`;
  return `ts=${ts},v1=${createHmac('sha256', secret).update(manifest).digest('hex')}`;
}

/** A webhook body as Mercado Pago sends it (test/fixtures/mercadopago/webhook-payment.json). */
export function notificationBody(paymentId: string): Record<string, unknown> {
  const body = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'webhook-payment.json'), 'utf8')) as Record<string, unknown>;
  return { ...body, data: { id: paymentId } };
}

/** An outbound channel that records what it was asked to send. */
export function capturingChannel(name: OutboundChannel['name']): OutboundChannel & { sent: { to: string; replies: Reply[] }[] } {
  const sent: { to: string; replies: Reply[] }[] = [];
  return {
    name,
    sent,
    async send(to, replies) {
      sent.push({ to, replies });
    },
  };
}

/** An agreement recorded as the engine records one (row + schedule), with a conversation on `channel`. */
export async function recordAgreement(
  knex: Knex,
  o: { debtorId: number; portfolioId: number; reference: string; total: number; installments: number; firstDueDate: string; channel?: string; userId?: string; at: Date },
): Promise<number> {
  const [conv] = (await knex('conversations')
    .insert({ context: {}, channel: o.channel ?? 'telegram', user_id: o.userId ?? `u-${o.reference}`, debtor_id: o.debtorId, portfolio_id: o.portfolioId, state: 'finalizar_conversacion', status: 'closed', opened_at: o.at, last_activity_at: o.at })
    .returning('id')) as { id: string }[];
  const installmentAmount = Math.ceil(o.total / o.installments);
  const [a] = (await knex('agreements')
    .insert({
      conversation_id: conv!.id,
      debtor_id: o.debtorId,
      portfolio_id: o.portfolioId,
      kind: o.installments > 1 ? 'cuotas' : 'contado',
      total: o.total,
      installments: o.installments,
      installment_amount: installmentAmount,
      first_due_date: o.firstDueDate,
      channel: o.channel ?? 'telegram',
      reference: o.reference,
      status: 'vigente',
      status_changed_at: o.at,
      created_at: o.at,
    })
    .returning('id')) as { id: number }[];
  await knex('agreement_installments').insert(
    buildSchedule({ total: o.total, installments: o.installments, installmentAmount, firstDueDate: o.firstDueDate }).map((i) => ({
      agreement_id: a!.id,
      number: i.number,
      due_date: i.dueDate,
      amount: i.amount,
      paid_amount: 0,
      status: 'pendiente',
      created_at: o.at,
      updated_at: o.at,
    })),
  );
  return a!.id;
}

let cedulas = 52_300_000;

/** A portfolio, its timestamps from the test's clock. */
export async function insertPortfolioAt(knex: Knex, name: string, at: Date): Promise<number> {
  const [row] = (await knex('portfolios').insert({ name, created_at: at, updated_at: at }).returning('id')) as { id: number }[];
  return row!.id;
}

/** A debtor with a phone on file, its timestamps from the test's clock. */
export async function insertDebtorAt(knex: Knex, portfolioId: number, at: Date): Promise<{ id: number; cedula: string }> {
  const cedula = String(++cedulas);
  const [row] = (await knex('debtors')
    .insert({ portfolio_id: portfolioId, cedula, nombre_del_cliente: 'ANA PÉREZ', saldo_total: 1_000_000, banco: 'BANCO DE PRUEBA S.A.', phone: `57300${cedula.slice(-7)}`, created_at: at, updated_at: at })
    .returning('id')) as { id: number }[];
  return { id: row!.id, cedula };
}

/** The admin API's agreement routes behind the admin token, as the admin router mounts them. */
export function agreementAdminRouter(knex: Knex, clock: Clock, token: string): Router {
  const router = Router();
  router.use(requireAdminToken(() => token));
  mountRoutes(router, agreementAdminRoutes({ knex, clock }));
  return router;
}
