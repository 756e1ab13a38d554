/** Small fixtures for the lifecycle, compliance and campaign tests. */
import { TEST_TIME } from '../support/ports.js';
import type { Knex } from '../../src/store/db.js';
import { parseBogotaDateTime } from '../../src/compliance/index.js';

/** Bogotá wall-clock time → Date ("2026-03-03T10:00"). */
export function bog(local: string): Date {
  const d = parseBogotaDateTime(local);
  if (!d) throw new Error(`bad time ${local}`);
  return d;
}

export async function portfolio(knex: Knex, name = 'Cartera Prueba'): Promise<number> {
  const [row] = (await knex('portfolios').insert({ name, created_at: TEST_TIME, updated_at: TEST_TIME }).returning('id')) as { id: number }[];
  return row!.id;
}

let cedula = 52000000;

export interface SeededDebtor {
  id: number;
  cedula: string;
  phone: string | null;
}

export async function debtor(
  knex: Knex,
  portfolioId: number,
  fields: { phone?: string | null; tier?: string; cedula?: string; name?: string } = {},
): Promise<SeededDebtor> {
  const ced = fields.cedula ?? String(++cedula);
  const phone = fields.phone === undefined ? `57300${ced.slice(-7)}` : fields.phone;
  const [row] = (await knex('debtors')
    .insert({
      portfolio_id: portfolioId,
      cedula: ced,
      nombre_del_cliente: fields.name ?? 'CARLOS FAJARDO',
      saldo_total: 1_000_000,
      banco: 'BANCO DE PRUEBA',
      phone,
      tier: fields.tier ?? 'default',created_at: TEST_TIME, updated_at: TEST_TIME,
    })
    .returning('id')) as { id: number }[];
  return { id: row!.id, cedula: ced, phone };
}

/** A conversation as the engine leaves it. */
export async function conversation(
  knex: Knex,
  fields: { channel: string; userId: string; debtorId?: number | null; tier?: string; lastActivity: Date; status?: string; state?: string },
): Promise<string> {
  const [row] = (await knex('conversations')
    .insert({
      channel: fields.channel,
      user_id: fields.userId,
      debtor_id: fields.debtorId ?? null,
      state: fields.state ?? 'informar_deuda',
      status: fields.status ?? 'open',
      tier: fields.tier ?? 'default',
      opened_at: fields.lastActivity,
      last_activity_at: fields.lastActivity,
    })
    .returning('id')) as { id: string }[];
  return row!.id;
}

/** The debtor wrote to us (direct contact). */
export async function inbound(knex: Knex, conversationId: string, channel: string, at: Date, text = 'hola'): Promise<void> {
  await knex('messages').insert({ conversation_id: conversationId, direction: 'in', author: 'debtor', channel, text, created_at: at });
}
