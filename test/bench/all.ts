/**
 * `npm run bench:all`: acuerdo, the same-SQL pgbench ceiling and the BuilderBot peer
 * side by side, interleaved level by level (on a shared machine the load changes from
 * one minute to the next; systems measured in the same minutes are comparable).
 *
 * 1. One PostgreSQL (embedded, pg_stat_statements loaded), BENCH_DEBTORS debtors seeded
 *    for acuerdo and, in a second database, for the peer.
 * 2. The statements acuerdo sends are captured for the pgbench scripts (ceiling.ts).
 * 3. acuerdo's realistic mix (BENCH_OPEN conversations open, default 6,000: every turn
 *    misses the engine's cache), its short flow and the peer's short flow (BENCH_PEER_OPEN
 *    conversations each, default 1,000) are opened at staggered points.
 * 4. For each level of BENCH_LEVELS: acuerdo (mix), pgbench (captured mix), acuerdo
 *    (short flow), BuilderBot (short flow), BENCH_WARMUP + BENCH_SECONDS each.
 * 5. The table, the ratios, and the goals: ≥ 0.6 of the ceiling at 16 and 64, ≥ 5× the
 *    peer, and at the highest level ≥ 0.9 of peak with p99 < 250 ms or fast 503s.
 *
 * `npm run bench:ceiling` and `npm run bench:peer` run parts of it.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { captureDir, captureScripts, findPgbench, runPgbench, type CapturedScript, type CeilingResult } from './ceiling.js';
import {
  AGREEMENT,
  Driver,
  LEVEL_HEADER,
  MIX,
  acuerdoSend,
  benchDatabase,
  env,
  f0,
  f1,
  f2,
  levelRow,
  levels,
  loadAverage,
  measureLevel,
  peerSend,
  seedAcuerdo,
  seedPeer,
  startAcuerdo,
  startPeer,
  type LevelResult,
  type ServerProcess,
} from './harness.js';

export interface CompareOptions {
  mix: boolean;
  ceiling: boolean;
  short: boolean;
  peer: boolean;
}

interface Row {
  c: number;
  mix?: LevelResult;
  ceiling?: CeilingResult;
  short?: LevelResult;
  peer?: LevelResult;
}

export async function compare(o: CompareOptions): Promise<void> {
  const started = performance.now();
  const debtors = env('BENCH_DEBTORS', 10_000);
  const open = env('BENCH_OPEN', 6_000);
  const peerOpen = env('BENCH_PEER_OPEN', 1_000);
  const warmup = env('BENCH_WARMUP', 2);
  const seconds = env('BENCH_SECONDS', 8);
  const lv = levels();
  if (o.ceiling && !(await findPgbench())) throw new Error('pgbench not found: apt-get install postgresql-contrib, or set PGBENCH');
  console.log(
    `acuerdo benchmark: ${debtors} debtors, levels ${lv.join(',')}, ${warmup} s + ${seconds} s per level, ${os.cpus().length} CPUs, ` +
      `server pool ${process.env.BENCH_POOL ?? 'default'}, HTTP_MAX_IN_FLIGHT ${process.env.BENCH_MAX_IN_FLIGHT ?? 'default'}; load ${loadAverage()}`,
  );
  const db = await benchDatabase('all');
  const servers: ServerProcess[] = [];
  const tmp = await captureDir();
  try {
    await seedAcuerdo(db.url, debtors);
    let scripts: CapturedScript[] = [];
    if (o.ceiling) {
      scripts = await captureScripts(db, MIX, { debtors, cacheMisses: open > 5_000, dir: tmp });
      console.log(`captured for pgbench: ${scripts.map((s) => `${s.name} ${s.turns} turns / ${s.statements} statements`).join('; ')}`);
    }
    const acuerdo = await startAcuerdo(db.url);
    servers.push(acuerdo);
    const send = acuerdoSend(acuerdo.port);
    const mixDriver = o.mix ? new Driver({ send, mix: MIX, open, debtors, duplicateEvery: env('BENCH_DUPLICATE_EVERY', 33), prefix: 'mix' }) : undefined;
    const shortDriver = o.short ? new Driver({ send, mix: [AGREEMENT], open: peerOpen, debtors, duplicateEvery: 0, prefix: 'short' }) : undefined;
    let peerDriver: Driver | undefined;
    let peer: ServerProcess | undefined;
    if (o.peer) {
      await db.admin.query('drop database if exists peer');
      await db.admin.query('create database peer');
      const peerUrl = new URL(db.url);
      peerUrl.pathname = '/peer';
      await seedPeer(peerUrl.toString(), debtors);
      const cwd = path.join(tmp, 'builderbot');
      await fs.mkdir(cwd);
      peer = await startPeer(peerUrl.toString(), cwd);
      servers.push(peer);
      peerDriver = new Driver({ send: peerSend(peer.port), mix: [AGREEMENT], open: peerOpen, debtors, duplicateEvery: 0, prefix: 'peer' });
    }
    for (const [name, d] of [['acuerdo mix', mixDriver], ['acuerdo short', shortDriver], ['builderbot short', peerDriver]] as const) {
      if (!d) continue;
      const t0 = performance.now();
      const errors = await d.stagger(16);
      console.log(`${name}: conversations opened at staggered points in ${((performance.now() - t0) / 1000).toFixed(0)} s (${errors} errors)`);
    }

    const rows: Row[] = [];
    console.log(`\n         ${LEVEL_HEADER}`);
    for (const c of lv) {
      const row: Row = { c };
      if (mixDriver) {
        row.mix = await measureLevel(mixDriver, db, acuerdo.child.pid, c, warmup, seconds);
        console.log(`mix      ${levelRow(row.mix)}`);
      }
      if (o.ceiling) {
        row.ceiling = await runPgbench(db, scripts, c, seconds);
        const r = row.ceiling;
        console.log(`pgbench  ${String(c).padStart(5)} ${f0(r.turns).padStart(7)}   (turns/s; ${f1(r.tps)} conversations/s)    ${f2(r.pgCpuMs).padStart(8)}                 ${String(r.failed).padStart(5)}   ${r.load}`);
      }
      if (shortDriver) {
        row.short = await measureLevel(shortDriver, db, acuerdo.child.pid, c, warmup, seconds);
        console.log(`short    ${levelRow(row.short)}`);
      }
      if (peerDriver && peer) {
        row.peer = await measureLevel(peerDriver, db, peer.child.pid, c, warmup, seconds);
        console.log(`peer     ${levelRow(row.peer)}`);
      }
      rows.push(row);
    }
    report(rows, o);
    console.log(`\nfinished in ${((performance.now() - started) / 1000).toFixed(0)} s; load ${loadAverage()}`);
  } finally {
    for (const s of servers.reverse()) await s.stop();
    await db.close();
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

function report(rows: Row[], o: CompareOptions): void {
  console.log('\nside by side (msg/s; p99 ms)');
  const head = ['conc.'];
  if (o.mix) head.push('acuerdo mix', 'p99');
  if (o.ceiling) head.push('pgbench turns', 'ratio');
  if (o.short) head.push('acuerdo short', 'p99');
  if (o.peer) head.push('builderbot', 'p99', '×');
  console.log(head.map((h) => h.padStart(15)).join(''));
  for (const r of rows) {
    const cells = [String(r.c)];
    if (o.mix) cells.push(f0(r.mix?.rate ?? NaN), f1(r.mix?.p99 ?? NaN));
    if (o.ceiling) cells.push(f0(r.ceiling?.turns ?? NaN), f2((r.mix?.rate ?? NaN) / (r.ceiling?.turns ?? NaN)));
    if (o.short) cells.push(f0(r.short?.rate ?? NaN), f1(r.short?.p99 ?? NaN));
    if (o.peer) cells.push(f0(r.peer?.rate ?? NaN), f1(r.peer?.p99 ?? NaN), f1((r.short?.rate ?? NaN) / (r.peer?.rate ?? NaN)));
    console.log(cells.map((c) => c.padStart(15)).join(''));
  }
  console.log('\ngoals');
  if (o.mix && o.ceiling) {
    for (const c of [16, 64]) {
      const r = rows.find((x) => x.c === c);
      if (!r?.mix || !r.ceiling) continue;
      const ratio = r.mix.rate / r.ceiling.turns;
      console.log(`  ${ratio >= 0.6 ? 'met   ' : 'MISSED'} ≥ 0.6 of the same-SQL pgbench ceiling at ${c}: ${f2(ratio)}`);
    }
  }
  if (o.short && o.peer) {
    for (const r of rows) {
      if (!r.short || !r.peer) continue;
      const x = r.short.rate / r.peer.rate;
      console.log(`  ${x >= 5 ? 'met   ' : 'MISSED'} ≥ 5× BuilderBot at ${r.c}: ${f1(x)}×`);
    }
  }
  const mixRows = rows.filter((r) => r.mix).map((r) => r.mix as LevelResult);
  const top = mixRows.at(-1);
  if (top) {
    const peak = Math.max(...mixRows.map((r) => r.rate));
    // Held: the answered messages stay fast, and either throughput holds or the excess is refused fast.
    const held = top.p99 < 250 && (top.rate / peak >= 0.9 || (top.shed > 0 && top.shedP99 < 250));
    console.log(
      `  ${held ? 'met   ' : 'MISSED'} no collapse at ${top.concurrency}: ${f0(top.rate)} msg/s = ${f2(top.rate / peak)} of peak, p99 ${f1(top.p99)} ms` +
        (top.shed > 0 ? `, ${top.shed} requests answered 503 + Retry-After in p99 ${f1(top.shedP99)} ms (backpressure)` : ''),
    );
  }
}

if (require.main === module) {
  compare({ mix: true, ceiling: true, short: true, peer: true }).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
