/**
 * `acuerdo nlu`, `acuerdo nlu eval FILE.tsv` and `acuerdo train`.
 *
 * The nlu path needs no database: OpenAI calls are recorded in llm_calls only when
 * DATABASE_URL names a server (the embedded one is never started for this).
 */
import { systemClock, UsageError, type Clock } from '../core/index.js';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import readline from 'node:readline';
import type { Command } from 'commander';
import { loadConfig, type Config } from '../core/index.js';
import { cliLogger } from './context.js';
import type { Logger } from '../log.js';
import { createKnex, type Knex } from '../store/index.js';
import {
  crossValidate,
  evaluateUnderstander,
  formatReport,
  HELDOUT_CORPUS,
  parseLabelledTsv,
  readLabelledTsv,
  TRAIN_CORPUS,
  type EvaluationReport,
} from '../nlu/index.js';
import { DEFAULT_MODEL_PATH, saveIntentModel, trainIntentModel } from '../nlu/index.js';
import { chatWords } from '../nlu/index.js';
import type { OpenAiOptions } from '../nlu/index.js';
import { createKnexLlmCallRecorder } from '../nlu/index.js';
import { createUnderstander, type NluPipeline } from '../nlu/index.js';
import type { NluResult, NluSettings, Understander } from '../nlu/index.js';

/** One result as a JSON line: entities in a fixed order, absent ones omitted, confidence to 2 decimals. */
export function resultToJsonLine(result: NluResult): string {
  const e = result.entities;
  const entities: Record<string, string | number> = {};
  if (e.cedula !== undefined) entities.cedula = e.cedula;
  if (e.amount !== undefined) entities.amount = e.amount;
  if (e.installments !== undefined) entities.installments = e.installments;
  if (e.date !== undefined) entities.date = e.date;
  return JSON.stringify({
    text: result.text,
    intent: result.intent,
    confidence: Math.round(result.confidence * 100) / 100,
    source: result.source,
    entities,
  });
}

/** Reads one message per line and writes one JSON line per message, in order. */
export async function runNluStream(
  understander: Understander,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  options: { local?: boolean; clock: Clock },
): Promise<number> {
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let count = 0;
  for await (const line of lines) {
    const result = await understander.understand(line, { local: options.local, now: options.clock.now() });
    output.write(resultToJsonLine(result) + '\n');
    count++;
  }
  return count;
}

export function settingsFromConfig(config: Config): NluSettings {
  return {
    confidenceThreshold: config.NLU_CONFIDENCE_THRESHOLD,
    openaiEnabled: config.OPENAI_ENABLED,
    maxChars: config.NLU_MAX_CHARS,
  };
}

export function openAiOptionsFromConfig(config: Config): OpenAiOptions | undefined {
  if (!config.OPENAI_ENABLED || !config.OPENAI_API_KEY) return undefined;
  return {
    apiKey: config.OPENAI_API_KEY,
    model: config.OPENAI_MODEL,
    baseURL: config.OPENAI_BASE_URL,
    timeoutMs: config.OPENAI_TIMEOUT_MS,
    budgetMs: config.OPENAI_BUDGET_MS,
    maxRetries: config.OPENAI_MAX_RETRIES,
  };
}

/** The understander the commands use; with OpenAI only when allowed and configured. */
async function commandUnderstander(
  config: Config,
  logger: Logger,
  allowOpenAi: boolean,
): Promise<{ understander: NluPipeline; close: () => Promise<void> }> {
  const openai = allowOpenAi ? openAiOptionsFromConfig(config) : undefined;
  let knex: Knex | undefined;
  if (openai && config.DATABASE_URL) knex = createKnex(config.DATABASE_URL, 2);
  const understander = await createUnderstander({
    settings: () => settingsFromConfig(config),
    openai,
    recorder: knex ? createKnexLlmCallRecorder(knex, { clock: systemClock }) : undefined,
    log: logger,
  });
  return { understander, close: async () => void (await knex?.destroy()) };
}

function summaryJson(report: EvaluationReport) {
  return {
    n: report.n,
    accuracy: report.accuracy,
    macroF1: report.macroF1,
    calibrationError: report.calibrationError,
    selective: report.selective,
    perIntent: report.perIntent,
    labels: report.labels,
    confusion: report.confusion,
    ...(report.bySource ? { bySource: report.bySource } : {}),
  };
}

export interface TrainCommandOptions {
  corpus: string;
  heldout?: string;
  out: string;
  folds: number;
  seed: number;
  json?: boolean;
  settings: NluSettings;
}

/**
 * Cross-validates on the corpus (fitting the temperature), trains on all of it, writes
 * the model, and evaluates the held-out split with the full local pipeline.
 * Returns what it printed, for tests.
 */
export async function runTrain(options: TrainCommandOptions, out: NodeJS.WritableStream, logger: Logger): Promise<Record<string, unknown>> {
  const started = performance.now();
  const corpusText = await fs.readFile(options.corpus, 'utf8');
  const examples = parseLabelledTsv(corpusText, options.corpus);
  const heldout = options.heldout ? await readLabelledTsv(options.heldout) : [];
  const key = (t: string) => chatWords(t).join(' ');
  const trained = new Set(examples.map((e) => key(e.text)));
  const leaked = heldout.filter((e) => trained.has(key(e.text)));
  if (leaked.length > 0) {
    logger.warn({ count: leaked.length, examples: leaked.slice(0, 5).map((e) => e.text) }, 'held-out messages also appear in the training corpus');
  }

  const cv = crossValidate(examples, { folds: options.folds, seed: options.seed });
  const model = trainIntentModel(examples, {
    temperature: cv.temperature,
    crossValidation: { folds: cv.folds, accuracy: round(cv.report.accuracy), macroF1: round(cv.report.macroF1) },
    corpusSha256: createHash('sha256').update(corpusText).digest('hex'),
    trainedAt: systemClock.now(),
  });
  await saveIntentModel(model, options.out);

  let heldoutReport: EvaluationReport | undefined;
  if (heldout.length > 0) {
    const understander = await createUnderstander({ settings: () => options.settings, model, log: logger });
    heldoutReport = (await evaluateUnderstander(understander, heldout, { local: true, now: systemClock.now() })).report;
  }

  const mean = cv.foldAccuracy.reduce((a, b) => a + b, 0) / cv.foldAccuracy.length;
  const sd = Math.sqrt(cv.foldAccuracy.reduce((a, b) => a + (b - mean) ** 2, 0) / cv.foldAccuracy.length);
  const summary = {
    corpus: options.corpus,
    examples: examples.length,
    model: options.out,
    seconds: (performance.now() - started) / 1000,
    crossValidation: {
      folds: cv.folds,
      seed: options.seed,
      temperature: cv.temperature,
      foldAccuracy: cv.foldAccuracy.map(round),
      meanAccuracy: round(mean),
      sdAccuracy: round(sd),
      ...summaryJson(cv.report),
    },
    ...(heldoutReport ? { heldout: { file: options.heldout, leaked: leaked.length, ...summaryJson(heldoutReport) } } : {}),
  };
  if (options.json) {
    out.write(JSON.stringify(summary, null, 2) + '\n');
  } else {
    out.write(`Trained on ${examples.length} messages from ${options.corpus}\n`);
    out.write(`Model written to ${options.out} (softmax temperature ${cv.temperature}, fitted by cross-validation)\n\n`);
    out.write(
      `${cv.folds}-fold cross-validation (model only, seed ${options.seed}): accuracy ${mean.toFixed(4)} ± ${sd.toFixed(4)}` +
        ` (folds: ${cv.foldAccuracy.map((a) => a.toFixed(3)).join(', ')})\n`,
    );
    out.write(formatReport(cv.report, 'Cross-validation, out-of-fold predictions') + '\n');
    if (heldoutReport) {
      out.write('\n' + formatReport(heldoutReport, `Held-out ${options.heldout} (local pipeline, never trained on)`) + '\n');
      if (leaked.length > 0) out.write(`  warning: ${leaked.length} held-out messages also appear in the corpus\n`);
    }
  }
  return summary;
}

const round = (x: number) => Math.round(x * 10000) / 10000;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`expected a positive whole number, got "${value}"`, value);
  return n;
}

export function registerNluCommands(program: Command): void {
  const nlu = program
    .command('nlu')
    .description('understand messages: one per line on stdin, one JSON object per line on stdout')
    .option('--local', 'never call OpenAI (cédula detector, local model and rules only)')
    .action(async (opts: { local?: boolean }) => {
      const config = loadConfig();
      const logger = cliLogger(config);
      const { understander, close } = await commandUnderstander(config, logger, !opts.local);
      try {
        await runNluStream(understander, process.stdin, process.stdout, { local: opts.local, clock: systemClock });
      } finally {
        await close();
      }
    });

  nlu
    .command('eval')
    .description('evaluate intents on a TSV file (text<TAB>intent lines after a header): accuracy, macro-F1, per-intent precision and recall, confusion matrix')
    .argument('<file>', 'the labelled TSV file, e.g. src/nlu/corpus/heldout.tsv')
    .option('--json', 'print the same report as JSON')
    .option('--openai', 'let low-confidence messages go to OpenAI when it is configured (default: local only)')
    .action(async (file: string, opts: { json?: boolean; openai?: boolean }) => {
      const config = loadConfig();
      const logger = cliLogger(config);
      const rows = await readLabelledTsv(file);
      const { understander, close } = await commandUnderstander(config, logger, Boolean(opts.openai));
      try {
        const { report } = await evaluateUnderstander(understander, rows, { local: !opts.openai, now: systemClock.now(), threshold: config.NLU_CONFIDENCE_THRESHOLD });
        process.stdout.write(opts.json ? JSON.stringify({ file, ...summaryJson(report) }, null, 2) + '\n' : formatReport(report, file) + '\n');
      } finally {
        await close();
      }
    });

  program
    .command('train')
    .description('retrain the intent model from the corpus, write it, and print a k-fold cross-validation report')
    .option('--corpus <file>', 'labelled TSV to train on', TRAIN_CORPUS)
    .option('--heldout <file>', 'labelled TSV to evaluate on, never trained on ("" to skip)', HELDOUT_CORPUS)
    .option('--out <file>', 'where to write the model JSON', DEFAULT_MODEL_PATH)
    .option('--folds <k>', 'cross-validation folds', positiveInt, 5)
    .option('--seed <n>', 'seed of the fold split', positiveInt, 42)
    .option('--json', 'print the report as JSON')
    .option('--store', 'instead of writing the file: a new model version in the database (nlu_models) from the corpus plus the reviewed examples, behind the gate (docs: README, "The learning loop")')
    .option('--tolerance <t>', 'with --store: how far below the active version a gate set may score and still pass', Number)
    .action(async (opts: { corpus: string; heldout: string; out: string; folds: number; seed: number; json?: boolean; store?: boolean; tolerance?: number }) => {
      if (opts.store) {
        const { trainStoredVersion } = await import('./learning-commands.js');
        return trainStoredVersion(opts);
      }
      const config = loadConfig();
      const logger = cliLogger(config);
      await runTrain(
        { ...opts, heldout: opts.heldout || undefined, settings: { ...settingsFromConfig(config), openaiEnabled: false } },
        process.stdout,
        logger,
      );
    });
}
