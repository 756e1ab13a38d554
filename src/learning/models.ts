/**
 * Model versions in nlu_models: trained from the corpus plus the reviewed examples,
 * cross-validated, and judged by the gate sets against the active version. A version that
 * scores lower than the active one on any gate set is kept as a candidate; a supervisor
 * may still force it. Activation and rollback raise learning_state's revision, which every
 * instance polls (understander.ts), so they apply everywhere without a restart.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { AcuerdoError, type Clock } from '../core/index.js';
import type { Logger } from '../log.js';
import { parseLabelledTsv, readLabelledTsv, TRAIN_CORPUS, INTENTS, type Intent, type LabelledText, type NluSettings } from '../nlu/index.js';
import type { Knex } from '../store/index.js';
import { dictionarySnapshot, type DictionarySnapshot } from './dictionary.js';
import { bumpRevision, readState } from './state.js';
import { computeVersion, type GateResult, type TrainInput, type TrainOutput } from './train-compute.js';

/** The gate sets, from the repository root: the blind set, and the stress set when it exists. */
export const GATE_FILES = [
  { name: 'blind', file: path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'nlu', 'blind-eval.tsv') },
  { name: 'stress', file: path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'nlu', 'stress-eval.tsv') },
];

export const MODEL_NAME = 'intent';

/**
 * How much lower than the active version a candidate's accuracy on a gate set may be and
 * still pass: none by default, so a version that scores lower on any gate set waits for a
 * supervisor's forced activation. One added example can move the fitted temperature and
 * flip a message either way, so a supervisor may accept that noise explicitly
 * (`--tolerance 0.01` is one point, 4 of the 390 blind messages).
 */
export const DEFAULT_TOLERANCE = 0;

export class GateError extends AcuerdoError {
  override name = 'GateError';
}
export class TrainingError extends AcuerdoError {
  override name = 'TrainingError';
}

export interface ModelVersionRow {
  id: number;
  version: number;
  status: 'candidate' | 'active' | 'retired' | 'failed';
  metrics: { crossValidation?: TrainOutput['crossValidation']; dictionary?: DictionarySnapshot } | null;
  gate: GateResult | null;
  forced: boolean;
  corpus_examples: number | null;
  reviewed_examples: number | null;
  dictionary_version: number | null;
  trained_by: string | null;
  activated_by: string | null;
  activated_at: Date | null;
  created_at: Date;
  error: string | null;
}

const LIST_COLUMNS = ['id', 'version', 'status', 'metrics', 'gate', 'forced', 'corpus_examples', 'reviewed_examples', 'dictionary_version', 'trained_by', 'activated_by', 'activated_at', 'created_at', 'error'];

export async function listVersions(knex: Knex): Promise<ModelVersionRow[]> {
  return (await knex('nlu_models').where({ name: MODEL_NAME }).whereNotNull('version').orderBy('version', 'desc').select(LIST_COLUMNS)) as ModelVersionRow[];
}

/** The examples supervisors confirmed or corrected in the review inbox (masked text, reviewed intent). */
export async function reviewedExamples(knex: Knex): Promise<LabelledText[]> {
  const rows = (await knex('review_items').whereIn('status', ['confirmed', 'corrected']).whereNotNull('reviewed_intent').orderBy('id').select('text_masked', 'reviewed_intent')) as {
    text_masked: string;
    reviewed_intent: string;
  }[];
  return rows.filter((r) => (INTENTS as readonly string[]).includes(r.reviewed_intent)).map((r) => ({ text: r.text_masked, intent: r.reviewed_intent as Intent }));
}

export async function readGateSets(files = GATE_FILES): Promise<{ name: string; rows: LabelledText[] }[]> {
  const sets: { name: string; rows: LabelledText[] }[] = [];
  for (const { name, file } of files) {
    // The stress set may not exist yet (or on a trimmed install): a missing set is skipped.
    if (!fs.existsSync(file)) continue;
    sets.push({ name, rows: parseLabelledTsv(await fs.promises.readFile(file, 'utf8'), file) });
  }
  return sets;
}

/** Runs the training in a worker thread; in-process when `inProcess` (the CLI, which has nothing else to do). */
export function runTraining(input: TrainInput, options: { inProcess?: boolean } = {}): Promise<TrainOutput> {
  if (options.inProcess) return computeVersion(input);
  const file = path.join(__dirname, `train-worker${path.extname(__filename)}`);
  return new Promise((resolve, reject) => {
    // Run from TypeScript sources (tsx: the CLI, tests), the worker registers tsx itself.
    const worker = file.endsWith('.ts')
      ? new Worker(`require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register(); require(${JSON.stringify(file)});`, { eval: true, workerData: input })
      : new Worker(file, { workerData: input });
    let settled = false;
    worker.once('message', (m: { ok: boolean; result?: TrainOutput; error?: string }) => {
      settled = true;
      if (m.ok && m.result) resolve(m.result);
      else reject(new TrainingError(m.error ?? 'training failed'));
    });
    worker.once('error', (err) => {
      if (!settled) reject(new TrainingError(`the training worker failed: ${err.message}`, { cause: err }));
      settled = true;
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new TrainingError(`the training worker exited with code ${code}`));
    });
  });
}

export interface TrainVersionOptions {
  clock: Clock;
  by: string;
  settings: NluSettings;
  log?: Logger;
  /** The labelled corpus (default: src/nlu/corpus/train.tsv). */
  corpus?: LabelledText[];
  gateSets?: { name: string; rows: LabelledText[] }[];
  folds?: number;
  seed?: number;
  /** How far below the active version a gate set's accuracy may be and still pass (default DEFAULT_TOLERANCE). */
  tolerance?: number;
  inProcess?: boolean;
  /** The shipped model file, the baseline while no version is active. */
  modelPath?: string;
}

export interface TrainVersionResult {
  id: number;
  version: number;
  activated: boolean;
  gate: GateResult;
  crossValidation: TrainOutput['crossValidation'];
  examples: { corpus: number; reviewed: number };
}

async function activeVersion(knex: Knex): Promise<{ id: number; model: unknown; metrics: ModelVersionRow['metrics'] } | undefined> {
  const state = await readState(knex);
  if (state.active_model_id === null) return undefined;
  return (await knex('nlu_models').where({ id: state.active_model_id }).first('id', 'model', 'metrics')) as { id: number; model: unknown; metrics: ModelVersionRow['metrics'] } | undefined;
}

/**
 * Trains, evaluates and stores a new version; activates it when it passes the gate.
 * The version number is taken when the row is written, so two trainings never collide.
 */
export async function trainVersion(knex: Knex, options: TrainVersionOptions): Promise<TrainVersionResult> {
  const corpus = options.corpus ?? (await readLabelledTsv(TRAIN_CORPUS));
  const reviewed = await reviewedExamples(knex);
  const dictionary = await dictionarySnapshot(knex);
  const active = await activeVersion(knex);
  const gateSets = options.gateSets ?? (await readGateSets());
  const startedAt = options.clock.now();
  const output = await runTraining(
    {
      examples: [...corpus, ...reviewed],
      folds: options.folds ?? 5,
      seed: options.seed ?? 42,
      dictionary,
      gateSets,
      active: { model: active?.model ?? null, dictionary: active?.metrics?.dictionary, modelPath: options.modelPath },
      settings: options.settings,
      now: startedAt.toISOString(),
      tolerance: options.tolerance ?? DEFAULT_TOLERANCE,
    },
    { inProcess: options.inProcess },
  );
  const now = options.clock.now();
  return knex.transaction(async (trx) => {
    // One writer of version numbers at a time.
    await trx.raw('select pg_advisory_xact_lock(hashtextextended(?, 0))', ['acuerdo:nlu_models:version']);
    const last = (await trx('nlu_models').max('version as v').first()) as { v: number | null };
    const version = (last.v ?? 0) + 1;
    const [row] = (await trx('nlu_models')
      .insert({
        name: MODEL_NAME,
        version,
        model: JSON.stringify(output.model),
        metrics: JSON.stringify({ crossValidation: output.crossValidation, dictionary }),
        gate: JSON.stringify(output.gate),
        status: 'candidate',
        corpus_examples: corpus.length,
        reviewed_examples: reviewed.length,
        dictionary_version: dictionary.version,
        trained_by: options.by,
        created_at: now,
      })
      .returning('id')) as { id: number }[];
    const id = row!.id;
    // Activated only if the active version is still the one it was compared with.
    const stillActive = (await readState(trx)).active_model_id === (active?.id ?? null);
    const activated = output.gate.passed && stillActive;
    if (activated) await setActive(trx, id, options.by, now, false);
    options.log?.info({ version, activated, gate: output.gate.sets.map((s) => `${s.name} ${s.candidate.accuracy} vs ${s.active.accuracy}`) }, 'nlu model version trained');
    return { id, version, activated, gate: output.gate, crossValidation: output.crossValidation, examples: { corpus: corpus.length, reviewed: reviewed.length } };
  });
}

async function setActive(trx: Knex.Transaction, id: number | null, by: string, now: Date, forced: boolean): Promise<void> {
  await trx('nlu_models').where({ name: MODEL_NAME, status: 'active' }).update({ status: 'retired' });
  if (id !== null) await trx('nlu_models').where({ id }).update({ status: 'active', activated_by: by, activated_at: now, forced });
  await bumpRevision(trx, now, by, { active_model_id: id });
}

/**
 * Makes a version the active one on every instance. A version that failed its gate needs
 * `force` (a supervisor's decision, recorded in `forced`).
 */
export async function activateVersion(knex: Knex, version: number, options: { by: string; clock: Clock; force?: boolean }): Promise<ModelVersionRow> {
  return knex.transaction(async (trx) => {
    const row = (await trx('nlu_models').where({ name: MODEL_NAME, version }).forUpdate().first(LIST_COLUMNS)) as ModelVersionRow | undefined;
    if (!row) throw new GateError(`there is no model version ${version}`);
    if (row.status === 'failed') throw new GateError(`model version ${version} failed to train`);
    if (!row.gate?.passed && !options.force) {
      throw new GateError(`model version ${version} scores lower than the active one on a gate set; a supervisor may force it`);
    }
    await setActive(trx, row.id, options.by, options.clock.now(), Boolean(options.force && !row.gate?.passed));
    return (await trx('nlu_models').where({ id: row.id }).first(LIST_COLUMNS)) as ModelVersionRow;
  });
}

/**
 * Goes back to the version active before the current one (the most recently activated
 * retired version), or to the shipped model file when there is none. No gate: a rollback
 * returns to something that was already in service.
 */
export async function rollbackVersion(knex: Knex, options: { by: string; clock: Clock }): Promise<{ active: number | null }> {
  return knex.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(hashtextextended(?, 0))', ['acuerdo:nlu_models:version']);
    const state = await readState(trx);
    const previous = (await trx('nlu_models')
      .where({ name: MODEL_NAME, status: 'retired' })
      .whereNot({ id: state.active_model_id ?? -1 })
      .whereNotNull('activated_at')
      .orderBy('activated_at', 'desc')
      .orderBy('id', 'desc')
      .first('id', 'version')) as { id: number; version: number } | undefined;
    const now = options.clock.now();
    await trx('nlu_models').where({ name: MODEL_NAME, status: 'active' }).update({ status: 'retired', activated_at: null });
    if (previous) await trx('nlu_models').where({ id: previous.id }).update({ status: 'active', activated_by: options.by, activated_at: now });
    await bumpRevision(trx, now, options.by, { active_model_id: previous?.id ?? null });
    return { active: previous?.version ?? null };
  });
}
