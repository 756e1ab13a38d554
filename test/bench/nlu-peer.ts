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
import { createUnderstander, evaluateUnderstander, HELDOUT_CORPUS, readLabelledTsv } from '../../src/nlu/index.js';

const ROOT = path.resolve(__dirname, '..', '..');
const DEFAULT_SETS = [HELDOUT_CORPUS, path.join(ROOT, 'test/fixtures/nlu/blind-eval.tsv'), path.join(ROOT, 'test/fixtures/nlu/stress-eval.tsv')];

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

  if (json) {
    process.stdout.write(JSON.stringify({ ours, peer: peer ?? null, peerError: peerError ?? null }) + '\n');
    return;
  }
  const lines = [`${'set'.padEnd(40)} ${'n'.padStart(5)}  ${'acuerdo (local)'.padStart(16)}  ${'peer TF-IDF+SVC'.padStart(16)}`];
  ours.forEach((o, i) => {
    const p = peer?.[i];
    lines.push(`${o.file.padEnd(40)} ${String(o.n).padStart(5)}  ${o.accuracy.toFixed(4).padStart(16)}  ${(p ? p.accuracy.toFixed(4) : 'n/a').padStart(16)}`);
  });
  if (peerError) lines.push(`peer not run: ${peerError} (apt-get install python3-sklearn)`);
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
