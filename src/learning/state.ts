/**
 * learning_state: one row whose revision rises with every change an instance must pick up
 * (an activated or rolled-back model version, a dictionary change, the fallback's model).
 * Every instance polls the revision (one indexed read of one row) and reloads when it moved.
 */
import type { Knex } from '../store/index.js';

export interface LearningState {
  revision: string;
  active_model_id: number | null;
  dictionary_version: number;
  fallback_model: string | null;
  updated_by: string | null;
  updated_at: Date | null;
}

export async function readState(db: Knex | Knex.Transaction): Promise<LearningState> {
  const row = (await db('learning_state')
    .where({ id: 1 })
    .first(db.raw('revision::text as revision'), 'active_model_id', 'dictionary_version', 'fallback_model', 'updated_by', 'updated_at')) as LearningState | undefined;
  return row ?? { revision: '0', active_model_id: null, dictionary_version: 0, fallback_model: null, updated_by: null, updated_at: null };
}

/** Applies `values` to the one state row (creating it) and raises its revision, in the caller's transaction. */
export async function bumpRevision(
  trx: Knex.Transaction,
  now: Date,
  by: string,
  values: Partial<Pick<LearningState, 'active_model_id' | 'dictionary_version' | 'fallback_model'>> = {},
): Promise<void> {
  await trx('learning_state')
    .insert({ id: 1, revision: 1, dictionary_version: 0, ...values, updated_by: by, updated_at: now })
    .onConflict('id')
    .merge({ ...values, updated_by: by, updated_at: now, revision: trx.raw('learning_state.revision + 1') });
}
