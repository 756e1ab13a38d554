/**
 * The second half of the intent model: a multinomial logistic regression over word and
 * character n-grams, trained here (no library in npm trains one over sparse features
 * both fast and deterministically). Character n-grams survive what stems do not: typos
 * ("qiero pagr"), slang spellings, words glued together, English and Spanglish.
 *
 * Features of a message (counts, scaled by one over the square root of their total):
 *  - w:  the stem of each distinct chat word (the same stems the naive Bayes sees)
 *  - c:  character 3- to 5-grams of each distinct word, padded with spaces (" qui", "uier", "ero ")
 *  - b:  pairs of consecutive stems
 *  - s:  the first stem (a message opening with "no", "si", "hola"…)
 * Trained with AdaGrad on the cross-entropy plus an L2 penalty, from a seeded shuffle:
 * the same corpus gives the same weights.
 */
import { chatWords } from './normalize.js';
import type { Intent } from './types.js';

export interface LinearFeatureOptions {
  charMin: number;
  charMax: number;
}

export const DEFAULT_LINEAR_FEATURES: LinearFeatureOptions = { charMin: 3, charMax: 5 };

export interface LinearTrainOptions {
  epochs?: number;
  learningRate?: number;
  l2?: number;
  seed?: number;
  /** A feature seen in fewer training messages than this is dropped. */
  minCount?: number;
}

/** The JSON form of a trained linear model. Weights are rounded to 4 decimals. */
export interface LinearModelFile {
  labels: Intent[];
  features: string[];
  /** features.length × labels.length, row by feature. */
  weights: number[];
  bias: number[];
  charMin: number;
  charMax: number;
}

/**
 * The model's features of a message, with multiplicity: each distinct word contributes
 * its stem and its character n-grams (a word repeated counts once; two words sharing
 * an n-gram count it twice), then the distinct stem pairs and the opening stem.
 * `stem` maps a chat word to its stem.
 */
export function linearFeatures(text: string, stem: (w: string) => string, options: LinearFeatureOptions = DEFAULT_LINEAR_FEATURES): string[] {
  const words = chatWords(text);
  const out: string[] = [];
  const pairs = new Set<string>();
  const visited = new Set<string>();
  let prev: string | undefined;
  for (const w of words) {
    const s = stem(w);
    pairs.add(prev === undefined ? 's:' + s : 'b:' + prev + '_' + s);
    prev = s;
    if (visited.has(w)) continue;
    visited.add(w);
    for (const f of new Set(wordFeatureNames(w, s, options))) out.push(f);
  }
  for (const p of pairs) out.push(p);
  return out;
}

/** A word's own features: its stem and its character n-grams, padded with spaces. */
function wordFeatureNames(word: string, stemmed: string, options: LinearFeatureOptions): string[] {
  const out = ['w:' + stemmed];
  if (word.startsWith('x') && (word === 'xnum' || word.startsWith('xemoji'))) return out;
  const padded = ' ' + word + ' ';
  for (let n = options.charMin; n <= options.charMax; n++) {
    if (padded.length < n) break;
    for (let j = 0; j + n <= padded.length; j++) out.push('c:' + padded.slice(j, j + n));
  }
  return out;
}

/** mulberry32: a small seeded generator, so folds and training orders are the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A word's own features summed into one vector of logits, cached. */
interface WordVector {
  logits: Float64Array;
  /** How many features the word has, known or not (for the message's length). */
  count: number;
}

const WORD_CACHE_LIMIT = 50_000;

export class LinearModel {
  private readonly index: Map<string, number>;
  private readonly wordCache = new Map<string, WordVector>();
  /** Pair and opening features by the naive Bayes' names for them ("a_b", "s_a"). */
  private readonly pairIndex = new Map<string, number>();

  constructor(
    readonly labels: Intent[],
    readonly features: string[],
    /** features.length × labels.length. */
    readonly weights: Float64Array,
    readonly bias: Float64Array,
    readonly options: LinearFeatureOptions,
  ) {
    this.index = new Map(features.map((f, i) => [f, i]));
    features.forEach((f, i) => {
      if (f.startsWith('b:')) this.pairIndex.set(f.slice(2), i);
      else if (f.startsWith('s:')) this.pairIndex.set('s_' + f.slice(2), i);
    });
  }

  /**
   * The same logits again, for the ensemble: `pairs` are the naive Bayes' own pair and
   * opening features of the message ("a_b", "s_a", built once for both halves), so only
   * the words are looked up here.
   */
  logitsOfWords(words: readonly string[], pairs: readonly string[], stem: (w: string) => string): Float64Array {
    const k = this.labels.length;
    if (words.length === 0) return Float64Array.from(this.bias);
    const sum = new Float64Array(k);
    let count = 0;
    // A word seen earlier in the message counts once: a scan for chat lengths, a Set for run-ons.
    const visited = words.length > 24 ? new Set<string>() : undefined;
    for (let j = 0; j < words.length; j++) {
      const w = words[j]!;
      if (visited) {
        if (visited.has(w)) continue;
        visited.add(w);
      } else {
        let repeated = false;
        for (let q = 0; q < j && !repeated; q++) repeated = words[q] === w;
        if (repeated) continue;
      }
      const v = this.wordVector(w, stem(w));
      count += v.count;
      const l = v.logits;
      for (let c = 0; c < k; c++) sum[c]! += l[c]!;
    }
    for (const p of pairs) {
      count++;
      const i = this.pairIndex.get(p);
      if (i === undefined) continue;
      const row = i * k;
      for (let c = 0; c < k; c++) sum[c]! += this.weights[row + c]!;
    }
    const scale = 1 / Math.sqrt(count);
    const out = Float64Array.from(this.bias);
    for (let c = 0; c < k; c++) out[c]! += sum[c]! * scale;
    return out;
  }

  /** Per-label logits of a message's features (linearFeatures), in `labels` order. */
  logits(features: readonly string[]): { logits: Float64Array; known: number } {
    const k = this.labels.length;
    const out = Float64Array.from(this.bias);
    if (features.length === 0) return { logits: out, known: 0 };
    const scale = 1 / Math.sqrt(features.length);
    let known = 0;
    for (const f of features) {
      const i = this.index.get(f);
      if (i === undefined) continue;
      known++;
      const row = i * k;
      for (let c = 0; c < k; c++) out[c]! += this.weights[row + c]! * scale;
    }
    return { logits: out, known };
  }

  private wordVector(word: string, stemmed: string): WordVector {
    const cached = this.wordCache.get(word);
    if (cached) return cached;
    const k = this.labels.length;
    const names = new Set(wordFeatureNames(word, stemmed, this.options));
    const logits = new Float64Array(k);
    for (const f of names) {
      const i = this.index.get(f);
      if (i === undefined) continue;
      const row = i * k;
      for (let c = 0; c < k; c++) logits[c]! += this.weights[row + c]!;
    }
    const entry = { logits, count: names.size };
    if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
    this.wordCache.set(word, entry);
    return entry;
  }

  /**
   * The same logits as logits(linearFeatures(text)), the fast way: each word's features
   * are summed once and cached, so a message costs one vector addition per word.
   */
  logitsOfText(text: string, stem: (w: string) => string): Float64Array {
    const k = this.labels.length;
    const sum = new Float64Array(k);
    const words = chatWords(text);
    if (words.length === 0) return Float64Array.from(this.bias);
    let count = 0;
    const pairs = new Set<string>();
    const visited = new Set<string>();
    let prev: string | undefined;
    for (const w of words) {
      const s = stem(w);
      pairs.add(prev === undefined ? 's:' + s : 'b:' + prev + '_' + s);
      prev = s;
      if (visited.has(w)) continue;
      visited.add(w);
      const v = this.wordVector(w, s);
      count += v.count;
      for (let c = 0; c < k; c++) sum[c]! += v.logits[c]!;
    }
    for (const p of pairs) {
      count++;
      const i = this.index.get(p);
      if (i === undefined) continue;
      const row = i * k;
      for (let c = 0; c < k; c++) sum[c]! += this.weights[row + c]!;
    }
    const scale = 1 / Math.sqrt(count);
    const out = Float64Array.from(this.bias);
    for (let c = 0; c < k; c++) out[c]! += sum[c]! * scale;
    return out;
  }

  toJSON(): LinearModelFile {
    return {
      labels: this.labels,
      features: this.features,
      weights: Array.from(this.weights, (w) => Math.round(w * 10000) / 10000),
      bias: Array.from(this.bias, (b) => Math.round(b * 10000) / 10000),
      charMin: this.options.charMin,
      charMax: this.options.charMax,
    };
  }

  static fromJSON(file: LinearModelFile): LinearModel {
    const k = file.labels.length;
    if (!Array.isArray(file.features) || !Array.isArray(file.weights) || file.weights.length !== file.features.length * k || file.bias.length !== k) {
      throw new Error('the linear model is malformed (weights do not match features × labels)');
    }
    return new LinearModel(file.labels, file.features, Float64Array.from(file.weights), Float64Array.from(file.bias), {
      charMin: file.charMin,
      charMax: file.charMax,
    });
  }
}

/** Trains the logistic regression on already featurized examples. */
export function trainLinear(
  examples: { features: readonly string[]; label: Intent }[],
  labels: Intent[],
  featureOptions: LinearFeatureOptions,
  options: LinearTrainOptions = {},
): LinearModel {
  const epochs = options.epochs ?? 30;
  const lr = options.learningRate ?? 0.5;
  const l2 = options.l2 ?? 1e-4;
  const minCount = options.minCount ?? 1;
  const k = labels.length;
  const labelIndex = new Map(labels.map((l, i) => [l, i]));

  const counts = new Map<string, number>();
  for (const e of examples) for (const f of e.features) counts.set(f, (counts.get(f) ?? 0) + 1);
  const features = [...counts.keys()].filter((f) => counts.get(f)! >= minCount).sort();
  const index = new Map(features.map((f, i) => [f, i]));
  const rows = examples.map((e) => {
    const ids = Int32Array.from(e.features.map((f) => index.get(f) ?? -1).filter((i) => i >= 0));
    return { ids, scale: 1 / Math.sqrt(Math.max(1, e.features.length)), y: labelIndex.get(e.label)! };
  });

  const w = new Float64Array(features.length * k);
  const g2 = new Float64Array(features.length * k).fill(1e-8);
  const b = new Float64Array(k);
  const gb2 = new Float64Array(k).fill(1e-8);
  const random = seededRandom(options.seed ?? 7);
  const order = rows.map((_, i) => i);
  const z = new Float64Array(k);
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const r of order) {
      const { ids, scale, y } = rows[r]!;
      let max = -Infinity;
      for (let c = 0; c < k; c++) {
        let s = b[c]!;
        for (let t = 0; t < ids.length; t++) s += w[ids[t]! * k + c]! * scale;
        z[c] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let c = 0; c < k; c++) {
        z[c] = Math.exp(z[c]! - max);
        sum += z[c]!;
      }
      for (let c = 0; c < k; c++) {
        const grad = z[c]! / sum - (c === y ? 1 : 0);
        gb2[c]! += grad * grad;
        b[c]! -= (lr * grad) / Math.sqrt(gb2[c]!);
        for (let t = 0; t < ids.length; t++) {
          const at = ids[t]! * k + c;
          const g = grad * scale + l2 * w[at]!;
          g2[at]! += g * g;
          w[at]! -= (lr * g) / Math.sqrt(g2[at]!);
        }
      }
    }
  }
  // Rounded as the JSON keeps them, so a saved and reloaded model predicts exactly the same.
  for (let i = 0; i < w.length; i++) w[i] = Math.round(w[i]! * 10000) / 10000;
  for (let c = 0; c < k; c++) b[c] = Math.round(b[c]! * 10000) / 10000;
  return new LinearModel(labels, features, w, b, featureOptions);
}
