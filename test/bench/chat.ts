/**
 * `npm run bench`: N simulated debtors chat with a real acuerdo server over HTTP (the
 * REST chat API) against a real PostgreSQL, for a fixed time, and the benchmark
 * prints messages per second and p50/p95/p99 latency.
 *
 * The server runs as its own process (`src/main.ts`, the local NLU, no OpenAI); this
 * process only drives it. Each debtor walks the negotiation to an agreement and starts
 * again: hola → cédula → the mobile's last 4 digits → "quiero pagar" → a plan → "sí, confirmo".
 *
 *   BENCH_USERS      concurrent debtors (default 16)
 *   BENCH_SECONDS    measured time (default 20), after BENCH_WARMUP seconds (default 3)
 *   BENCH_POOL       the server's DATABASE_POOL_MAX (default 10)
 *   DATABASE_URL     an external PostgreSQL (default: an embedded one in a temporary directory)
 *   BENCH_PROFILE    a directory: the server writes a V8 CPU profile there
 *
 * Target on a 2-core machine: at least 1,000 messages/s with p99 under 50 ms.
 */
import { TEST_TIME } from '../support/ports.js';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/log.js';
import { createKnex, migrateLatest } from '../../src/store/db.js';
import { ensureEmbeddedPostgres } from '../../src/store/embedded.js';

const USERS = Number(process.env.BENCH_USERS ?? 16);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const POOL = Number(process.env.BENCH_POOL ?? 10);
const DEBTORS = 5_000;
const root = path.resolve(__dirname, '..', '..');

/** CPU seconds used so far by a process and its children-that-exited (Linux /proc; undefined elsewhere). */
async function cpuSeconds(pid: number): Promise<number | undefined> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / 100;
  } catch {
    return undefined;
  }
}

async function parentPid(pid: number): Promise<number | undefined> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat === undefined ? undefined : Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** CPU seconds of one PostgreSQL server: its postmaster and every process it started (backends, WAL writer…). */
async function postgresCpuSeconds(postmaster: number | undefined): Promise<number> {
  if (postmaster === undefined) return NaN;
  let total = (await cpuSeconds(postmaster)) ?? 0;
  for (const entry of await fs.readdir('/proc').catch(() => [] as string[])) {
    if (/^\d+$/.test(entry) && (await parentPid(Number(entry))) === postmaster) total += (await cpuSeconds(Number(entry))) ?? 0;
  }
  return total;
}

/** The postmaster of the server behind `url` (the parent of a backend), when it runs on this machine. */
async function postmasterPid(url: string): Promise<number | undefined> {
  const knex = createKnex(url, 1);
  try {
    const { rows } = (await knex.raw('select pg_backend_pid() as pid')) as { rows: { pid: number }[] };
    return rows[0] ? await parentPid(rows[0].pid) : undefined;
  } finally {
    await knex.destroy();
  }
}

async function seed(url: string): Promise<string[]> {
  const knex = createKnex(url, 2);
  try {
    await migrateLatest(knex);
    await knex.raw('truncate portfolios, conversations, messages, agreements, outbox restart identity cascade');
    const [p] = (await knex('portfolios').insert({ name: 'Bench', created_at: TEST_TIME, updated_at: TEST_TIME }).returning('id')) as { id: number }[];
    const cedulas: string[] = [];
    const rows = [];
    for (let i = 0; i < DEBTORS; i++) {
      const cedula = String(20_000_000 + i * 13);
      const saldo = 200_000 + ((i * 7919) % 4_800_000);
      cedulas.push(cedula);
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
        // The mobile on file ends like the cédula: the identity question's answer (Ley 2300 art. 4).
        phone: `57300${cedula.slice(-7)}`,
        created_at: TEST_TIME,
        updated_at: TEST_TIME,
      });
    }
    await knex.batchInsert('debtors', rows, 1000);
    return cedulas;
  } finally {
    await knex.destroy();
  }
}

/** Starts the server on a port of its choosing (no race for a free port) and returns it with the port. */
async function startServer(url: string): Promise<{ child: ChildProcess; port: number }> {
  // BENCH_PROFILE=<dir>: the server writes a V8 CPU profile there when it stops.
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', path.join(root, 'src/main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: url,
      DATABASE_POOL_MAX: String(POOL),
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
    },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${err}`)), 60_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const ready = /acuerdo is ready at http:\/\/[^:]+:(\d+)/.exec(err);
      if (ready) {
        clearTimeout(timer);
        resolve(Number(ready[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`the server exited (${code}):\n${err}`)));
  });
  child.stderr?.removeAllListeners('data');
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  return { child, port };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: USERS * 2 });

function post(port: number, body: object): Promise<{ status: number; body: { current_state?: string; status?: string } }> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/api/v1/chat/message', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { current_state?: string } });
          } catch (e) {
            reject(e as Error);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function main(): Promise<void> {
  const log = createLogger({ level: 'warn', pretty: false });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'acuerdo-bench-chat-'));
  await fs.chmod(dir, 0o755);
  const embedded = process.env.DATABASE_URL ? undefined : await ensureEmbeddedPostgres({ dataDir: dir, database: 'bench', log });
  const url = process.env.DATABASE_URL ?? (embedded?.connectionString('bench') as string);
  let server: ChildProcess | undefined;
  try {
    const cedulas = await seed(url);
    const started = await startServer(url);
    server = started.child;
    const port = started.port;

    const script = (cedula: string) => ['hola', cedula, cedula.slice(-4), 'quiero pagar', '1', 'sí, confirmo'];
    const latencies: number[] = [];
    let measuring = false;
    let stop = false;
    let errors = 0;
    let agreements = 0;
    const states = new Map<string, number>();

    const debtor = async (n: number) => {
      let round = 0;
      while (!stop) {
        const cedula = cedulas[(n + round * USERS) % cedulas.length] as string;
        const user = `bench-${n}`;
        for (const message of script(cedula)) {
          if (stop) return;
          const t0 = performance.now();
          try {
            const res = await post(port, { user_id: user, message });
            const ms = performance.now() - t0;
            if (res.status !== 200) {
              errors++;
              if (errors <= 3) console.error(`HTTP ${res.status}: ${JSON.stringify(res.body)}`);
            }
            if (measuring) {
              latencies.push(ms);
              const s = res.body.current_state ?? '?';
              states.set(s, (states.get(s) ?? 0) + 1);
              if (res.body.status === 'closed') agreements++;
            }
          } catch (err) {
            errors++;
            if (errors <= 3) console.error(`request failed: ${(err as Error).message}`);
          }
        }
        round++;
      }
    };

    console.log(`acuerdo chat benchmark (turn durability: ${process.env.TURN_DURABILITY ?? "all"}): ${USERS} debtors, ${WARMUP} s warm-up + ${SECONDS} s, server pool ${POOL}, ${os.cpus().length} CPUs`);
    const runners = Array.from({ length: USERS }, (_, i) => debtor(i));
    await new Promise((r) => setTimeout(r, WARMUP * 1000));
    measuring = true;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const serverCpu0 = server.pid ? await cpuSeconds(server.pid) : undefined;
    const postmaster = await postmasterPid(url);
    const pgCpu0 = await postgresCpuSeconds(postmaster);
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    measuring = false;
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const serverCpu1 = server.pid ? await cpuSeconds(server.pid) : undefined;
    const pgCpu1 = await postgresCpuSeconds(postmaster);
    stop = true;
    await Promise.all(runners);

    latencies.sort((a, b) => a - b);
    const rate = latencies.length / elapsed;
    const p50 = percentile(latencies, 50);
    const p95 = percentile(latencies, 95);
    const p99 = percentile(latencies, 99);
    console.log(`messages      : ${latencies.length} in ${elapsed.toFixed(1)} s  →  ${rate.toFixed(0)} msg/s`);
    console.log(`latency (ms)  : p50 ${p50.toFixed(1)}   p95 ${p95.toFixed(1)}   p99 ${p99.toFixed(1)}   max ${(latencies.at(-1) ?? NaN).toFixed(1)}`);
    console.log(`agreements    : ${agreements}   errors: ${errors}`);
    const pct = (seconds: number) => `${((seconds / elapsed) * 100).toFixed(0)}%`;
    console.log(
      `CPU (of one core): server ${serverCpu0 !== undefined && serverCpu1 !== undefined ? pct(serverCpu1 - serverCpu0) : '?'}, ` +
        `PostgreSQL ${Number.isNaN(pgCpu0) ? '?' : pct(pgCpu1 - pgCpu0)}, driver ${pct((cpu.user + cpu.system) / 1e6)}; load average ${os.loadavg()[0]?.toFixed(1)}`,
    );
    console.log(`states        : ${[...states.entries()].map(([s, n]) => `${s} ${n}`).join(', ')}`);
    const met = rate >= 1000 && p99 < 50 && errors === 0;
    console.log(met ? 'target met: >= 1,000 msg/s and p99 < 50 ms' : 'TARGET MISSED: >= 1,000 msg/s with p99 < 50 ms and no errors');
  } finally {
    agent.destroy();
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server?.once('exit', r));
    }
    await embedded?.release();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
