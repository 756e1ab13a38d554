import { PeopleStore, createAgency, type User } from '../../src/ops/index.js';
import type { Clock } from '../../src/core/index.js';
import { runInAgency, type Knex } from '../../src/store/index.js';
import type { SeedIds } from './support.js';

export const PASSWORD = 'clave-de-prueba-123';

export interface PeopleIds {
  /** The second agency, with its own portfolio, debtor, conversation in handoff and agreement. */
  agency2: number;
  portfolio2: number;
  conversation2: string;
  agreement2: number;
  /** An agreement of the default agency. */
  agreement1: number;
  users: Record<'admin' | 'supervisor' | 'agent' | 'agentAll' | 'admin2', User>;
  /** An API token per user. */
  tokens: Record<'admin' | 'supervisor' | 'agent' | 'agentAll' | 'admin2', string>;
}

/**
 * On top of the admin seed: a second agency with its own data (written as that agency,
 * so row security accepts it wherever the test runs), and users of both agencies:
 * admin, supervisor, an agent limited to the first portfolio, an agent of every
 * portfolio, and the second agency's admin. Passwords hashed with a low cost: fast tests.
 */
export async function seedPeople(knex: Knex, ids: SeedIds, clock: Clock): Promise<PeopleIds> {
  const now = clock.now();
  const agency2 = (await createAgency(knex, { slug: 'cobros-del-norte', name: 'Cobros del Norte' }, now)).id;
  const other = await runInAgency(agency2, async () => {
    const [p] = (await knex('portfolios').insert({ name: 'Norte Cartera', created_at: now, updated_at: now }).returning('id')) as { id: number }[];
    const [d] = (await knex('debtors')
      .insert({ portfolio_id: p!.id, cedula: '80111222', nombre_del_cliente: 'PEDRO NORTE', saldo_total: 500000, banco: 'NORTE', created_at: now, updated_at: now })
      .returning('id')) as { id: number }[];
    const [c] = (await knex('conversations')
      .insert({
        channel: 'webchat', user_id: 'v-norte-1', state: 'transferir_asesor', status: 'handoff', debtor_id: d!.id, portfolio_id: p!.id,
        opened_at: now, last_activity_at: now, handoff_at: now, handoff_reason: 'solicitar_asesor', message_count: 1,
      })
      .returning('id')) as { id: string }[];
    const [a] = (await knex('agreements')
      .insert({
        conversation_id: c!.id, debtor_id: d!.id, portfolio_id: p!.id, kind: 'contado', total: 400000, installments: 1,
        installment_amount: 400000, first_due_date: '2026-12-01', channel: 'webchat', status: 'vigente', created_at: now,
      })
      .returning('id')) as { id: number }[];
    return { portfolio: p!.id, conversation: c!.id, agreement: a!.id };
  });
  const agreement1 = ((await knex('agreements').where({ conversation_id: ids.agreed }).first('id')) as { id: number }).id;

  const people = new PeopleStore({ knex, clock, passwordCost: 4 });
  const add = (email: string, name: string, role: 'admin' | 'supervisor' | 'agent', more: { portfolio_ids?: number[]; agency_id?: number; job_title?: string } = {}) =>
    people.addUser({ email, name, role, password: PASSWORD, ...more });
  const users = {
    admin: await add('admin@agencia.test', 'Ana Admin', 'admin'),
    supervisor: await add('super@agencia.test', 'Sergio Supervisor', 'supervisor'),
    agent: await add('laura@agencia.test', 'Laura Gómez', 'agent', { portfolio_ids: [ids.portfolioId], job_title: 'asesora' }),
    agentAll: await add('mario@agencia.test', 'Mario Ruiz', 'agent'),
    admin2: await add('admin@norte.test', 'Nora Norte', 'admin', { agency_id: agency2 }),
  };
  const tokens = {} as PeopleIds['tokens'];
  for (const [key, user] of Object.entries(users) as [keyof typeof users, User][]) tokens[key] = (await people.createApiToken(user.id, 'tests')).token;
  return { agency2, portfolio2: other.portfolio, conversation2: other.conversation, agreement2: other.agreement, agreement1, users, tokens };
}

/** fetch with a user's API token. */
export function tokenFetch(base: string, token: string, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(base + path, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.headers as Record<string, string>) },
  });
}
