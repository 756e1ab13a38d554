/**
 * `npm run peer:nlu`: the local pipeline and the peer (scikit-learn TF-IDF word+char
 * n-grams into a LinearSVC, scripts/peer-ngram-svc.py) trained on the same corpus,
 * evaluated on the same sets, in the same run, side by side.
 *
 *   npx tsx test/bench/nlu-peer.ts [--json] [FILE.tsv ...]
 *
 * The peer needs scikit-learn: `apt-get install python3-sklearn` (Debian's python3 at
 * /usr/bin/python3; set PEER_PYTHON to use another interpreter).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { createLogger } from '../../src/log.js';
import fs from 'node:fs';
import { createUnderstander, detectCedula, evaluateUnderstander, extractEntities, HELDOUT_CORPUS, readLabelledTsv } from '../../src/nlu/index.js';

const ROOT = path.resolve(__dirname, '..', '..');
const DEFAULT_SETS = [HELDOUT_CORPUS, path.join(ROOT, 'test/fixtures/nlu/blind-eval.tsv'), path.join(ROOT, 'test/fixtures/nlu/stress-eval.tsv')];

function fixtureRows(file: string): string[][] {
  return fs
    .readFileSync(path.join(ROOT, 'test/fixtures/nlu', file), 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split('\t'));
}

/** Exact cédula reads on a fixture: positives read right, and negatives left alone. */
function cedulaFigures(file: string) {
  const rows = fixtureRows(file);
  const positives = rows.filter(([, e]) => e !== '-');
  const negatives = rows.filter(([, e]) => e === '-');
  const right = positives.filter(([t, e]) => detectCedula(t!) === e).length;
  const falsePositives = negatives.filter(([t]) => detectCedula(t!) !== null).length;
  return { file, positives: positives.length, exact: right / Math.max(1, positives.length), negatives: negatives.length, falsePositives };
}

/** Amount and installments both exactly right (dates are not compared here). */
function amountFigures(file: string) {
  const now = new Date('2026-11-21T15:00:00Z');
  const rows = fixtureRows(file);
  const right = rows.filter(([t, a, n]) => {
    const e = extractEntities(t!, now);
    return String(e.amount ?? '-') === a && String(e.installments ?? '-') === n;
  }).length;
  return { file, n: rows.length, exact: right / Math.max(1, rows.length) };
}

interface PeerResult {
  file: string;
  n: number;
  accuracy: number;
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const sets = (files.length > 0 ? files : DEFAULT_SETS).map((f) => path.resolve(f));
  const nlu = await createUnderstander({
    settings: () => ({ confidenceThreshold: 0.6, openaiEnabled: false, maxChars: 2000 }),
    log: createLogger({ level: 'silent', pretty: false }),
  });
  const ours: { file: string; n: number; accuracy: number; macroF1: number }[] = [];
  for (const file of sets) {
    const { report } = await evaluateUnderstander(nlu, await readLabelledTsv(file), { local: true, now: new Date('2026-11-23T15:00:00Z') });
    ours.push({ file: path.relative(ROOT, file), n: report.n, accuracy: report.accuracy, macroF1: report.macroF1 });
  }
  const python = process.env.PEER_PYTHON ?? '/usr/bin/python3';
  const run = spawnSync(python, [path.join(ROOT, 'scripts/peer-ngram-svc.py'), '--json', ...sets], { encoding: 'utf8' });
  let peer: PeerResult[] | undefined;
  let peerError: string | undefined;
  if (run.status === 0) peer = (JSON.parse(run.stdout) as { results: PeerResult[] }).results;
  else peerError = (run.stderr || run.error?.message || `exit ${run.status}`).trim().split('\n').pop();

  const cedulas = ['cedula-cases.tsv', 'cedula-adversarial.tsv'].map(cedulaFigures);
  const amounts = ['entity-cases.tsv', 'amount-adversarial.tsv'].map(amountFigures);
  if (json) {
    process.stdout.write(JSON.stringify({ ours, peer: peer ?? null, peerError: peerError ?? null, cedulas, amounts }) + '\n');
    return;
  }
  const lines = [`${'set'.padEnd(40)} ${'n'.padStart(5)}  ${'acuerdo (local)'.padStart(16)}  ${'peer TF-IDF+SVC'.padStart(16)}`];
  ours.forEach((o, i) => {
    const p = peer?.[i];
    lines.push(`${o.file.padEnd(40)} ${String(o.n).padStart(5)}  ${o.accuracy.toFixed(4).padStart(16)}  ${(p ? p.accuracy.toFixed(4) : 'n/a').padStart(16)}`);
  });
  if (peerError) lines.push(`peer not run: ${peerError} (apt-get install python3-sklearn)`);
  lines.push('');
  for (const c of cedulas) {
    lines.push(`cédulas ${c.file}: ${c.positives} cédulas, ${c.exact.toFixed(4)} exact; ${c.negatives} numbers that are not cédulas, ${c.falsePositives} taken`);
  }
  for (const a of amounts) lines.push(`amounts ${a.file}: ${a.n} messages, ${a.exact.toFixed(4)} exact (amount and installments)`);
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
