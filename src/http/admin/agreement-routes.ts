/**
 * The admin API's view of what follows an agreement (src/agreements): one agreement
 * with its schedule and payments, the payments no agreement matched, and the
 * dashboard's figures. Part of adminRoutes (and so of the OpenAPI document).
 */
import { z } from 'zod';
import { agreementDetail, agreementsOverview, unmatchedPayments } from '../../agreements/index.js';
import type { Clock } from '../../core/index.js';
import type { Knex } from '../../store/index.js';
import { defineRoute, type ApiRoute } from './route.js';
import * as s from './schemas.js';

const unauthorized = { description: 'Missing or wrong Bearer token', schema: s.errorBodySchema };
const invalid = { description: 'The request does not match its schema', schema: s.errorBodySchema };

const installmentSchema = z.object({
  number: z.number().int(),
  due_date: z.string().meta({ format: 'date' }),
  amount: z.number().int(),
  paid_amount: z.number().int(),
  status: z.enum(['pendiente', 'parcial', 'pagada', 'vencida']),
  paid_at: z.string().nullable(),
});
const paymentSchema = z.object({
  id: z.number().int(),
  source: z.enum(['gateway', 'bank_file', 'traslado']).describe('traslado: what a replaced agreement had received, credited to this one'),
  provider: z.string().nullable(),
  external_id: z.string().nullable(),
  amount: z.number().int(),
  unapplied: z.number().int().describe('Pesos beyond the last installment'),
  paid_on: z.string().meta({ format: 'date' }),
  method: z.string().nullable(),
  received_at: z.string(),
  line: z.number().int().nullable().describe("The bank file's line"),
  allocations: z.array(z.object({ installment: z.number().int(), amount: z.number().int() })),
});
export const agreementDetailSchema = z
  .object({
    id: z.number().int(),
    reference: z.string().nullable(),
    status: z.enum(['vigente', 'cumplido', 'incumplido', 'cancelado', 'reemplazado']),
    kind: z.enum(['contado', 'cuotas']),
    total: z.number().int(),
    paid: z.number().int(),
    balance: z.number().int(),
    installments: z.number().int(),
    portfolio: z.string(),
    debtor_name: z.string(),
    cedula: z.string(),
    replaced_by: z.number().int().nullable(),
    replaces: z.array(z.object({ id: z.number().int(), reference: z.string().nullable(), status: z.string() })),
    schedule: z.array(installmentSchema),
    payments: z.array(paymentSchema),
    certificate: z.object({ code: z.string(), issued_at: z.string(), revoked_at: z.string().nullable() }).nullable(),
  })
  .meta({ id: 'AgreementDetail' });

export function agreementAdminRoutes(deps: { knex: Knex; clock: Clock }): ApiRoute[] {
  const { knex } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/agreements/:id',
      summary: 'One agreement with its schedule and payments',
      description: 'The installments (number, due date, amount, paid, status), every payment with its allocation, the agreement it replaced and its paz y salvo.',
      tags: ['agreements'],
      role: 'supervisor',
      params: z.object({ id: z.coerce.number().int().positive() }),
      responses: { 200: { description: 'The agreement', schema: agreementDetailSchema }, 400: invalid, 401: unauthorized, 404: { description: 'No such agreement', schema: s.errorBodySchema } },
      handler: async ({ params, res }) => {
        const detail = await agreementDetail(knex, params.id);
        if (!detail) {
          res.status(404).json({ error: 'not_found', details: `no agreement ${params.id}` });
          return undefined;
        }
        return detail;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/payments/unmatched',
      summary: 'Payments that matched no agreement',
      description: "Gateway payments and bank-file rows whose reference or cédula matched no agreement, newest first, for a person to place.",
      tags: ['agreements'],
      role: 'supervisor',
      query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50), offset: z.coerce.number().int().min(0).default(0) }),
      responses: { 200: { description: 'Unmatched payments' }, 400: invalid, 401: unauthorized },
      handler: async ({ query }) => unmatchedPayments(knex, query),
    }),
    defineRoute({
      method: 'get',
      path: '/agreements-overview',
      summary: 'Promises kept, amount recovered and the broken-promise queue',
      description:
        'promise_keeping: of the installments due so far, the share paid in full by their due date (cumplimiento de promesas); recovered: pesos allocated per portfolio and month; broken_queue: agreements declared incumplido waiting for a supervisor; unmatched_payments.',
      tags: ['agreements'],
      role: 'supervisor',
      responses: { 200: { description: 'The figures' }, 401: unauthorized },
      handler: async () => agreementsOverview(knex, deps.clock.now()),
    }),
  ];
}
