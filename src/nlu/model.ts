/**
 * The local intent model: an ensemble of natural's naive-Bayes classifier over
 * Spanish-stemmed chat words and a logistic regression over word and character n-grams
 * (linear.ts), trained from the corpus in src/nlu/corpus and stored as JSON in
 * src/nlu/model. The ensemble's score of an intent is the regression's logit plus a
 * fixed share of the naive Bayes' log posterior; a softmax temperature fitted on
 * cross-validated predictions turns it into a calibrated probability.
 *
 * natural stays the trainer and the storage format. Scoring is done here, from the
 * classifier's learned counts, for two reasons measured in docs/nlu.md: natural builds a
 * vector over the whole vocabulary for every message (too slow for 20,000 msg/s), and its
 * scores are unnormalized products that underflow to 0, not probabilities.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import BayesClassifier from 'natural/lib/natural/classifiers/bayes_classifier';
import PorterStemmerEs from 'natural/lib/natural/stemmers/porter_stemmer_es';
import { AcuerdoError } from '../core/index.js';
import { DEFAULT_LINEAR_FEATURES, LinearModel, linearFeatures, trainLinear, type LinearModelFile, type LinearTrainOptions } from './linear.js';
import { chatWords } from './normalize.js';
import { INTENTS, type Intent } from './types.js';

export const DEFAULT_MODEL_PATH = path.resolve(__dirname, 'model', 'intent-model.json');
export const MODEL_FORMAT = 'acuerdo-intent-model';
/** 2 adds the linear model; a version-1 file (naive Bayes alone) still loads. */
export const MODEL_VERSION = 2;
const READABLE_VERSIONS = [1, 2];
/** The naive Bayes' share in the ensemble's score, chosen by 5-fold cross-validation (docs/nlu.md). */
export const DEFAULT_NB_WEIGHT = 0.1;
/** The only stemmer a model may be restored with; natural silently uses English otherwise. */
export const STEMMER_NAME = 'porter_es';
/** Names the chat normalization of normalize.ts; bump it when that changes what tokens come out. */
export const FEATURIZER_NAME = 'chat-es-v1';

/** The model file is missing, unreadable, or was made for another stemmer or featurizer. */
export class NluModelError extends AcuerdoError {
  override name = 'NluModelError';
}

export interface FeatureOptions {
  /** Adds pairs of consecutive stems ("no_pued") to the single stems. */
  bigrams: boolean;
  /** Marks the first stem of the message ("s_no"): "no ..." opens a refusal. */
  start?: boolean;
}

/** Chosen by 5-fold cross-validation on the training corpus (docs/nlu.md). */
export const DEFAULT_FEATURES: FeatureOptions = { bigrams: true, start: true };
export const DEFAULT_SMOOTHING = 0.1;

/**
 * natural's stemmer interface, implemented with acuerdo's chat normalization and
 * natural's Spanish Porter stemmer. This is what natural's classifier calls on every
 * document; its plain fields are what natural writes to the JSON under `stemmer`.
 */
export interface ChatStemmer {
  readonly name: typeof STEMMER_NAME;
  readonly featurizer: typeof FEATURIZER_NAME;
  readonly options: FeatureOptions;
  stem(token: string): string;
  /** The model's features: the unique stems, plus pairs when enabled. */
  tokenizeAndStem(text: string): string[];
}

const MARKER = /^x(?:num|emoji)/;
const stemCache = new Map<string, string>();
const STEM_CACHE_LIMIT = 50_000;

function stemWord(word: string): string {
  const cached = stemCache.get(word);
  if (cached !== undefined) return cached;
  const stemmed = MARKER.test(word) || word.length < 3 ? word : PorterStemmerEs.stem(word);
  if (stemCache.size >= STEM_CACHE_LIMIT) stemCache.clear();
  stemCache.set(word, stemmed);
  return stemmed;
}

export function createChatStemmer(options: FeatureOptions = DEFAULT_FEATURES): ChatStemmer {
  const stemmer: ChatStemmer = {
    name: STEMMER_NAME,
    featurizer: FEATURIZER_NAME,
    options: { ...options },
    stem: stemWord,
    tokenizeAndStem(text: string): string[] {
      const words = chatWords(text).map(stemWord);
      const out = new Set(words);
      if (options.bigrams) {
        for (let i = 1; i < words.length; i++) out.add(`${words[i - 1]}_${words[i]}`);
      }
      if (options.start && words.length > 0) out.add(`s_${words[0]}`);
      return [...out];
    },
  };
  // natural serializes its stemmer with JSON.stringify: keep the functions out of it.
  for (const key of ['stem', 'tokenizeAndStem'] as const) {
    Object.defineProperty(stemmer, key, { enumerable: false });
  }
  return stemmer;
}

export interface IntentPrediction {
  intent: Intent;
  /** The top intent's probability. */
  confidence: number;
  /** Every intent's probability; sums to 1. */
  probabilities: Record<Intent, number>;
  /** How many of the message's distinct stems the model has seen in training. */
  knownStems: number;
  totalStems: number;
}

/** The JSON file the model lives in. `classifier` is exactly what natural's `save()` writes. */
export interface IntentModelFile {
  format: typeof MODEL_FORMAT;
  version: number;
  stemmer: typeof STEMMER_NAME;
  featurizer: typeof FEATURIZER_NAME;
  features: FeatureOptions;
  /** Softmax temperature fitted on cross-validated predictions (1 = the plain posterior). */
  temperature: number;
  trainedAt: string;
  examples: number;
  /** Summary of the cross-validation run at training time, for humans. */
  crossValidation?: { folds: number; accuracy: number; macroF1: number };
  /** SHA-256 of the corpus file it was trained from: a test checks the model is not stale. */
  corpusSha256?: string;
  classifier: unknown;
  /** The logistic regression over word and character n-grams (version 2). */
  linear?: LinearModelFile;
  /** The naive Bayes' share in the ensemble's score (version 2). */
  nbWeight?: number;
}

export interface LabelledText {
  text: string;
  intent: Intent;
}

/** Raw per-intent log scores of one message, before temperature and coverage. */
interface RawScores {
  scores: Float64Array;
  knownStems: number;
  totalStems: number;
}

export class IntentModel {
  /** Intents in the classifier's order (the order of its learned counts). */
  readonly labels: Intent[];
  private readonly featureIndex: Map<string, number>;
  private readonly logLikelihood: Float64Array;
  private readonly logPrior: Float64Array;
  private readonly unigramKnown: Set<string>;
  /** Where each of `labels` sits in the linear model's labels, when their orders differ. */
  private readonly linearOrder?: Int32Array;

  constructor(
    /** natural's trained classifier, with the Spanish chat stemmer attached. */
    readonly classifier: BayesClassifier,
    readonly stemmer: ChatStemmer,
    readonly temperature: number,
    readonly info: { trainedAt: string; examples: number; crossValidation?: IntentModelFile['crossValidation']; corpusSha256?: string },
    /** Absent in a version-1 model: naive Bayes alone. */
    readonly linear?: LinearModel,
    readonly nbWeight: number = DEFAULT_NB_WEIGHT,
  ) {
    const bayes = classifier.classifier;
    const labels = Object.keys(bayes.classFeatures);
    for (const label of labels) {
      if (!(INTENTS as readonly string[]).includes(label)) throw new NluModelError(`the model knows an unknown intent "${label}"`);
    }
    this.labels = labels as Intent[];
    if (linear && linear.labels.join() !== labels.join()) {
      this.linearOrder = Int32Array.from(labels.map((l) => linear.labels.indexOf(l as Intent)));
      if (this.linearOrder.some((i) => i < 0)) throw new NluModelError('the linear model and the naive Bayes know different intents');
    }
    const k = labels.length;
    const featureNames = Object.keys(classifier.features);
    this.featureIndex = new Map(featureNames.map((f, i) => [f, i]));
    this.unigramKnown = new Set(featureNames.filter((f) => !f.includes('_')));
    this.logPrior = new Float64Array(k);
    this.logLikelihood = new Float64Array(featureNames.length * k);
    labels.forEach((label, c) => {
      const total = bayes.classTotals[label] ?? 1;
      const counts = bayes.classFeatures[label] ?? {};
      this.logPrior[c] = Math.log(total / bayes.totalExamples);
      for (let i = 0; i < featureNames.length; i++) {
        // apparatus' own formula: documents with the feature (+ smoothing) over documents of the label
        const count = counts[i] || bayes.smoothing;
        this.logLikelihood[i * k + c] = Math.log(count / total);
      }
    });
  }

  /** Per-intent log posterior (unnormalized) of a message, as natural's classifier defines it. */
  rawScores(text: string): RawScores {
    const k = this.labels.length;
    const scores = Float64Array.from(this.logPrior);
    const features = this.stemmer.tokenizeAndStem(text);
    let known = 0;
    let total = 0;
    const pairs: string[] = [];
    for (const f of features) {
      const isUnigram = !f.includes('_');
      if (isUnigram) {
        total++;
        if (this.unigramKnown.has(f)) known++;
      } else pairs.push(f);
      const idx = this.featureIndex.get(f);
      if (idx === undefined) continue;
      const row = idx * k;
      for (let c = 0; c < k; c++) scores[c]! += this.logLikelihood[row + c]!;
    }
    if (this.linear) {
      // Ensemble: the regression's logits plus the naive Bayes' normalized log posterior, scaled.
      let max = -Infinity;
      for (let c = 0; c < k; c++) if (scores[c]! > max) max = scores[c]!;
      let sum = 0;
      for (let c = 0; c < k; c++) sum += Math.exp(scores[c]! - max);
      const logZ = max + Math.log(sum);
      // The naive Bayes' pairs are the linear model's only when it builds them all (the default).
      const shared = this.stemmer.options.bigrams && this.stemmer.options.start;
      const logits = shared ? this.linear.logitsOfWords(chatWords(text), pairs, stemWord) : this.linear.logitsOfText(text, stemWord);
      for (let c = 0; c < k; c++) {
        const l = this.linearOrder ? logits[this.linearOrder[c]!]! : logits[c]!;
        scores[c] = l + this.nbWeight * (scores[c]! - logZ);
      }
    }
    return { scores, knownStems: known, totalStems: total };
  }

  predict(text: string): IntentPrediction {
    return this.fromScores(this.rawScores(text), this.temperature);
  }

  /**
   * The normalized posterior, softened by the fitted temperature, then mixed with the
   * uniform distribution in proportion to the share of the message's stems the model has
   * never seen: a message in another language, or made of unknown words, gets a
   * confidence near 1/13 however the few known words lean.
   */
  fromScores(raw: RawScores, temperature: number): IntentPrediction {
    const k = this.labels.length;
    const probabilities = {} as Record<Intent, number>;
    for (const intent of INTENTS) probabilities[intent] = 0;
    if (raw.knownStems === 0 || raw.totalStems === 0) {
      for (const label of this.labels) probabilities[label] = 1 / k;
      return { intent: 'fuera_de_tema', confidence: 1 / k, probabilities, knownStems: 0, totalStems: raw.totalStems };
    }
    let max = -Infinity;
    for (let c = 0; c < k; c++) max = Math.max(max, raw.scores[c]! / temperature);
    let sum = 0;
    const exp = new Float64Array(k);
    for (let c = 0; c < k; c++) {
      exp[c] = Math.exp(raw.scores[c]! / temperature - max);
      sum += exp[c]!;
    }
    const coverage = raw.knownStems / raw.totalStems;
    let best = 0;
    for (let c = 0; c < k; c++) {
      const p = coverage * (exp[c]! / sum) + (1 - coverage) / k;
      probabilities[this.labels[c]!] = p;
      if (p > probabilities[this.labels[best]!]) best = c;
    }
    const intent = this.labels[best]!;
    return { intent, confidence: probabilities[intent], probabilities, knownStems: raw.knownStems, totalStems: raw.totalStems };
  }

  toJSON(): IntentModelFile {
    return {
      format: MODEL_FORMAT,
      version: this.linear ? MODEL_VERSION : 1,
      stemmer: STEMMER_NAME,
      featurizer: FEATURIZER_NAME,
      features: this.stemmer.options,
      temperature: this.temperature,
      trainedAt: this.info.trainedAt,
      examples: this.info.examples,
      ...(this.info.crossValidation ? { crossValidation: this.info.crossValidation } : {}),
      ...(this.info.corpusSha256 ? { corpusSha256: this.info.corpusSha256 } : {}),
      classifier: JSON.parse(JSON.stringify(this.classifier)) as unknown,
      ...(this.linear ? { linear: this.linear.toJSON(), nbWeight: this.nbWeight } : {}),
    };
  }
}

export interface TrainOptions {
  features?: FeatureOptions;
  smoothing?: number;
  /** Softmax temperature; fit it with crossValidate() (the train command does). */
  temperature?: number;
  crossValidation?: IntentModelFile['crossValidation'];
  corpusSha256?: string;
  /** When the model was trained, by the caller's clock (kept in the model file); empty when not given. */
  trainedAt?: Date;
  /** false: naive Bayes alone (a version-1 model). Otherwise how to train the linear half. */
  linear?: false | LinearTrainOptions;
  /** The naive Bayes' share in the ensemble's score. */
  nbWeight?: number;
}

/** The linear half's training settings, chosen by 5-fold cross-validation (docs/nlu.md). */
export const DEFAULT_LINEAR_TRAINING: LinearTrainOptions = { epochs: 30, learningRate: 0.3, l2: 3e-3, seed: 7 };

/** Trains natural's classifier on the examples. Quick: no cross-validation here. */
export function trainIntentModel(examples: LabelledText[], options: TrainOptions = {}): IntentModel {
  const stemmer = createChatStemmer(options.features ?? DEFAULT_FEATURES);
  const classifier = new BayesClassifier(stemmer, options.smoothing ?? DEFAULT_SMOOTHING);
  for (const { text, intent } of examples) classifier.addDocument(text, intent);
  classifier.train();
  const labels = Object.keys(classifier.classifier.classFeatures) as Intent[];
  const linear =
    options.linear === false
      ? undefined
      : trainLinear(
          examples.map((e) => ({ features: linearFeatures(e.text, stemWord, DEFAULT_LINEAR_FEATURES), label: e.intent })),
          labels,
          DEFAULT_LINEAR_FEATURES,
          { ...DEFAULT_LINEAR_TRAINING, ...options.linear },
        );
  return new IntentModel(
    classifier,
    stemmer,
    options.temperature ?? 1,
    {
      trainedAt: options.trainedAt?.toISOString() ?? '',
      examples: examples.length,
      crossValidation: options.crossValidation,
      corpusSha256: options.corpusSha256,
    },
    linear,
    options.nbWeight ?? DEFAULT_NB_WEIGHT,
  );
}

/** Checks a model file and restores natural's classifier with the Spanish chat stemmer. */
export function parseIntentModel(json: unknown): IntentModel {
  if (typeof json !== 'object' || json === null) throw new NluModelError('the model file is not a JSON object');
  const file = json as Partial<IntentModelFile>;
  if (file.format !== MODEL_FORMAT || !READABLE_VERSIONS.includes(file.version as number)) {
    throw new NluModelError(`not an acuerdo intent model (format ${String(file.format)}, version ${String(file.version)})`);
  }
  if (file.stemmer !== STEMMER_NAME) {
    throw new NluModelError(`the model was trained with stemmer "${String(file.stemmer)}"; acuerdo needs "${STEMMER_NAME}"`);
  }
  if (file.featurizer !== FEATURIZER_NAME) {
    throw new NluModelError(`the model was trained with featurizer "${String(file.featurizer)}"; retrain it with \`acuerdo train\``);
  }
  const stored = file.classifier as { stemmer?: { name?: string } } | undefined;
  if (!stored || typeof stored !== 'object' || stored.stemmer?.name !== STEMMER_NAME) {
    throw new NluModelError('the stored classifier does not name the Spanish stemmer');
  }
  // Exactly the features it was trained with: a default here would change what the counts mean.
  const features: FeatureOptions = { bigrams: Boolean(file.features?.bigrams), start: Boolean(file.features?.start) };
  const stemmer = createChatStemmer(features);
  // restore() mutates its argument; work on a copy so the caller's object stays as read.
  const classifier = BayesClassifier.restore(structuredClone(file.classifier), stemmer);
  const temperature = typeof file.temperature === 'number' && file.temperature > 0 ? file.temperature : 1;
  let linear: LinearModel | undefined;
  if (file.version === 2) {
    if (!file.linear || typeof file.linear !== 'object') throw new NluModelError('a version-2 model needs its linear model');
    try {
      linear = LinearModel.fromJSON(file.linear);
    } catch (err) {
      throw new NluModelError(`the linear model is unusable: ${(err as Error).message}`, { cause: err });
    }
  }
  const nbWeight = typeof file.nbWeight === 'number' && Number.isFinite(file.nbWeight) ? file.nbWeight : DEFAULT_NB_WEIGHT;
  return new IntentModel(
    classifier,
    stemmer,
    temperature,
    {
      trainedAt: file.trainedAt ?? '',
      examples: file.examples ?? classifier.docs.length,
      crossValidation: file.crossValidation,
      corpusSha256: file.corpusSha256,
    },
    linear,
    nbWeight,
  );
}

export async function loadIntentModel(file: string = DEFAULT_MODEL_PATH): Promise<IntentModel> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new NluModelError(`cannot read the intent model at ${file}; run \`acuerdo train\``, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new NluModelError(`the intent model at ${file} is not valid JSON`, { cause: err });
  }
  return parseIntentModel(json);
}

export async function saveIntentModel(model: IntentModel, file: string = DEFAULT_MODEL_PATH): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(model.toJSON()) + '\n', 'utf8');
  await fs.rename(tmp, file);
}
