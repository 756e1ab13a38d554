import 'dotenv/config';
import { loadConfig, type Config } from '../core/index.js';
import { systemClock, type Clock } from '../core/index.js';
import { createLogger, setLogger, type Logger } from '../log.js';
import { migrateLatest, openDatabase, type Database, type Knex } from '../store/index.js';

export interface CommandContext {
  config: Config;
  knex: Knex;
  log: Logger;
  /** The clock a command reads "now" from, as the service does. */
  clock: Clock;
  database: Database;
}

/** The CLI's logger: terse and human on a terminal, warnings and up by default. */
export function cliLogger(config: Config): Logger {
  const logger = createLogger({
    level: process.env.LOG_LEVEL ? config.LOG_LEVEL : 'warn',
    pretty: config.LOG_PRETTY ?? Boolean(process.stderr.isTTY),
    destination: process.stderr,
  });
  setLogger(logger);
  return logger;
}

/**
 * Runs a command against the service's database: DATABASE_URL, or the embedded
 * PostgreSQL under DATA_DIR, joining the running service's server or starting one.
 */
export async function withDatabase<T>(
  fn: (ctx: CommandContext) => Promise<T>,
  options: { migrate?: boolean } = {},
): Promise<T> {
  const config = loadConfig();
  const log = cliLogger(config);
  const db = await openDatabase(config, log);
  try {
    if (options.migrate ?? true) await migrateLatest(db.knex);
    return await fn({ config, knex: db.knex, log, clock: systemClock, database: db });
  } finally {
    await db.close();
  }
}

/** Reports a command's failure on stderr and makes the process exit non-zero. */
export function fail(message: string): void {
  process.stderr.write(`${message}\n`);
  process.exitCode = 1;
}
