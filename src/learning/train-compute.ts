/**
 * The CPU-heavy part of training a model version, with no database: k-fold
 * cross-validation, the final model, and the gate — the candidate and the active model,
 * each with its own dictionary, run on every gate set through the local pipeline (cédula
 * detector, model, rules; never OpenAI). Runs in a worker thread (train-worker.ts).
 */
import { createLogger } from '../log.js';
import {
  crossValidate,
  evaluateUnderstander,
  loadIntentModel,
  NluPipeline,
  parseIntentModel,
  trainIntentModel,
  type IntentModel,
  type LabelledText,
  type NluSettings,
  type Understander,
} from '../nlu/index.js';
import { compileDictionary, type DictionarySnapshot } from './dictionary.js';

export interface GateSet {
  name: string;
  rows: LabelledText[];
}

export interface TrainInput {
  /** Corpus plus reviewed examples, as written (the dictionary is applied here). */
  examples: LabelledText[];
  folds: number;
  seed: number;
  dictionary: DictionarySnapshot;
  gateSets: GateSet[];
  /** The active version's model JSON and dictionary; null model: the shipped model file. */
  active: { model: unknown | null; dictionary?: DictionarySnapshot; modelPath?: string };
  settings: NluSettings;
  /** ISO time by the service's clock. */
  now: string;
  /** A gate set on which the candidate scores lower than this below the active fails it. */
  tolerance: number;
}

export interface GateScore {
  accuracy: number;
  macroF1: number;
}

export interface GateResult {
  passed: boolean;
  tolerance: number;
  sets: { name: string; examples: number; candidate: GateScore; active: GateScore; passed: boolean }[];
}

export interface TrainOutput {
  model: unknown;
  crossValidation: { folds: number; accuracy: number; macroF1: number; foldAccuracy: number[]; temperature: number };
  gate: GateResult;
}

const quiet = createLogger({ level: 'silent' });

/** The local pipeline with the dictionary applied before it. */
export function dictionaryUnderstander(model: IntentModel, dictionary: DictionarySnapshot | undefined, settings: NluSettings): Understander {
  const pipeline = new NluPipeline(model, () => settings, undefined, quiet);
  const rewrite = compileDictionary(dictionary);
  return { understand: (text, options) => pipeline.understand(rewrite(text), { ...options, local: true }) };
}

const round = (n: number) => Math.round(n * 10_000) / 10_000;

export async function computeVersion(input: TrainInput): Promise<TrainOutput> {
  const rewrite = compileDictionary(input.dictionary);
  const examples = input.examples.map((e) => ({ text: rewrite(e.text), intent: e.intent }));
  const cv = crossValidate(examples, { folds: input.folds, seed: input.seed });
  const crossValidation = { folds: cv.folds, accuracy: round(cv.report.accuracy), macroF1: round(cv.report.macroF1) };
  const model = trainIntentModel(examples, { temperature: cv.temperature, crossValidation, trainedAt: new Date(input.now) });

  const activeModel = input.active.model ? parseIntentModel(input.active.model) : await loadIntentModel(input.active.modelPath);
  const candidate = dictionaryUnderstander(model, input.dictionary, input.settings);
  const active = dictionaryUnderstander(activeModel, input.active.dictionary, input.settings);
  const now = new Date(input.now);
  const sets: GateResult['sets'] = [];
  for (const set of input.gateSets) {
    const c = (await evaluateUnderstander(candidate, set.rows, { local: true, now })).report;
    const a = (await evaluateUnderstander(active, set.rows, { local: true, now })).report;
    const cs = { accuracy: round(c.accuracy), macroF1: round(c.macroF1) };
    const as = { accuracy: round(a.accuracy), macroF1: round(a.macroF1) };
    sets.push({ name: set.name, examples: set.rows.length, candidate: cs, active: as, passed: cs.accuracy >= as.accuracy - input.tolerance });
  }
  return {
    model: model.toJSON(),
    crossValidation: { ...crossValidation, foldAccuracy: cv.foldAccuracy.map(round), temperature: cv.temperature },
    gate: { passed: sets.every((s) => s.passed), tolerance: input.tolerance, sets },
  };
}
