/**
 * `npm run bench`: simulated debtors chat with a real acuerdo server (its own process,
 * the local NLU, no OpenAI) over the REST chat API, against a real PostgreSQL.
 *
 * BENCH_DEBTORS debtors are seeded (default 10,000) and BENCH_OPEN conversations are
 * open at once (default 6,000: more than the engine's cache of live conversations, so
 * every turn reads its conversation from PostgreSQL), each at its own point of a
 * realistic mix (harness.ts MIX: agreements, counter-offers, questions, unknown cédulas,
 * debtors who stop at the offer; every BENCH_DUPLICATE_EVERY-th message delivered
 * twice). Then a concurrency sweep (BENCH_LEVELS, default 1,4,16,64,256), each level
 * BENCH_WARMUP s (default 2) + BENCH_SECONDS s (default 8), printing msg/s,
 * p50/p95/p99, PostgreSQL CPU per turn (/proc of the postmaster and its children),
 * the server's CPU per turn and statements (= round trips) per turn (pg_stat_statements).
 *
 *   BENCH_MIX=short     only the short flow (hola → cédula → 4 digits → quiero pagar → 1 → sí)
 *   BENCH_MODE=memory   BENCH_OPEN conversations (default 100,000) opened one by one, then
 *                       the server's memory and the throughput measured again (docs/scaling.md)
 *   BENCH_POOL          the server's DATABASE_POOL_MAX (default: the service's)
 *   BENCH_MAX_IN_FLIGHT the server's HTTP_MAX_IN_FLIGHT (default: the service's)
 *   BENCH_PROFILE=<dir> the server writes a V8 CPU profile there
 *   BENCH_STATEMENTS=1  after the sweep, the statements PostgreSQL ran most (pg_stat_statements)
 *   DATABASE_URL        an external PostgreSQL instead of an embedded one
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import {
  AGREEMENT,
  LEVEL_HEADER,
  MIX,
  acuerdoSend,
  benchDatabase,
  env,
  f0,
  f1,
  levelRow,
  levels,
  loadAverage,
  measureLevel,
  memoryMb,
  seedAcuerdo,
  startAcuerdo,
  topStatements,
  Driver,
  type BenchDatabase,
  type LevelResult,
  type Script,
} from './harness.js';

export interface AcuerdoRun {
  mix: string;
  results: LevelResult[];
}

/** The sweep against a running acuerdo server. */
export async function sweepAcuerdo(
  db: BenchDatabase,
  server: { port: number; pid?: number },
  o: { mix: Script[]; mixName: string; open: number; debtors: number; levels: number[]; warmup: number; seconds: number; prefix: string },
): Promise<AcuerdoRun> {
  const driver = new Driver({ send: acuerdoSend(server.port), mix: o.mix, open: o.open, debtors: o.debtors, duplicateEvery: env('BENCH_DUPLICATE_EVERY', 33), prefix: o.prefix });
  const t0 = performance.now();
  const staggerErrors = await driver.stagger(32);
  console.log(`acuerdo, ${o.mixName} mix: ${o.open} conversations opened at staggered points in ${((performance.now() - t0) / 1000).toFixed(0)} s (${staggerErrors} errors)`);
  console.log(LEVEL_HEADER);
  const results: LevelResult[] = [];
  for (const c of o.levels) {
    const r = await measureLevel(driver, db, server.pid, c, o.warmup, o.seconds);
    results.push(r);
    console.log(levelRow(r));
  }
  return { mix: o.mixName, results };
}

export function summarize(run: AcuerdoRun): void {
  const peak = Math.max(...run.results.map((r) => r.rate));
  const top = run.results.at(-1);
  if (!top) return;
  console.log(
    `states reached at ${top.concurrency}: ${[...top.states.entries()].sort((a, b) => b[1] - a[1]).map(([s, n]) => `${s} ${n}`).join(', ')}\n` +
      `peak ${f0(peak)} msg/s; at ${top.concurrency} concurrent: ${f0(top.rate)} msg/s (${((top.rate / peak) * 100).toFixed(0)} % of peak), p99 ${f1(top.p99)} ms, ${top.shed} answered 503`,
  );
}

/** Resident memory now, read synchronously for progress lines. */
function memoryRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN) / 1024;
}

async function memoryMode(): Promise<void> {
  const open = env('BENCH_OPEN', 100_000);
  const debtors = env('BENCH_DEBTORS', 10_000);
  const db = await benchDatabase('memory');
  const server = await seedAcuerdo(db.url, debtors).then(() => startAcuerdo(db.url));
  try {
    const pid = server.child.pid as number;
    const driver = new Driver({ send: acuerdoSend(server.port), mix: MIX, open, debtors, duplicateEvery: 0, prefix: 'm' });
    const c = env('BENCH_CONCURRENCY', 16);
    const before = await measureLevel(new Driver({ send: acuerdoSend(server.port), mix: MIX, open: 1_000, debtors, duplicateEvery: 0, prefix: 'w' }), db, pid, c, 2, env('BENCH_SECONDS', 8));
    console.log(`memory mode: ${open} conversations, concurrency ${c}; server at start ${f0((await memoryMb(pid)).rss)} MB`);
    console.log(LEVEL_HEADER);
    console.log(`${levelRow(before)}   (1,000 open)`);
    const t0 = performance.now();
    // Every conversation is opened with its first message; none is finished, so all stay open.
    const errors = await driver.openAll(c, (n) => console.log(`  ${n} opened, server RSS ${f0(memoryRss(pid))} MB, load ${loadAverage()}`));
    const { count } = (await db.admin.query<{ count: string }>(`select count(*) from conversations where status = 'open'`)).rows[0] as { count: string };
    const mem = await memoryMb(pid);
    console.log(`opened in ${((performance.now() - t0) / 1000).toFixed(0)} s (${errors} errors); open conversations in PostgreSQL: ${count}; server RSS ${f0(mem.rss)} MB (peak ${f0(mem.peak)} MB); load ${loadAverage()}`);
    const after = await measureLevel(driver, db, pid, c, 2, env('BENCH_SECONDS', 8));
    const memAfter = await memoryMb(pid);
    console.log(`${levelRow(after)}   (${open} open)`);
    console.log(`server RSS ${f0(memAfter.rss)} MB, peak ${f0(memAfter.peak)} MB (bound 600 MB: ${memAfter.peak < 600 ? 'met' : 'MISSED'}); throughput ${((after.rate / before.rate) * 100).toFixed(0)} % of the 1,000-open run`);
  } finally {
    await server.stop();
    await db.close();
  }
}

async function main(): Promise<void> {
  if (process.env.BENCH_MODE === 'memory') return memoryMode();
  const debtors = env('BENCH_DEBTORS', 10_000);
  const short = process.env.BENCH_MIX === 'short';
  const db = await benchDatabase('chat');
  await seedAcuerdo(db.url, debtors);
  const server = await startAcuerdo(db.url);
  try {
    console.log(
      `acuerdo chat benchmark: ${debtors} debtors, ${os.cpus().length} CPUs, server pool ${process.env.BENCH_POOL ?? 'default'}, ` +
        `HTTP_MAX_IN_FLIGHT ${process.env.BENCH_MAX_IN_FLIGHT ?? 'default'}, turn durability ${process.env.TURN_DURABILITY ?? 'all'}; load ${loadAverage()}`,
    );
    const run = await sweepAcuerdo(db, { port: server.port, pid: server.child.pid }, {
      mix: short ? [AGREEMENT] : MIX,
      mixName: short ? 'short' : 'realistic',
      open: env('BENCH_OPEN', 6_000),
      debtors,
      levels: levels(),
      warmup: env('BENCH_WARMUP', 2),
      seconds: env('BENCH_SECONDS', 8),
      prefix: 'b',
    });
    summarize(run);
    if (process.env.BENCH_STATEMENTS) console.log(`statements by calls (calls, mean, share of database time):\n${await topStatements(db)}`);
  } finally {
    await server.stop();
    await db.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
