import { AcuerdoError, type Clock, type SecretStore } from '../core/index.js';
import type { Knex } from './db.js';

/**
 * Secrets kept in the settings table (key → { secret }), shared by every process on the
 * database. The first getOrCreate stores its generated value; concurrent first calls
 * agree because only the first insert wins and everyone reads the stored row.
 */
export function createSecretStore(knex: Knex, clock: Clock): SecretStore {
  return {
    async getOrCreate(name, generate) {
      await knex('settings')
        .insert({ key: name, value: JSON.stringify({ secret: generate() }), updated_at: clock.now() })
        .onConflict('key')
        .ignore();
      const row = (await knex('settings').where({ key: name }).first('value')) as { value: { secret?: unknown } } | undefined;
      const stored = row?.value.secret;
      if (typeof stored !== 'string' || !stored) throw new SecretStoreError(name);
      return stored;
    },
  };
}

/** The settings row for a secret exists but holds no usable value. */
export class SecretStoreError extends AcuerdoError {
  override name = 'SecretStoreError';
  constructor(readonly key: string) {
    super(`the settings row ${key} holds no usable secret`);
  }
}
