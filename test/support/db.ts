import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createLogger } from '../../src/log.js';
import { createKnex, migrateLatest, type Knex } from '../../src/store/db.js';
import { ensureEmbeddedPostgres, type EmbeddedServer } from '../../src/store/embedded.js';

/**
 * The PostgreSQL server the suite runs on: the one DATABASE_URL names (CI's second
 * run, on Debian's PostgreSQL), or an embedded one in a temporary directory.
 * Each test file gets fresh databases cloned from a migrated template.
 */
interface TestServer {
  connectionString(database: string): string;
  embedded?: EmbeddedServer;
  tempDir?: string;
}

const quietLog = createLogger({ level: 'silent', pretty: false });
const TEMPLATE = `acuerdo_tpl_${process.pid}`;
let server: TestServer | undefined;
let templateReady: Promise<void> | undefined;
let counter = 0;
const created = new Set<string>();

function urlWithDatabase(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function testServer(): Promise<TestServer> {
  if (server) return server;
  if (process.env.DATABASE_URL) {
    const base = process.env.DATABASE_URL;
    server = { connectionString: (db) => urlWithDatabase(base, db) };
  } else {
    const tempDir = await fs.mkdtemp(path.join(os.tmpdir(), 'acuerdo-test-'));
    await fs.chmod(tempDir, 0o755);
    const embedded = await ensureEmbeddedPostgres({ dataDir: tempDir, database: 'postgres', log: quietLog });
    server = { connectionString: (db) => embedded.connectionString(db), embedded, tempDir };
  }
  return server;
}

async function adminQuery(sql: string): Promise<void> {
  const srv = await testServer();
  const client = new pg.Client({ connectionString: srv.connectionString('postgres') });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function ensureTemplate(): Promise<void> {
  templateReady ??= (async () => {
    await adminQuery(`drop database if exists ${TEMPLATE}`);
    await adminQuery(`create database ${TEMPLATE}`);
    created.add(TEMPLATE);
    const knex = createKnex((await testServer()).connectionString(TEMPLATE), 2);
    try {
      await migrateLatest(knex);
    } finally {
      await knex.destroy();
    }
  })();
  return templateReady;
}

export interface TestDatabase {
  name: string;
  url: string;
  knex: Knex;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/** A new, empty database with every migration applied. */
export async function freshDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const name = `acuerdo_t_${process.pid}_${++counter}`;
  if (options.migrated ?? true) {
    await ensureTemplate();
    await adminQuery(`create database ${name} template ${TEMPLATE}`);
  } else {
    await adminQuery(`create database ${name}`);
  }
  created.add(name);
  const url = (await testServer()).connectionString(name);
  const knex = createKnex(url, 5);
  return {
    name,
    url,
    knex,
    async drop() {
      await knex.destroy();
      // A role that is not a superuser (CI's Debian run) may not end an autovacuum worker
      // that is in the database just then (42501); it finishes within moments.
      for (let attempt = 1; ; attempt++) {
        try {
          await adminQuery(`drop database if exists ${name} with (force)`);
          break;
        } catch (err) {
          if ((err as { code?: string }).code !== '42501' || attempt === 20) throw err;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      created.delete(name);
    },
  };
}

/** Drops what the run created and stops the embedded server. Called once by the root hook. */
export async function shutdownTestServer(): Promise<void> {
  if (!server) return;
  for (const name of [...created].reverse()) {
    await adminQuery(`drop database if exists ${name} with (force)`).catch(() => undefined);
  }
  if (server.embedded) {
    await server.embedded.release();
    if (server.tempDir) await fs.rm(server.tempDir, { recursive: true, force: true });
  }
  server = undefined;
}
