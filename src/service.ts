import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import { createApp } from './http/app.js';
import type { Logger } from './log.js';
import { migrateLatest, openDatabase, type Database, type Knex } from './store/db.js';
import { loadDemoDataIfEmpty } from './store/demo.js';

export interface RunningService {
  /** The URL a person opens, e.g. http://localhost:3000 */
  url: string;
  port: number;
  knex: Knex;
  database: Database;
  server: http.Server;
  close(): Promise<void>;
}

/**
 * Composes the service: database (migrated, demo data when empty), HTTP app, and
 * whatever channels and jobs the configuration enables. Returns once it listens.
 */
export async function startService(config: Config, log: Logger): Promise<RunningService> {
  const database = await openDatabase(config, log);
  const { knex } = database;
  const closers: (() => Promise<void>)[] = [];
  try {
    const applied = await migrateLatest(knex);
    if (applied.length) log.info({ migrations: applied }, 'migrations applied');
    if (config.DEMO_DATA) await loadDemoDataIfEmpty(knex, log);

    const app = createApp({ knex, config, log, routes: [] });
    const server = http.createServer(app);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.PORT, config.HOST, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const url = `http://localhost:${port}`;

    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      knex,
      database,
      server,
      close() {
        closing ??= (async () => {
          server.closeAllConnections();
          await new Promise<void>((resolve) => server.close(() => resolve()));
          for (const close of closers.reverse()) await close().catch((err: unknown) => log.warn({ err }, 'shutdown step failed'));
          await database.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await database.close().catch(() => undefined);
    throw err;
  }
}
