import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Clock, Config } from '../core/index.js';
import type { Logger } from '../log.js';
import { throttled } from '../log-throttle.js';
import { ensureEmbeddedPostgres, type EmbeddedServer } from './embedded.js';
import { DEFAULT_AGENCY_ID, prepareConnection, withAgencyPools } from './agency.js';
import { superviseDatabase, type Supervisor } from './supervisor.js';

export type { Knex };

// COP amounts and ids are bigint; every value we store fits in a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number.parseFloat(v));
// A date column is a calendar date; keep it as 'YYYY-MM-DD', never shift it by a time zone.
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);

export const MIGRATIONS_DIR = path.resolve(__dirname, '..', '..', 'migrations');

const migrationConfig: Knex.MigratorConfig = {
  directory: MIGRATIONS_DIR,
  loadExtensions: ['.ts'],
  tableName: 'knex_migrations',
};

/** An open database: the knex instance and, with the embedded default, its server. */
export interface Database {
  knex: Knex;
  /** Where it is, for humans: never contains the password. */
  description: string;
  embedded?: EmbeddedServer;
  /** The connection string of another database on the same server (a scratch database for flow tests). */
  urlFor(database: string): string;
  /** Watches the server: its state, and (embedded) its restarts. */
  supervisor: Supervisor;
  close(): Promise<void>;
}

/** How the database is watched; tests shorten the pauses. */
export interface SupervisionOptions {
  /** Called when the embedded server cannot be brought back (default: exit with status 1). */
  onFatal?: (reason: string) => void;
  checkMs?: number;
  maxAttempts?: number;
  backoffMs?: number;
  /** The service's clock, for when the database went down. */
  clock?: Clock;
}

/** The process gives up so that its manager (systemd, Docker, Kubernetes) starts it again. */
function exitForRestart(log: Logger): (reason: string) => void {
  return (reason) => {
    log.fatal({ reason }, 'exiting with status 1 so that the process manager restarts acuerdo');
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 200).unref();
  };
}

/** A `select 1` through the pool, a few times: the first may meet a connection the old server left. */
async function poolAnswers(knex: Knex): Promise<boolean> {
  for (let i = 0; i < 3; i++) if (await pingDatabase(knex)) return true;
  return false;
}

/**
 * The service's knex: the default agency's pool, and inside runInAgency that agency's
 * own row-security-bound pool (see src/store/agency.ts). Every connection sets its agency
 * when it is created.
 */
export function createKnex(connectionString: string, poolMax = 10, log?: Logger): Knex {
  const pool = (agencyId: number, enforce: boolean, max: number) => ({
    min: 0,
    max,
    idleTimeoutMillis: 30_000,
    afterCreate: (conn: Parameters<typeof prepareConnection>[0], done: (err: unknown, conn: unknown) => void) => {
      prepareConnection(conn, agencyId, enforce).then(
        () => done(null, conn),
        (err: unknown) => done(err, conn),
      );
    },
  });
  return withAgencyPools(createPlainKnex(connectionString, pool(DEFAULT_AGENCY_ID, false, poolMax), log), (agencyId) =>
    createPlainKnex(connectionString, pool(agencyId, true, Math.min(poolMax, 4)), log),
  );
}

function createPlainKnex(connectionString: string, pool: Knex.PoolConfig, log?: Logger): Knex {
  return knexFactory({
    // knex prints pool and connection trouble to the console unless given a logger.
    log: {
      // While the server is down every acquire fails: one line every 10 s, with the count of the others.
      warn: throttled((suppressed, message: unknown) => log?.warn({ knex: message, suppressed }, 'database warning')),
      error: throttled((suppressed, message: unknown) => log?.error({ knex: message, suppressed }, 'database error')),
      deprecate: (message: unknown) => log?.debug({ knex: message }, 'database deprecation'),
      debug: (message: unknown) => log?.debug({ knex: message }, 'database debug'),
    },
    client: 'pg',
    connection: { connectionString, application_name: 'acuerdo' },
    pool,
    acquireConnectionTimeout: 10_000,
  });
}

function describe(connectionString: string): string {
  const url = new URL(connectionString);
  url.password = url.password ? '***' : '';
  return url.toString();
}

/**
 * Opens the database named by DATABASE_URL or, without it, the embedded PostgreSQL
 * under DATA_DIR (starting it, or joining the one another acuerdo process runs).
 */
export async function openDatabase(config: Config, log: Logger, supervision: SupervisionOptions = {}): Promise<Database> {
  const watch = { checkMs: supervision.checkMs, maxAttempts: supervision.maxAttempts, backoffMs: supervision.backoffMs, clock: supervision.clock, onFatal: supervision.onFatal ?? exitForRestart(log), log };
  if (config.DATABASE_URL) {
    const knex = createKnex(config.DATABASE_URL, config.DATABASE_POOL_MAX, log);
    const base = config.DATABASE_URL;
    const supervisor = superviseDatabase({ ...watch, what: describe(base), alive: () => pingDatabase(knex), ready: () => poolAnswers(knex) });
    return {
      knex,
      description: describe(base),
      urlFor(database) {
        const url = new URL(base);
        url.pathname = `/${database}`;
        return url.toString();
      },
      supervisor,
      async close() {
        supervisor.stop();
        await knex.destroy();
      },
    };
  }
  const server = await ensureEmbeddedPostgres({
    dataDir: config.dataDir,
    port: config.EMBEDDED_PG_PORT,
    database: 'acuerdo',
    log,
  });
  const knex = createKnex(server.connectionString('acuerdo'), config.DATABASE_POOL_MAX, log);
  const description = `embedded PostgreSQL at 127.0.0.1:${server.port} (${server.dataDir})`;
  const supervisor = superviseDatabase({ ...watch, what: description, alive: () => server.alive(), restart: () => server.restart(), ready: () => poolAnswers(knex) });
  return {
    knex,
    embedded: server,
    urlFor: (database) => server.connectionString(database),
    description,
    supervisor,
    async close() {
      supervisor.stop();
      await knex.destroy();
      await server.release();
    },
  };
}

/** Applies every pending migration; returns the names applied. */
export async function migrateLatest(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest(migrationConfig)) as [number, string[]];
  return applied;
}

/** Rolls back the last batch of migrations (or all of them); returns the names undone. */
export async function migrateRollback(knex: Knex, all = false): Promise<string[]> {
  const [, undone] = (await knex.migrate.rollback(migrationConfig, all)) as [number, string[]];
  return undone;
}

export async function migrationStatus(knex: Knex): Promise<{ completed: string[]; pending: string[] }> {
  const [completed, pending] = (await knex.migrate.list(migrationConfig)) as [
    { name: string }[],
    { file: string }[],
  ];
  return { completed: completed.map((m) => m.name), pending: pending.map((m) => m.file) };
}

/** True when the database answers a trivial query within the timeout. */
export async function pingDatabase(knex: Knex, timeoutMs = 2000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      knex.raw('select 1'),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
