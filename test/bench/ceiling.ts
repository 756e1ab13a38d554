/**
 * The SQL ceiling: what PostgreSQL does with the very statements acuerdo sends, with no
 * service in between, run by pgbench at the same concurrency.
 *
 * The statements are captured, not copied by hand: a server like the measured one
 * (same engine; its cache of live conversations off when the measured run misses it,
 * so that every turn reads its conversation as in the measured run) answers one
 * conversation of each script of the mix while PostgreSQL logs every statement with its
 * bound parameters (log_statement = all). Each conversation's statements, parameters
 * written in as literals, become one pgbench script; the values that must be new in
 * every replay (the conversation's id, the channel user, its message ids) become pgbench
 * variables. pgbench then runs the scripts with the mix's weights, and the turns per
 * second it reaches (transactions × turns in each script) are the ceiling.
 *
 * pgbench: PGBENCH, or Debian's /usr/lib/postgresql/<version>/bin/pgbench (the
 * postgresql-contrib / postgresql-client packages; .ci/run installs PostgreSQL).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { acuerdoSend, debtor, loadAverage, postgresCpuSeconds, startAcuerdo, type BenchDatabase, type Script } from './harness.js';

export interface CapturedScript {
  name: string;
  weight: number;
  turns: number;
  statements: number;
  file: string;
}

/** pgbench from PGBENCH or the newest Debian PostgreSQL installed. */
export async function findPgbench(): Promise<string | undefined> {
  if (process.env.PGBENCH) return process.env.PGBENCH;
  const versions = await fs.readdir('/usr/lib/postgresql').catch(() => [] as string[]);
  for (const v of versions.sort((a, b) => Number(b) - Number(a))) {
    const candidate = `/usr/lib/postgresql/${v}/bin/pgbench`;
    if (await fs.access(candidate).then(() => true, () => false)) return candidate;
  }
  return undefined;
}

/** A statement as the server logged it, with its bound parameters written in as SQL literals. */
interface LoggedStatement {
  sql: string;
}

/** Splits "$1 = 'a', $2 = NULL, …" (PostgreSQL's DETAIL line) into literals by number. */
function parseParameters(detail: string): Map<number, string> {
  const out = new Map<number, string>();
  let i = 0;
  while (i < detail.length) {
    const m = /^\s*,?\s*\$(\d+) = /.exec(detail.slice(i));
    if (!m) break;
    i += m[0].length;
    const n = Number(m[1]);
    if (detail.startsWith('NULL', i)) {
      out.set(n, 'NULL');
      i += 4;
      continue;
    }
    // A quoted literal: '' is a quote inside it.
    let j = i + 1;
    for (;;) {
      const q = detail.indexOf("'", j);
      if (q < 0) throw new Error(`unterminated parameter $${n}`);
      if (detail[q + 1] === "'") j = q + 2;
      else {
        j = q + 1;
        break;
      }
    }
    out.set(n, detail.slice(i, j));
    i = j;
  }
  return out;
}

const PREFIX = /^@@\[(\d+)\] (LOG|DETAIL|ERROR|STATEMENT|WARNING|HINT|CONTEXT):  ?/;

/** The statements of a stretch of the server log, in order, parameters substituted. */
export function parseLog(text: string): LoggedStatement[] {
  // Entries start with the prefix set for the capture; other lines continue the entry before.
  const entries: { kind: string; body: string }[] = [];
  for (const line of text.split('\n')) {
    const m = PREFIX.exec(line);
    if (m) entries.push({ kind: m[2] as string, body: line.slice(m[0].length) });
    else if (entries.length) (entries.at(-1) as { body: string }).body += `\n${line}`;
  }
  const out: LoggedStatement[] = [];
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k] as { kind: string; body: string };
    if (e.kind !== 'LOG') continue;
    let sql: string | undefined;
    const stmt = /^statement: ([\s\S]*)$/.exec(e.body);
    const exec = /^execute [^:]*: ([\s\S]*)$/.exec(e.body);
    if (stmt) sql = stmt[1];
    else if (exec) {
      sql = exec[1] as string;
      const next = entries[k + 1];
      if (next?.kind === 'DETAIL' && /^parameters: /i.test(next.body)) {
        const params = parseParameters(next.body.slice('parameters: '.length).trimEnd());
        // $12 before $1: replace from the highest number down.
        for (const n of [...params.keys()].sort((a, b) => b - a)) sql = sql.split(`$${n}`).join(params.get(n) as string);
      }
    }
    if (sql !== undefined) out.push({ sql: sql.trim().replace(/;+\s*$/, '') });
  }
  return out;
}

/** Statements the service sends on its own (pollers), not as part of a turn. */
const BACKGROUND = [/from "?outbox"?\b(?![\s\S]*acuerdo_save_turn)/i, /runtime_settings/i, /revision::text/i, /pg_stat_statements/i, /pg_backend_pid/i, /knex_migrations/i, /^select 1$/i];

/**
 * Captures one conversation of each script through a server like the measured one
 * and writes the pgbench scripts into `dir`.
 */
export async function captureScripts(db: BenchDatabase, mix: Script[], o: { debtors: number; cacheMisses: boolean; dir: string }): Promise<CapturedScript[]> {
  if (!db.pgDir) throw new Error('the capture reads the embedded server log: run without DATABASE_URL');
  const log = path.join(db.pgDir, 'server.log');
  const server = await startAcuerdo(db.url, { TURN_CACHE_SIZE: o.cacheMisses ? '0' : '5000' });
  const scripts: CapturedScript[] = [];
  try {
    const send = acuerdoSend(server.port);
    await db.admin.query(`alter system set log_line_prefix = '@@[%p] '`);
    await db.admin.query(`alter system set log_statement = 'all'`);
    await db.admin.query('select pg_reload_conf()');
    await new Promise((r) => setTimeout(r, 300));
    for (const [k, script] of mix.entries()) {
      const user = `capture${k}`;
      const texts = script.messages(debtor((k * 101) % o.debtors), 900_000 + k);
      const start = (await fs.stat(log)).size;
      for (const [pos, text] of texts.entries()) {
        const res = await send(user, text, `${user}-m${pos}`);
        if (res.status !== 200) throw new Error(`capture: HTTP ${res.status} for "${text}"`);
      }
      await new Promise((r) => setTimeout(r, 200));
      const text = (await fs.readFile(log)).subarray(start).toString('utf8');
      if (process.env.BENCH_VERBOSE) await fs.writeFile(path.join(o.dir, `${script.name}.log`), text);
      const statements = parseLog(text).filter((s) => !BACKGROUND.some((re) => re.test(s.sql)));
      const saves = statements.filter((s) => s.sql.includes('acuerdo_save_turn')).map((s) => s.sql);
      // A script may close its conversation and open another: every conversation id it saved.
      const ids = [...new Set(saves.map((sql) => /"conversation":\s*\{"id":\s*"([0-9a-f-]{36})"/.exec(sql)?.[1]).filter((x): x is string => !!x))];
      if (!ids.length) throw new Error(`capture: no saved turn for script ${script.name}`);
      // Fresh per replay: the conversation ids (12 decimal digits are valid hex), the user and so its
      // message ids, and agreement references (unique). A replayed agreement is stored as
      // 'reemplazado' rather than 'vigente': the same row, but one debtor may have only one
      // standing agreement (a partial unique index), and every replay is for the same debtor.
      const references = [...new Set(statements.flatMap((s) => s.sql.match(/\bAC-[0-9A-Z]{4,12}\b/g) ?? []))];
      const fresh = (sql: string) =>
        references
          .reduce((out, ref, r) => out.split(ref).join(`AC-${r}X:cid`), ids.reduce((o, id, n) => o.split(id).join(`00000000-0000-4000-${8000 + n}-:cid`), sql).split(user).join('pgb:cid'))
          .replace(/"status":\s*"vigente"/g, '"status": "reemplazado"');
      const body = statements
        .map((s) => fresh(s.sql))
        .map((sql) => `${sql};`)
        .join('\n');
      const file = path.join(o.dir, `${script.name}.sql`);
      await fs.writeFile(file, `\\set cid random(100000000000, 999999999999)\n${body}\n`);
      scripts.push({ name: script.name, weight: script.weight, turns: texts.length, statements: statements.length, file });
    }
  } finally {
    await db.admin.query(`alter system reset log_statement`).catch(() => undefined);
    await db.admin.query(`alter system reset log_line_prefix`).catch(() => undefined);
    await db.admin.query('select pg_reload_conf()').catch(() => undefined);
    await server.stop();
  }
  return scripts;
}

export interface CeilingResult {
  concurrency: number;
  /** Turns per second (each script's transactions × its turns). */
  turns: number;
  tps: number;
  pgCpuMs: number;
  failed: number;
  load: string;
}

/** Runs the captured scripts with pgbench at one concurrency for `seconds`. */
export async function runPgbench(db: BenchDatabase, scripts: CapturedScript[], concurrency: number, seconds: number): Promise<CeilingResult> {
  const pgbench = await findPgbench();
  if (!pgbench) throw new Error('pgbench not found: install postgresql-contrib (Debian) or set PGBENCH');
  // pgbench opens its connections inside -T (SCRAM authentication, one after another per
  // thread), and one transaction is a whole conversation: at high concurrency a short run
  // can end before any finishes, so it runs a second longer per 16 clients. Rates are
  // pgbench's own, without the connection time.
  const duration = seconds + Math.ceil(concurrency / 16);
  const args = ['-n', '-M', 'simple', '-c', String(concurrency), '-j', String(Math.min(concurrency, os.cpus().length)), '-T', String(duration)];
  for (const s of scripts) args.push('-f', `${s.file}@${s.weight}`);
  args.push(db.url);
  const cpu0 = await postgresCpuSeconds(db.postmaster);
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(pgbench, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.stderr.on('data', (c: Buffer) => (text += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 || code === 2 ? resolve(text) : reject(new Error(`pgbench exited ${code}:\n${text.slice(-2000)}`))));
  });
  const cpu1 = await postgresCpuSeconds(db.postmaster);
  let turns = 0;
  let transactions = 0;
  // "SQL script 2: …/counter-offer.sql\n - weight: 20 (targets 20.0% of total)\n - 1234 transactions (20.1% of total, tps = 123.4)"
  for (const [i, s] of scripts.entries()) {
    const m = new RegExp(`SQL script ${i + 1}:[\\s\\S]*?- (\\d+) transactions \\([^,]*, tps = ([\\d.]+)\\)`).exec(out);
    if (!m) continue;
    transactions += Number(m[1]);
    turns += Number(m[2]) * s.turns;
  }
  if (scripts.length === 1) {
    const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1] ?? NaN);
    turns = tps * (scripts[0] as CapturedScript).turns;
  }
  if (/Run was aborted/.test(out)) throw new Error(`pgbench: a replayed script failed:\n${out.slice(0, 3000)}`);
  const failed = Number(/number of failed transactions: (\d+)/.exec(out)?.[1] ?? 0) + (out.match(/client \d+ (script \d+ )?aborted/g)?.length ?? 0);
  const turnCount = turns * duration;
  if (process.env.BENCH_VERBOSE) console.log(out);
  return {
    concurrency,
    turns,
    tps: Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1] ?? NaN),
    pgCpuMs: ((cpu1 - cpu0) * 1000) / Math.max(1, turnCount),
    failed,
    load: loadAverage(),
  };
}

export async function captureDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'acuerdo-bench-pgbench-'));
}

if (require.main === module) {
  // `npm run bench:ceiling`: acuerdo's sweep and the pgbench ceiling, interleaved level by level.
  import('./all.js')
    .then(({ compare }) => compare({ mix: true, ceiling: true, short: false, peer: false }))
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
