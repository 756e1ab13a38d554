/**
 * Test support for the engine: a fresh database with debtors, an engine over the
 * shipped flows, a settable clock, and a chat driver that reads like a transcript.
 */
import type { Knex } from 'knex';
import { createEngine, type Engine, type EngineOptions, type EngineTurnResult } from '../../../src/engine/engine.js';
import { createOutbox, type Outbox } from '../../../src/engine/outbox.js';
import type { ChannelName, InboundMessage } from '../../../src/core/index.js';
import { loadFlowCatalog } from '../../../src/flows/index.js';
import { createLogger } from '../../../src/log.js';
import type { Understander } from '../../../src/nlu/types.js';
import { freshDatabase, type TestDatabase } from '../../support/db.js';
import { keywordUnderstander } from './keyword-nlu.js';

export const quietLog = createLogger({ level: 'silent', pretty: false });

/** A clock tests move by hand. Starts on Monday 23 November 2026, 10:00 in Bogotá. */
export class TestClock {
  constructor(public time = new Date('2026-11-23T15:00:00Z')) {}
  now = (): Date => new Date(this.time);
  advance(ms: number): void {
    this.time = new Date(this.time.getTime() + ms);
  }
}

export interface DebtorSeed {
  cedula: string;
  nombre?: string;
  saldo?: number;
  banco?: string;
  oferta1?: number | null;
  oferta2?: number | null;
  hasta3?: number | null;
  hasta6?: number | null;
  hasta12?: number | null;
  tier?: string;
  /** The identity facts (Ley 2300 art. 4): the mobile on file, the cédula's issue date, the obligation number. */
  phone?: string | null;
  fechaExpedicion?: string | null;
  numeroObligacion?: string | null;
}

/** The last 4 digits of CARLOS's mobile on file: the answer to the identity question. */
export const CARLOS_DIGITS = '4567';

/** The seed system's example debtor (mobile on file 3001234567). */
export const CARLOS: DebtorSeed = {
  cedula: '93388915',
  nombre: 'CARLOS FAJARDO',
  saldo: 123456,
  banco: 'COMPAÑÍA DE FINANCIAMIENTO TUYA S.A.',
  oferta1: 98765,
  oferta2: 86419,
  hasta3: 111110,
  hasta6: 117283,
  hasta12: 123456,
  phone: '573001234567',
};

/** When the fixtures were loaded: a fixed time (the database stamps no domain time itself). */
const FIXTURES_AT = new Date('2026-11-01T15:00:00Z');

export async function insertPortfolio(knex: Knex, name: string, policy: Record<string, unknown> = {}): Promise<number> {
  const [row] = (await knex('portfolios')
    .insert({ name, policy: JSON.stringify(policy), created_at: FIXTURES_AT, updated_at: FIXTURES_AT })
    .returning('id')) as { id: number }[];
  return (row as { id: number }).id;
}

export async function insertDebtor(knex: Knex, portfolioId: number, d: DebtorSeed): Promise<number> {
  const [row] = (await knex('debtors')
    .insert({
      portfolio_id: portfolioId,
      cedula: d.cedula,
      nombre_del_cliente: d.nombre ?? 'ANA PÉREZ',
      saldo_total: d.saldo ?? 1_000_000,
      banco: d.banco ?? 'BANCO DE PRUEBA S.A.',
      oferta_1: d.oferta1 ?? null,
      oferta_2: d.oferta2 ?? null,
      hasta_3_cuotas: d.hasta3 ?? null,
      hasta_6_cuotas: d.hasta6 ?? null,
      hasta_12_cuotas: d.hasta12 ?? null,
      tier: d.tier ?? 'default',
      phone: d.phone ?? null,
      fecha_expedicion: d.fechaExpedicion ?? null,
      numero_obligacion: d.numeroObligacion ?? null,
      created_at: FIXTURES_AT,
      updated_at: FIXTURES_AT,
    })
    .returning('id')) as { id: number }[];
  return (row as { id: number }).id;
}

export interface EngineFixture {
  db: TestDatabase;
  knex: Knex;
  engine: Engine;
  outbox: Outbox;
  clock: TestClock;
  understander: Understander;
  makeEngine(overrides?: Partial<EngineOptions>): Engine;
}

let catalog: ReturnType<typeof loadFlowCatalog> | undefined;
export function shippedFlows(): ReturnType<typeof loadFlowCatalog> {
  catalog ??= loadFlowCatalog();
  return catalog;
}

export async function engineFixture(options: { understander?: Understander; engine?: Partial<EngineOptions> } = {}): Promise<EngineFixture> {
  const db = await freshDatabase();
  const clock = new TestClock();
  const understander = options.understander ?? keywordUnderstander();
  const { flows, policies } = shippedFlows();
  const outbox = createOutbox({ knex: db.knex, log: quietLog, clock });
  const makeEngine = (overrides: Partial<EngineOptions> = {}) =>
    createEngine({ knex: db.knex, understander, flows, policies, log: quietLog, clock, outbox, ...options.engine, ...overrides });
  return { db, knex: db.knex, engine: makeEngine(), outbox, clock, understander, makeEngine };
}

let counter = 0;

/** Talks to the engine as one channel user; each send is a new delivery id. */
export class Chat {
  last?: EngineTurnResult;
  constructor(
    readonly engine: Engine,
    readonly from = `user-${++counter}`,
    readonly channel: ChannelName = 'api',
    readonly clock: TestClock = new TestClock(),
  ) {}

  async send(text: string, extra: Partial<InboundMessage> = {}): Promise<EngineTurnResult> {
    this.last = await this.engine.handle({
      channel: this.channel,
      from: this.from,
      messageId: `m-${++counter}`,
      text,
      at: this.clock.now(),
      ...extra,
    });
    return this.last;
  }

  /** Gives the cédula, then answers the identity question (Ley 2300 art. 4) like the debtor would. */
  async identify(cedula: string, answer: string): Promise<EngineTurnResult> {
    await this.send(cedula);
    return this.send(answer);
  }

  press(buttonId: string): Promise<EngineTurnResult> {
    return this.send('', { buttonId });
  }

  /** Every reply text of the last turn, joined. */
  get text(): string {
    return (this.last?.replies ?? []).map((r) => r.text).join('\n');
  }

  get buttons(): string[] {
    return (this.last?.replies ?? []).flatMap((r) => r.buttons ?? []).map((b) => b.id);
  }

  get state(): string | undefined {
    return this.last?.state;
  }
}
