/**
 * The real engine for the WhatsApp channels' end-to-end tests: a fresh database with
 * the seed's example debtor (mobile on file 573001234567), the shipped flows and policies, the real understander
 * (local model and rules; no OpenAI) and the real outbox.
 */
import { createEngine, type Engine } from '../../../src/engine/engine.js';
import { createOutbox, type Outbox } from '../../../src/engine/outbox.js';
import { loadFlowCatalog } from '../../../src/flows/index.js';
import { createLogger } from '../../../src/log.js';
import { createUnderstander } from '../../../src/nlu/index.js';
import type { Understander } from '../../../src/nlu/types.js';
import { freshDatabase, type TestDatabase } from '../../support/db.js';

export const quietLog = createLogger({ level: 'silent', pretty: false });

/** Monday 23 November 2026, 10:00 in Bogotá: inside contact hours. */
export const MONDAY_MORNING = new Date('2026-11-23T15:00:00Z');

export interface EngineFixture {
  db: TestDatabase;
  engine: Engine;
  outbox: Outbox;
  now: { time: Date };
}

let understander: Promise<Understander> | undefined;

export async function engineFixture(): Promise<EngineFixture> {
  const db = await freshDatabase();
  const [portfolio] = (await db.knex('portfolios')
    .insert({ name: 'Cartera demo', created_at: MONDAY_MORNING, updated_at: MONDAY_MORNING })
    .returning('id')) as { id: number }[];
  // The seed system's example debtor.
  await db.knex('debtors').insert({
    portfolio_id: portfolio!.id,
    cedula: '93388915',
    nombre_del_cliente: 'CARLOS FAJARDO',
    saldo_total: 123456,
    banco: 'COMPAÑÍA DE FINANCIAMIENTO TUYA S.A.',
    oferta_1: 98765,
    oferta_2: 86419,
    hasta_3_cuotas: 111110,
    hasta_6_cuotas: 117283,
    hasta_12_cuotas: 123456,
    // The mobile on file: WhatsApp from this number proves the second identity fact (Ley 2300 art. 4).
    phone: '573001234567',
    created_at: MONDAY_MORNING,
    updated_at: MONDAY_MORNING,
  });
  understander ??= createUnderstander({
    settings: () => ({ confidenceThreshold: 0.6, openaiEnabled: false, maxChars: 2000 }),
    log: quietLog,
  });
  const now = { time: MONDAY_MORNING };
  const clock = { now: () => new Date(now.time) };
  const { flows, policies } = loadFlowCatalog();
  const outbox = createOutbox({ knex: db.knex, log: quietLog, clock });
  const engine = createEngine({ knex: db.knex, understander: await understander, flows, policies, log: quietLog, clock, outbox });
  return { db, engine, outbox, now };
}
