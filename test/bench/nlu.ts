/**
 * `npm run bench:nlu`: throughput and latency of the full local understanding pipeline
 * (cleaning, cédula detector, entities, naive-Bayes model, rules) on one core, no OpenAI.
 * Also measures natural's own classify() on the same model, for comparison.
 *
 *   npx tsx test/bench/nlu.ts [--messages 200000] [--json]
 */
import fs from 'node:fs';
import path from 'node:path';
import { createUnderstander } from '../../src/nlu/index.js';
import { createLogger } from '../../src/log.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function corpusTexts(): string[] {
  const dir = path.resolve(__dirname, '../../src/nlu/corpus');
  const fixtures = path.resolve(__dirname, '../fixtures/nlu');
  const texts: string[] = [];
  for (const file of [path.join(dir, 'train.tsv'), path.join(dir, 'heldout.tsv'), path.join(fixtures, 'entity-cases.tsv'), path.join(fixtures, 'cedula-cases.tsv')]) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
      if (line && !line.startsWith('#')) texts.push(line.split('\t')[0]!);
    }
  }
  // A few long voice-to-text run-ons, as they arrive from WhatsApp.
  const runOn =
    'buenas tardes señorita mire le cuento que yo estoy sin trabajo desde hace como tres meses y la verdad ahorita no tengo como pagar pero quiero ponerme al dia entonces le pregunto si me pueden dar unas cuoticas de 100 mil mensuales a partir de la otra quincena ';
  for (let i = 0; i < 20; i++) texts.push(runOn.repeat(1 + (i % 8)));
  return texts;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const total = arg('messages', 200_000);
  const json = process.argv.includes('--json');
  const understander = await createUnderstander({
    settings: () => ({ confidenceThreshold: 0.6, openaiEnabled: false, maxChars: 2000 }),
    log: createLogger({ level: 'silent', pretty: false }),
  });
  const texts = corpusTexts();
  const now = new Date();

  for (let i = 0; i < 20_000; i++) await understander.understand(texts[i % texts.length]!, { local: true, now });

  const durations = new Float64Array(total);
  const cpu0 = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < total; i++) {
    const t0 = process.hrtime.bigint();
    await understander.understand(texts[i % texts.length]!, { local: true, now });
    durations[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
  // CPU time of this process: on a shared machine, wall-clock throughput also counts the time other work held the core.
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  durations.sort();

  // natural's own scoring: a full-vocabulary feature vector per message.
  const classifier = understander.model.classifier;
  const naturalN = 2000;
  const n0 = process.hrtime.bigint();
  for (let i = 0; i < naturalN; i++) classifier.getClassifications(texts[i % texts.length]!);
  const naturalS = Number(process.hrtime.bigint() - n0) / 1e9;

  const result = {
    messages: total,
    distinctTexts: texts.length,
    msgsPerSecond: Math.round(total / elapsedS),
    msgsPerCpuSecond: Math.round(total / cpuS),
    p50Us: Number(percentile(durations, 50).toFixed(1)),
    p99Us: Number(percentile(durations, 99).toFixed(1)),
    maxUs: Number(durations[durations.length - 1]!.toFixed(1)),
    naturalClassifyMsgsPerSecond: Math.round(naturalN / naturalS),
    node: process.version,
    vocabulary: Object.keys(classifier.features).length,
  };
  if (json) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  process.stdout.write(
    [
      `full local pipeline, ${total} messages (${texts.length} distinct), one core, ${process.version}`,
      `  throughput  ${result.msgsPerSecond.toLocaleString('en-US')} msgs/s (wall clock), ${result.msgsPerCpuSecond.toLocaleString('en-US')} msgs per CPU-second`,
      `  latency     p50 ${result.p50Us} µs   p99 ${result.p99Us} µs   max ${result.maxUs} µs`,
      `natural's own getClassifications() on the same model (${result.vocabulary} features): ${result.naturalClassifyMsgsPerSecond.toLocaleString('en-US')} msgs/s`,
      '',
    ].join('\n'),
  );
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
