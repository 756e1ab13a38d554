/**
 * Measuring the intent layer: reading labelled TSV files, accuracy / macro-F1 /
 * per-intent precision and recall / confusion matrix, and k-fold cross-validation with
 * the temperature fit that calibrates the model's probabilities.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { AcuerdoError, UsageError } from '../core/index.js';
import {
  DEFAULT_FEATURES,
  DEFAULT_SMOOTHING,
  trainIntentModel,
  type FeatureOptions,
  type IntentModel,
  type LabelledText,
} from './model.js';
import { seededRandom } from './linear.js';
import { INTENTS, type Intent, type Understander } from './types.js';

export const CORPUS_DIR = path.resolve(__dirname, 'corpus');
export const TRAIN_CORPUS = path.join(CORPUS_DIR, 'train.tsv');
/** Never trained on: the quality gate of test/nlu and `acuerdo nlu eval`. */
export const HELDOUT_CORPUS = path.join(CORPUS_DIR, 'heldout.tsv');

/** A labelled file has a bad line. `line` is 1-based. */
export class CorpusError extends AcuerdoError {
  override name = 'CorpusError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
  }
}

const INTENT_SET = new Set<string>(INTENTS);

/** Parses `text<TAB>intent` lines; a first line `text<TAB>intent` is a header. Blank lines and `#` comments are skipped. */
export function parseLabelledTsv(content: string, file = '(input)'): LabelledText[] {
  const rows: LabelledText[] = [];
  const lines = content.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/^\uFEFF/, '');
    if (line.trim() === '' || line.startsWith('#')) return;
    const tab = line.lastIndexOf('\t');
    if (tab < 0) throw new CorpusError(file, i + 1, 'expected text<TAB>intent');
    const text = line.slice(0, tab);
    const intent = line.slice(tab + 1).trim();
    if (i === 0 && text.trim().toLowerCase() === 'text' && intent.toLowerCase() === 'intent') return;
    if (!INTENT_SET.has(intent)) throw new CorpusError(file, i + 1, `unknown intent "${intent}" (expected one of ${INTENTS.join(', ')})`);
    rows.push({ text, intent: intent as Intent });
  });
  return rows;
}

export async function readLabelledTsv(file: string): Promise<LabelledText[]> {
  return parseLabelledTsv(await fs.readFile(file, 'utf8'), file);
}

export interface Prediction {
  text: string;
  expected: Intent;
  predicted: Intent;
  confidence: number;
  source?: string;
}

export interface IntentMetrics {
  intent: Intent;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface EvaluationReport {
  n: number;
  accuracy: number;
  macroF1: number;
  perIntent: IntentMetrics[];
  /** confusion[expected][predicted], rows and columns in INTENTS order. */
  confusion: number[][];
  labels: readonly Intent[];
  /** Expected calibration error over 10 confidence bins (0 = confidences match accuracy). */
  calibrationError: number;
  /** How many predictions each layer made, when known. */
  bySource?: Record<string, { n: number; correct: number }>;
  /**
   * Selective accuracy at the fallback threshold: what is answered with confidence at or
   * above it (kept locally) and what falls below it (the messages OpenAI would see).
   */
  selective: { threshold: number; confident: number; confidentCorrect: number; unsure: number; errors: number; confidentErrors: number };
}

/** The confidence below which the pipeline asks the fallback by default (NLU_CONFIDENCE_THRESHOLD). */
export const DEFAULT_REPORT_THRESHOLD = 0.6;

export function evaluatePredictions(predictions: Prediction[], threshold = DEFAULT_REPORT_THRESHOLD): EvaluationReport {
  const index = new Map(INTENTS.map((intent, i) => [intent, i]));
  const confusion = INTENTS.map(() => INTENTS.map(() => 0));
  let correct = 0;
  const bySource: Record<string, { n: number; correct: number }> = {};
  for (const p of predictions) {
    confusion[index.get(p.expected)!]![index.get(p.predicted)!]! += 1;
    const ok = p.expected === p.predicted;
    if (ok) correct++;
    if (p.source) {
      const s = (bySource[p.source] ??= { n: 0, correct: 0 });
      s.n++;
      if (ok) s.correct++;
    }
  }
  const perIntent = INTENTS.map((intent, i): IntentMetrics => {
    const tp = confusion[i]![i]!;
    const support = confusion[i]!.reduce((a, b) => a + b, 0);
    const predictedN = confusion.reduce((a, row) => a + row[i]!, 0);
    const precision = predictedN === 0 ? 0 : tp / predictedN;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { intent, precision, recall, f1, support };
  });
  const present = perIntent.filter((m) => m.support > 0);
  const macroF1 = present.length === 0 ? 0 : present.reduce((a, m) => a + m.f1, 0) / present.length;

  const bins = Array.from({ length: 10 }, () => ({ n: 0, conf: 0, correct: 0 }));
  for (const p of predictions) {
    const bin = bins[Math.min(9, Math.floor(p.confidence * 10))]!;
    bin.n++;
    bin.conf += p.confidence;
    if (p.expected === p.predicted) bin.correct++;
  }
  const n = predictions.length;
  const selective = { threshold, confident: 0, confidentCorrect: 0, unsure: 0, errors: 0, confidentErrors: 0 };
  for (const p of predictions) {
    const ok = p.expected === p.predicted;
    if (!ok) selective.errors++;
    if (p.confidence >= threshold) {
      selective.confident++;
      if (ok) selective.confidentCorrect++;
      else selective.confidentErrors++;
    } else selective.unsure++;
  }
  const calibrationError = n === 0 ? 0 : bins.reduce((a, b) => a + (b.n === 0 ? 0 : Math.abs(b.correct - b.conf)), 0) / n;

  return {
    n,
    accuracy: n === 0 ? 0 : correct / n,
    macroF1,
    perIntent,
    confusion,
    labels: INTENTS,
    calibrationError,
    ...(Object.keys(bySource).length > 0 ? { bySource } : {}),
    selective,
  };
}

const pct = (x: number) => (x * 100).toFixed(1).padStart(5) + '%';

/** A report for a terminal: summary, per-intent precision/recall/F1, confusion matrix. */
export function formatReport(report: EvaluationReport, title = 'Evaluation'): string {
  const out: string[] = [];
  out.push(`${title}: ${report.n} messages`);
  out.push(`  accuracy   ${report.accuracy.toFixed(4)}`);
  out.push(`  macro-F1   ${report.macroF1.toFixed(4)}`);
  out.push(`  calibration error (ECE) ${report.calibrationError.toFixed(4)}`);
  const sel = report.selective;
  out.push(
    `  at confidence ≥ ${sel.threshold}: ${sel.confident} answered (${pct(sel.confident ? sel.confidentCorrect / sel.confident : 0).trim()} right); ` +
      `${sel.unsure} below it (to the fallback); errors ${sel.errors}, of which ${sel.confidentErrors} confident`,
  );
  if (report.bySource) {
    const parts = Object.entries(report.bySource).map(([s, v]) => `${s} ${v.n} (${pct(v.n ? v.correct / v.n : 0).trim()} right)`);
    out.push(`  by source  ${parts.join(', ')}`);
  }
  out.push('');
  out.push(`  ${'intent'.padEnd(20)} precision  recall     F1  support`);
  for (const m of report.perIntent) {
    out.push(`  ${m.intent.padEnd(20)}    ${pct(m.precision)}  ${pct(m.recall)} ${pct(m.f1)}  ${String(m.support).padStart(7)}`);
  }
  out.push('');
  out.push('  confusion matrix (rows: expected, columns: predicted)');
  const short = report.labels.map((l) => l.slice(0, 5));
  out.push(`  ${''.padEnd(20)}${short.map((s) => s.padStart(6)).join('')}`);
  report.confusion.forEach((row, i) => {
    out.push(`  ${report.labels[i]!.padEnd(20)}${row.map((v) => (v === 0 ? '.' : String(v)).padStart(6)).join('')}`);
  });
  return out.join('\n');
}

export { seededRandom };

/** Splits examples into k folds, stratified by intent, deterministically for a seed. */
export function stratifiedFolds(examples: LabelledText[], k: number, seed: number): LabelledText[][] {
  const random = seededRandom(seed);
  const folds: LabelledText[][] = Array.from({ length: k }, () => []);
  const byIntent = new Map<Intent, LabelledText[]>();
  for (const e of examples) {
    const list = byIntent.get(e.intent) ?? [];
    list.push(e);
    byIntent.set(e.intent, list);
  }
  let offset = 0;
  for (const intent of INTENTS) {
    const list = [...(byIntent.get(intent) ?? [])];
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [list[i], list[j]] = [list[j]!, list[i]!];
    }
    list.forEach((e, i) => folds[(i + offset) % k]!.push(e));
    offset += list.length;
  }
  return folds;
}

export interface CrossValidationResult {
  folds: number;
  foldAccuracy: number[];
  /** The temperature that minimizes the negative log-likelihood of the out-of-fold predictions. */
  temperature: number;
  /** Out-of-fold predictions with that temperature. */
  report: EvaluationReport;
}

/**
 * k-fold cross-validation of the local model. Every example is predicted by a model that
 * did not see it; the softmax temperature is fitted on those predictions.
 */
export function crossValidate(
  examples: LabelledText[],
  options: { folds?: number; seed?: number; features?: FeatureOptions; smoothing?: number } = {},
): CrossValidationResult {
  const k = options.folds ?? 5;
  if (k < 2) throw new UsageError('cross-validation needs at least 2 folds', 'folds');
  const folds = stratifiedFolds(examples, k, options.seed ?? 42);
  const outOfFold: { example: LabelledText; model: IntentModel; raw: ReturnType<IntentModel['rawScores']> }[] = [];
  for (let f = 0; f < k; f++) {
    const train = folds.filter((_, i) => i !== f).flat();
    const model = trainIntentModel(train, { features: options.features ?? DEFAULT_FEATURES, smoothing: options.smoothing ?? DEFAULT_SMOOTHING });
    for (const example of folds[f]!) outOfFold.push({ example, model, raw: model.rawScores(example.text) });
  }

  const nll = (t: number) =>
    outOfFold.reduce((sum, { example, model, raw }) => {
      const p = model.fromScores(raw, t).probabilities[example.intent];
      return sum - Math.log(Math.max(p, 1e-12));
    }, 0);
  let temperature = 1;
  let best = Infinity;
  for (let t = 0.25; t <= 8.0001; t += 0.05) {
    const value = nll(t);
    if (value < best) {
      best = value;
      temperature = Number(t.toFixed(2));
    }
  }

  const predictions: Prediction[] = outOfFold.map(({ example, model, raw }) => {
    const p = model.fromScores(raw, temperature);
    return { text: example.text, expected: example.intent, predicted: p.intent, confidence: p.confidence };
  });
  const foldAccuracy = folds.map((fold) => {
    const set = new Set(fold);
    const inFold = predictions.filter((_, i) => set.has(outOfFold[i]!.example));
    return inFold.filter((p) => p.expected === p.predicted).length / Math.max(1, inFold.length);
  });
  return { folds: k, foldAccuracy, temperature, report: evaluatePredictions(predictions) };
}

/** Runs labelled messages through an understander and evaluates what it said. */
export async function evaluateUnderstander(
  understander: Understander,
  rows: LabelledText[],
  options: { local?: boolean; now: Date; threshold?: number },
): Promise<{ report: EvaluationReport; predictions: Prediction[] }> {
  const predictions: Prediction[] = [];
  for (const row of rows) {
    const result = await understander.understand(row.text, { local: options.local ?? true, now: options.now });
    predictions.push({ text: row.text, expected: row.intent, predicted: result.intent, confidence: result.confidence, source: result.source });
  }
  return { report: evaluatePredictions(predictions, options.threshold), predictions };
}
