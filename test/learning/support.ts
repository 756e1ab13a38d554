/** What the learning tests share: a database with the demo debtor, and engines wired as the service wires them. */
import { createEngine, createOutbox, type Engine } from '../../src/engine/index.js';
import { LearningUnderstander, withLearning } from '../../src/learning/index.js';
import { loadIntentModel, type IntentModel, type NluSettings } from '../../src/nlu/index.js';
import type { Knex } from '../../src/store/index.js';
import { CARLOS, insertDebtor, insertPortfolio, quietLog, shippedFlows, TestClock } from '../engine/support/harness.js';

export const SETTINGS: NluSettings = { confidenceThreshold: 0.6, openaiEnabled: false, maxChars: 2000 };

let shipped: Promise<IntentModel> | undefined;
/** The shipped model file, read once. */
export function shippedModel(): Promise<IntentModel> {
  shipped ??= loadIntentModel();
  return shipped;
}

export async function seedCarlos(knex: Knex): Promise<{ portfolioId: number; debtorId: number }> {
  const portfolioId = await insertPortfolio(knex, 'TUYA');
  const debtorId = await insertDebtor(knex, portfolioId, CARLOS);
  return { portfolioId, debtorId };
}

export interface Instance {
  understander: LearningUnderstander;
  engine: Engine;
  stop(): Promise<void>;
}

/** One "service instance": its own understander (polling the revision) and engine, on the shared database. */
export async function startInstance(knex: Knex, clock: TestClock, options: { pollMs?: number } = {}): Promise<Instance> {
  const understander = await LearningUnderstander.create({
    knex,
    log: quietLog,
    base: { settings: () => SETTINGS, log: quietLog, model: await shippedModel() },
    pollMs: options.pollMs ?? 0,
  });
  const { flows, policies } = shippedFlows();
  const outbox = createOutbox({ knex, log: quietLog, clock });
  const engine = withLearning(createEngine({ knex, understander, flows, policies, log: quietLog, clock, outbox }), {
    knex,
    clock,
    log: quietLog,
    outbox,
    threshold: () => SETTINGS.confidenceThreshold,
  });
  return {
    understander,
    engine,
    async stop() {
      understander.stop();
      await outbox.stop();
    },
  };
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}
