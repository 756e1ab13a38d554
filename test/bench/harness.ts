/**
 * What the benchmarks share: a PostgreSQL of their own (embedded, in a temporary
 * directory, with pg_stat_statements loaded so that statements per turn can be
 * counted), the seeded debtors, the acuerdo server as its own process, the simulated
 * debtors and their conversation mix, and the measurements (/proc CPU, percentiles).
 *
 * Everything is deterministic in setup: the debtors, their balances and the order in
 * which conversations are driven depend only on the settings, never on the time or on
 * chance (the duplicate deliveries are every n-th message).
 */
import { TEST_TIME } from '../support/ports.js';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { createLogger } from '../../src/log.js';
import { createKnex, migrateLatest } from '../../src/store/db.js';
import { ensureEmbeddedPostgres, type EmbeddedServer } from '../../src/store/embedded.js';

export const root = path.resolve(__dirname, '..', '..');
export const env = (name: string, fallback: number): number => (process.env[name] === undefined || process.env[name] === '' ? fallback : Number(process.env[name]));
export const levels = (): number[] => (process.env.BENCH_LEVELS ?? '1,4,16,64,256').split(',').map((s) => Number(s.trim())).filter((n) => n > 0);

// ---------------------------------------------------------------- /proc measurements

/**
 * CPU seconds used so far by a process (Linux /proc; undefined when it is gone), with
 * `reaped` also those of its children that exited and were waited for.
 */
export async function cpuSeconds(pid: number, reaped = false): Promise<number | undefined> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime: fields 14-17 of proc(5), counted from the state (field 3).
    const ticks = Number(fields[11]) + Number(fields[12]) + (reaped ? Number(fields[13]) + Number(fields[14]) : 0);
    return ticks / 100;
  } catch {
    return undefined;
  }
}

async function parentPid(pid: number): Promise<number | undefined> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat === undefined ? undefined : Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/**
 * CPU seconds of a PostgreSQL server: the postmaster, every process it started that is
 * alive (backends, WAL writer, checkpointer…), and those that exited (pgbench's
 * backends end with it), which the postmaster reaped.
 */
export async function postgresCpuSeconds(postmaster: number | undefined): Promise<number> {
  if (postmaster === undefined) return NaN;
  let total = (await cpuSeconds(postmaster, true)) ?? 0;
  for (const entry of await fs.readdir('/proc').catch(() => [] as string[])) {
    if (/^\d+$/.test(entry) && (await parentPid(Number(entry))) === postmaster) total += (await cpuSeconds(Number(entry))) ?? 0;
  }
  return total;
}

/** Resident memory of a process now and at its peak, in MB (VmRSS, VmHWM). */
export async function memoryMb(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

export const loadAverage = (): string => os.loadavg().map((n) => n.toFixed(2)).join(' ');

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Cleanups run when the benchmark is interrupted (Ctrl-C): servers and PostgreSQL stopped, directories removed. */
const cleanups: (() => Promise<void>)[] = [];
export function onInterrupt(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void (async () => {
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
      process.exit(130);
    })();
  });
}

// ---------------------------------------------------------------- PostgreSQL

export interface BenchDatabase {
  url: string;
  /** The embedded server's data directory (its server.log has the captured statements). */
  pgDir?: string;
  postmaster?: number;
  /** pg_stat_statements is loaded: statements per turn can be counted. */
  statements: boolean;
  admin: pg.Client;
  close(): Promise<void>;
}

/**
 * A PostgreSQL for one benchmark: DATABASE_URL (an external server; statements are
 * counted only if pg_stat_statements is loaded there), or an embedded one started in a
 * temporary directory with pg_stat_statements preloaded.
 */
export async function benchDatabase(name: string): Promise<BenchDatabase> {
  const log = createLogger({ level: 'warn', pretty: false });
  let dir: string | undefined;
  let embedded: EmbeddedServer | undefined;
  let url = process.env.DATABASE_URL;
  if (!url) {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), `acuerdo-bench-${name}-`));
    await fs.chmod(dir, 0o755);
    embedded = await ensureEmbeddedPostgres({ dataDir: dir, database: 'bench', log });
    const setup = new pg.Client({ connectionString: embedded.connectionString('bench') });
    await setup.connect();
    // Loaded at start only: set it, then restart the server in the same directory.
    await setup.query(`alter system set shared_preload_libraries = 'pg_stat_statements'`);
    // Top-level statements only: each is one round trip (the inserts inside acuerdo_save_turn are not).
    await setup.query(`alter system set pg_stat_statements.track = '${process.env.BENCH_TRACK ?? 'top'}'`);
    await setup.query(`alter system set max_connections = 400`);
    await setup.end();
    await embedded.stop();
    embedded = await ensureEmbeddedPostgres({ dataDir: dir, database: 'bench', log });
    url = embedded.connectionString('bench');
  }
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const statements = await admin.query('create extension if not exists pg_stat_statements').then(
    () => admin.query('select 1 from pg_stat_statements limit 1').then(() => true),
    () => false,
  );
  const { rows } = await admin.query<{ pid: number }>('select pg_backend_pid() as pid');
  const postmaster = rows[0] ? await parentPid(rows[0].pid) : undefined;
  onInterrupt(async () => {
    await embedded?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });
  return {
    url,
    pgDir: embedded?.dataDir,
    postmaster,
    statements,
    admin,
    async close() {
      await admin.end().catch(() => undefined);
      await embedded?.stop();
      if (dir) await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Statements executed so far (pg_stat_statements), outside this admin connection's own. */
export async function statementCalls(db: BenchDatabase): Promise<number> {
  if (!db.statements) return NaN;
  const { rows } = await db.admin.query<{ n: string }>(
    `select coalesce(sum(calls), 0) as n from pg_stat_statements where query not ilike '%pg_stat_statements%' and query not ilike '%pg_backend_pid%'`,
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * The statements PostgreSQL ran most since the last reset, with calls, mean time and
 * share of the total (BENCH_STATEMENTS=1 prints them after a run): where a turn's round
 * trips and database time go.
 */
export async function topStatements(db: BenchDatabase, limit = 25): Promise<string> {
  if (!db.statements) return '(pg_stat_statements is not loaded)';
  const { rows } = await db.admin.query<{ calls: string; mean: number; share: number; query: string }>(
    `select calls, mean_exec_time as mean, 100 * total_exec_time / nullif(sum(total_exec_time) over (), 0) as share, query
       from pg_stat_statements where query not ilike '%pg_stat_statements%' order by calls desc limit $1`,
    [limit],
  );
  return rows.map((r) => `${String(r.calls).padStart(8)}  ${r.mean.toFixed(3).padStart(7)} ms  ${(r.share ?? 0).toFixed(1).padStart(5)} %  ${r.query.replace(/\s+/g, ' ').slice(0, 160)}`).join('\n');
}

// ---------------------------------------------------------------- debtors

export interface Debtor {
  cedula: string;
  saldo: number;
}

/** The i-th seeded debtor: a cédula, a balance, a mobile ending like the cédula. */
export function debtor(i: number): Debtor {
  return { cedula: String(20_000_017 + i * 13), saldo: 200_000 + ((i * 7919) % 4_800_000) };
}

/** Seeds `count` debtors in one portfolio (acuerdo's schema, migrated here). */
export async function seedAcuerdo(url: string, count: number): Promise<void> {
  const knex = createKnex(url, 2);
  try {
    await migrateLatest(knex);
    await knex.raw('truncate portfolios, conversations, messages, agreements, outbox restart identity cascade');
    const [p] = (await knex('portfolios').insert({ name: 'Bench', created_at: TEST_TIME, updated_at: TEST_TIME }).returning('id')) as { id: number }[];
    const rows = [];
    for (let i = 0; i < count; i++) {
      const { cedula, saldo } = debtor(i);
      rows.push({
        portfolio_id: p?.id,
        cedula,
        nombre_del_cliente: `DEUDOR ${i} PRUEBA`,
        saldo_total: saldo,
        banco: 'BANCO DE PRUEBA S.A.',
        oferta_1: Math.round(saldo * 0.8),
        oferta_2: Math.round(saldo * 0.7),
        hasta_3_cuotas: Math.round(saldo * 0.9),
        hasta_6_cuotas: Math.round(saldo * 0.95),
        hasta_12_cuotas: saldo,
        // The mobile on file ends like the cédula: the identity question's answer.
        phone: `57300${cedula.slice(-7)}`,
        created_at: TEST_TIME,
        updated_at: TEST_TIME,
      });
    }
    await knex.batchInsert('debtors', rows, 1000);
    await knex.raw('analyze');
  } finally {
    await knex.destroy();
  }
}

/** The peer's database (BuilderBot): the same debtors, and a table for its agreements. */
export async function seedPeer(url: string, count: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('drop table if exists agreements, debtors, history, contact cascade');
    await client.query(`create table debtors (id serial primary key, cedula text not null, saldo_total bigint not null, oferta_1 bigint not null,
      hasta_3_cuotas bigint not null, hasta_6_cuotas bigint not null, phone text not null)`);
    await client.query('create index debtors_cedula_idx on debtors (cedula)');
    await client.query('create table agreements (id serial primary key, debtor_id integer not null references debtors(id), plan integer not null, total bigint not null, created_at timestamptz not null)');
    await client.query(
      `insert into debtors (cedula, saldo_total, oferta_1, hasta_3_cuotas, hasta_6_cuotas, phone)
       select c.cedula, c.saldo, round(c.saldo * 0.8), round(c.saldo * 0.9), round(c.saldo * 0.95), '57300' || right(c.cedula, 7)
         from unnest($1::text[], $2::bigint[]) as c(cedula, saldo)`,
      [Array.from({ length: count }, (_, i) => debtor(i).cedula), Array.from({ length: count }, (_, i) => debtor(i).saldo)],
    );
    await client.query('analyze');
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------- the conversation mix

export interface Script {
  name: string;
  /** Share of the conversations that follow it. */
  weight: number;
  messages(d: Debtor, n: number): string[];
}

/** The short flow every system runs: greeting, identification, offer, agreement. */
export const AGREEMENT: Script = {
  name: 'agreement',
  weight: 1,
  messages: (d) => ['hola', d.cedula, d.cedula.slice(-4), 'quiero pagar', '1', 'sí, confirmo'],
};

/**
 * The realistic mix: agreements, counter-offers (an amount the debtor can pay, then
 * yes), questions before and after identifying, unknown cédulas (numbers not in the
 * portfolio), and a debtor who stops after the offer. Duplicates are added by the driver.
 */
export const MIX: Script[] = [
  { ...AGREEMENT, weight: 35 },
  {
    name: 'counter-offer',
    weight: 20,
    messages: (d) => ['buenas tardes', d.cedula, d.cedula.slice(-4), `solo puedo pagar ${Math.round(d.saldo * 0.5)}`, 'sí', 'gracias'],
  },
  {
    name: 'questions',
    weight: 20,
    messages: (d) => ['hola', '¿quién me escribe?', d.cedula, d.cedula.slice(-4), '¿cuánto debo?', '¿cómo puedo pagar?', 'lo pienso, gracias'],
  },
  { name: 'unknown-cedula', weight: 15, messages: (_d, n) => ['buenos días', String(90_000_000 + n), 'no sé', 'adiós'] },
  { name: 'offer-only', weight: 10, messages: (d) => ['hola', d.cedula, d.cedula.slice(-4), 'quiero ver la oferta', 'no gracias'] },
];

/** Picks script k of a mix by weight, deterministically (a fixed interleaving of the weights). */
export function scriptFor(mix: Script[], k: number): Script {
  const total = mix.reduce((s, m) => s + m.weight, 0);
  let x = (k * 37) % total;
  for (const m of mix) {
    if (x < m.weight) return m;
    x -= m.weight;
  }
  return mix[0] as Script;
}

// ---------------------------------------------------------------- the driver

export interface SendResult {
  status: number;
  /** Seconds, from a 503's Retry-After. */
  retryAfter?: number;
  /** The conversation closed (an agreement, a goodbye). */
  closed?: boolean;
  state?: string;
}

/** Sends one debtor message to the system under test. */
export type Send = (user: string, text: string, messageId: string) => Promise<SendResult>;

interface Slot {
  round: number;
  pos: number;
  user: string;
  debtor: Debtor;
  script: Script;
  texts: string[];
  busy: boolean;
}

export interface DriverOptions {
  send: Send;
  mix: Script[];
  /** Conversations open at once; with more than the engine caches (5,000) every turn misses the cache. */
  open: number;
  debtors: number;
  /** Every n-th message is delivered twice (the second time with the same message id); 0: never. */
  duplicateEvery: number;
  prefix: string;
}

export interface RunStats {
  concurrency: number;
  messages: number;
  seconds: number;
  rate: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  errors: number;
  shed: number;
  /** p99 of the 503 answers' latency (ms): backpressure must refuse fast. */
  shedP99: number;
  duplicates: number;
  closed: number;
  states: Map<string, number>;
}

/**
 * Simulated debtors: `open` conversations, each at its own point of its script, driven
 * round-robin by however many workers the level asks for (one message in flight per
 * conversation). A finished conversation starts again as a new channel user.
 */
export class Driver {
  private readonly slots: Slot[] = [];
  private cursor = 0;
  private sent = 0;
  /** Every message sent so far (warm-up, duplicates and shed ones included): the divisor of the per-turn counters. */
  sends = 0;

  constructor(private readonly o: DriverOptions) {
    for (let i = 0; i < o.open; i++) this.slots.push(this.fresh(i, 0));
  }

  private fresh(i: number, round: number): Slot {
    const k = i + round * this.o.open;
    const d = debtor(k % this.o.debtors);
    const script = scriptFor(this.o.mix, k);
    return { round, pos: 0, user: `${this.o.prefix}-${i}-${round}`, debtor: d, script, texts: script.messages(d, k), busy: false };
  }

  /**
   * Brings every open conversation to a different point of its script (slot i to
   * message i mod its length), so that the measured levels see the whole mix and not a
   * burst of greetings.
   */
  async stagger(concurrency: number): Promise<number> {
    let next = 0;
    let errors = 0;
    const worker = async () => {
      while (next < this.slots.length) {
        const i = next++;
        const slot = this.slots[i] as Slot;
        const target = i % slot.texts.length;
        while (slot.pos < target) {
          const res = await this.deliver(slot.user, slot.texts[slot.pos] as string, `${slot.user}-${slot.pos}`);
          if (res.status !== 200) errors++;
          slot.pos++;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return errors;
  }

  /** Sends a message outside the measured run; a 503 is delivered again after its Retry-After. */
  private async deliver(user: string, text: string, id: string): Promise<SendResult> {
    for (;;) {
      const res: SendResult = await this.o.send(user, text, id).catch(() => ({ status: 0 }));
      if (res.status !== 503) return res;
      await new Promise((r) => setTimeout(r, (res.retryAfter ?? 1) * 1000));
    }
  }

  /** Opens every conversation with its first message (memory mode); returns the errors. */
  async openAll(concurrency: number, progress?: (done: number) => void): Promise<number> {
    let next = 0;
    let opened = 0;
    let errors = 0;
    const worker = async () => {
      while (next < this.slots.length) {
        const slot = this.slots[next++] as Slot;
        if (slot.pos > 0) continue;
        const res = await this.deliver(slot.user, slot.texts[0] as string, `${slot.user}-0`);
        if (res.status !== 200) errors++;
        slot.pos = 1;
        // Counted when answered: the shared cursor has moved on while this worker waited.
        opened += 1;
        if (opened % 10_000 === 0) progress?.(opened);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return errors;
  }

  async run(concurrency: number, warmupSeconds: number, seconds: number): Promise<RunStats> {
    const latencies: number[] = [];
    const shedLatencies: number[] = [];
    const states = new Map<string, number>();
    let measuring = false;
    let stop = false;
    let errors = 0;
    let shed = 0;
    let duplicates = 0;
    let closed = 0;
    const one = async (slot: Slot, text: string, id: string) => {
      const t0 = performance.now();
      this.sends++;
      let res: SendResult;
      try {
        res = await this.o.send(slot.user, text, id);
      } catch (err) {
        res = { status: 0 };
        if (errors < 3) console.error(`request failed: ${(err as Error).message}`);
      }
      const ms = performance.now() - t0;
      if (res.status === 503) {
        shed++;
        if (measuring) shedLatencies.push(ms);
      }
      else if (res.status !== 200) {
        errors++;
        if (errors <= 3) console.error(`HTTP ${res.status} for "${text}"`);
      }
      // Throughput and latency count answered messages; a 503 is counted apart (shed).
      if (measuring && res.status === 200) {
        latencies.push(ms);
        if (res.state) states.set(res.state, (states.get(res.state) ?? 0) + 1);
      }
      return res;
    };
    const worker = async () => {
      while (!stop) {
        let slot: Slot | undefined;
        for (let tries = 0; tries < this.slots.length && !slot; tries++) {
          const s = this.slots[this.cursor] as Slot;
          this.cursor = (this.cursor + 1) % this.slots.length;
          if (!s.busy) slot = s;
        }
        if (!slot) {
          await new Promise((r) => setImmediate(r));
          continue;
        }
        slot.busy = true;
        const text = slot.texts[slot.pos] as string;
        const id = `${slot.user}-${slot.pos}`;
        const res = await one(slot, text, id);
        this.sent++;
        if (this.o.duplicateEvery > 0 && this.sent % this.o.duplicateEvery === 0 && res.status === 200) {
          await one(slot, text, id);
          if (measuring) duplicates++;
        }
        if (res.status === 503) {
          // Shed: like the platforms, this worker delivers the message again after Retry-After.
          slot.busy = false;
          await new Promise((r) => setTimeout(r, (res.retryAfter ?? 1) * 1000));
          continue;
        }
        slot.pos++;
        if (measuring && res.closed) closed++;
        if (slot.pos >= slot.texts.length) {
          const i = this.slots.indexOf(slot);
          this.slots[i] = this.fresh(i, slot.round + 1);
        } else slot.busy = false;
      }
    };
    const workers = Array.from({ length: concurrency }, worker);
    await new Promise((r) => setTimeout(r, warmupSeconds * 1000));
    measuring = true;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    measuring = false;
    const elapsed = (performance.now() - t0) / 1000;
    stop = true;
    await Promise.all(workers);
    latencies.sort((a, b) => a - b);
    shedLatencies.sort((a, b) => a - b);
    return {
      shedP99: percentile(shedLatencies, 99),
      concurrency,
      messages: latencies.length,
      seconds: elapsed,
      rate: latencies.length / elapsed,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? NaN,
      errors,
      shed,
      duplicates,
      closed,
      states,
    };
  }
}

// ---------------------------------------------------------------- HTTP

export const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });

/**
 * POSTs JSON on a kept-alive connection. A request on a reused socket that the server
 * closed for idleness at that very moment (ECONNRESET) is sent once more, as Node's
 * documentation advises; the server never saw it.
 */
export async function postJson<T>(port: number, urlPath: string, body: object): Promise<{ status: number; body: T; retryAfter?: number }> {
  try {
    return await postOnce<T>(port, urlPath, body);
  } catch (err) {
    if ((err as { reused?: boolean }).reused) return postOnce<T>(port, urlPath, body);
    throw err;
  }
}

function postOnce<T>(port: number, urlPath: string, body: object): Promise<{ status: number; body: T; retryAfter?: number }> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: urlPath, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          try {
            const retryAfter = res.headers['retry-after'] === undefined ? undefined : Number(res.headers['retry-after']);
            resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : {}) as T, retryAfter });
          } catch (e) {
            reject(e as Error);
          }
        });
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => reject(Object.assign(err, { reused: req.reusedSocket && err.code === 'ECONNRESET' })));
    req.end(data);
  });
}

/** acuerdo's REST chat API as the driver's Send. */
export function acuerdoSend(port: number): Send {
  return async (user, text, messageId) => {
    const res = await postJson<{ current_state?: string; status?: string }>(port, '/api/v1/chat/message', { user_id: user, message: text, message_id: messageId });
    return { status: res.status, state: res.body.current_state, closed: res.body.status === 'closed', retryAfter: res.retryAfter };
  };
}

// ---------------------------------------------------------------- the acuerdo server

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts a server process that prints `<pattern with the port>` on stderr or stdout
 * when ready; returns it with the port.
 */
export async function startProcess(args: string[], extraEnv: Record<string, string>, ready: RegExp, cwd = root): Promise<ServerProcess> {
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${out}`)), 90_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the server exited (${code}):\n${out}`)));
  });
  child.stderr?.removeAllListeners('data');
  child.stdout?.removeAllListeners('data');
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  child.stdout?.resume();
  onInterrupt(async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  return {
    child,
    port,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** The acuerdo service (src/main.ts) on the benchmark's database, the local NLU, no jobs. */
export function startAcuerdo(url: string, extraEnv: Record<string, string> = {}): Promise<ServerProcess> {
  // BENCH_PROFILE=<dir>: the server writes a V8 CPU profile there when it stops.
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  return startProcess(
    [...profile, '--import', 'tsx', path.join(root, 'src/main.ts')],
    {
      DATABASE_URL: url,
      ...(process.env.BENCH_POOL ? { DATABASE_POOL_MAX: process.env.BENCH_POOL } : {}),
      ...(process.env.BENCH_MAX_IN_FLIGHT ? { HTTP_MAX_IN_FLIGHT: process.env.BENCH_MAX_IN_FLIGHT } : {}),
      PORT: '0',
      HOST: '127.0.0.1',
      DEMO_DATA: 'false',
      LOG_LEVEL: 'warn',
      LOG_PRETTY: 'false',
      OPENAI_ENABLED: 'false',
      CHAT_RATE_LIMIT_PER_MINUTE: '0',
      SCHEDULER_ENABLED: 'false',
      WEBCHAT_ENABLED: 'false',
      NODE_ENV: 'production',
      ...extraEnv,
    },
    /acuerdo is ready at http:\/\/[^:]+:(\d+)/,
  );
}

/** The BuilderBot peer (peer/server.ts) on its own database; it runs in `cwd` (BuilderBot writes log files there). */
export function startPeer(url: string, cwd: string): Promise<ServerProcess> {
  const loader = pathToFileURL(path.join(root, 'node_modules/tsx/dist/loader.mjs')).href;
  return startProcess(['--import', loader, path.join(root, 'test/bench/peer/server.ts')], { PEER_DATABASE_URL: url, NODE_ENV: 'production' }, /builderbot peer ready at port (\d+)/, cwd);
}

/** The peer's HTTP endpoint as the driver's Send. */
export function peerSend(port: number): Send {
  return async (user, text) => {
    const res = await postJson<{ replies?: { text: string }[] }>(port, '/message', { user_id: user, message: text });
    return { status: res.status, closed: res.body.replies?.[0]?.text.startsWith('Acuerdo registrado') ?? false };
  };
}

// ---------------------------------------------------------------- one measured level

export interface LevelResult extends RunStats {
  /** PostgreSQL CPU milliseconds per message. */
  pgCpuMs: number;
  /** Server process CPU milliseconds per message. */
  serverCpuMs: number;
  /** Statements PostgreSQL executed per message (round trips, as every statement is one). */
  roundTrips: number;
  load: string;
}

/** Runs one concurrency level and adds the CPU and statement counts per message. */
export async function measureLevel(driver: Driver, db: BenchDatabase, serverPid: number | undefined, concurrency: number, warmup: number, seconds: number): Promise<LevelResult> {
  // The counters are read around the whole run (warm-up included) and divided by every message sent in it.
  const [pg0, srv0, calls0] = [await postgresCpuSeconds(db.postmaster), serverPid ? await cpuSeconds(serverPid) : undefined, await statementCalls(db)];
  const sends0 = driver.sends;
  const stats = await driver.run(concurrency, warmup, seconds);
  const all = driver.sends - sends0;
  const [pg1, srv1, calls1] = [await postgresCpuSeconds(db.postmaster), serverPid ? await cpuSeconds(serverPid) : undefined, await statementCalls(db)];
  return {
    ...stats,
    pgCpuMs: ((pg1 - pg0) * 1000) / all,
    serverCpuMs: srv0 !== undefined && srv1 !== undefined ? ((srv1 - srv0) * 1000) / all : NaN,
    roundTrips: (calls1 - calls0) / all,
    load: loadAverage(),
  };
}

export const f0 = (n: number): string => (Number.isFinite(n) ? n.toFixed(0) : '?');
export const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '?');
export const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '?');

export function levelRow(r: LevelResult): string {
  return [
    String(r.concurrency).padStart(5),
    f0(r.rate).padStart(7),
    f1(r.p50).padStart(7),
    f1(r.p95).padStart(7),
    f1(r.p99).padStart(7),
    f2(r.pgCpuMs).padStart(8),
    f2(r.serverCpuMs).padStart(8),
    f1(r.roundTrips).padStart(6),
    (r.shed ? `${r.shed}/${f0(r.shedP99)}ms` : '0').padStart(6),
    String(r.errors).padStart(5),
    `  ${r.load}`,
  ].join(' ');
}

export const LEVEL_HEADER = 'conc.   msg/s  p50 ms  p95 ms  p99 ms  PG ms/t  srv ms/t  RT/t   503s (p99)  err   load (1/5/15 min)';
