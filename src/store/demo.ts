import path from 'node:path';
import type { Logger } from '../log.js';
import type { Knex } from './db.js';
import { importPortfolio } from './import.js';

/** The fictional demo portfolios loaded into an empty database, so a new user can chat at once. */
export const DEMO_PORTFOLIOS = [
  { portfolio: 'Demo', file: path.join(__dirname, 'demo', 'cartera-demo.csv') },
  { portfolio: 'Demo Castigada', file: path.join(__dirname, 'demo', 'cartera-demo-castigada.csv') },
] as const;

/** Loads the demo portfolios when the database has no portfolio yet. Returns true if it did. */
export async function loadDemoDataIfEmpty(knex: Knex, log: Logger, now: Date): Promise<boolean> {
  const existing = await knex('portfolios').first('id');
  if (existing) return false;
  for (const demo of DEMO_PORTFOLIOS) {
    const result = await importPortfolio(knex, demo.file, { portfolio: demo.portfolio, now });
    log.info({ portfolio: result.portfolio, debtors: result.rows }, 'demo portfolio loaded');
  }
  return true;
}
