import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import BayesClassifier from 'natural/lib/natural/classifiers/bayes_classifier';
import EnglishStemmer from 'natural/lib/natural/stemmers/porter_stemmer';
import SpanishStemmer from 'natural/lib/natural/stemmers/porter_stemmer_es';
import { readLabelledTsv, stratifiedFolds, TRAIN_CORPUS } from '../../src/nlu/evaluate.js';
import {
  DEFAULT_MODEL_PATH,
  loadIntentModel,
  NluModelError,
  parseIntentModel,
  saveIntentModel,
  trainIntentModel,
  type IntentModel,
} from '../../src/nlu/model.js';
import { INTENTS, type LabelledText } from '../../src/nlu/index.js';
import { linearFeatures } from '../../src/nlu/linear.js';

const PROBES = [
  'hola buenas tardes',
  'cuanto debo',
  'quiero pagar por pse',
  'me dan cuotas?',
  'pagaremos las cuotas el viernes',
  'ya pague eso',
  'no me escriban mas',
  'estoy sin trabajo',
  'si de una',
];

describe('nlu: the local model', () => {
  let corpus: LabelledText[];
  let small: IntentModel;
  let dir: string;

  before(async () => {
    corpus = await readLabelledTsv(TRAIN_CORPUS);
    // A third of the corpus, stratified: enough to learn, quick to train.
    small = trainIntentModel(stratifiedFolds(corpus, 3, 7)[0]!, { temperature: 1.5 });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'acuerdo-nlu-model-'));
  });

  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  describe('save and load', () => {
    it('keeps the Spanish stemmer: the restored classifier stems Spanish, not English', async () => {
      const file = path.join(dir, 'model.json');
      await saveIntentModel(small, file);
      const loaded = await loadIntentModel(file);

      // natural's Spanish Porter stemmer and its English one disagree on Spanish words.
      assert.equal(SpanishStemmer.stem('pagaremos'), 'pag');
      assert.notEqual(EnglishStemmer.stem('pagaremos'), 'pag');
      assert.equal(loaded.classifier.stemmer.stem('pagaremos'), 'pag');
      assert.equal(loaded.classifier.stemmer.stem('cuotas'), SpanishStemmer.stem('cuotas'));
      assert.deepEqual(loaded.classifier.stemmer.tokenizeAndStem('Pagaremos las cuotas'), small.classifier.stemmer.tokenizeAndStem('Pagaremos las cuotas'));
      assert.ok(loaded.classifier.stemmer.tokenizeAndStem('pagaremos').includes('pag'));

      const json = JSON.parse(await fs.readFile(file, 'utf8'));
      assert.equal(json.stemmer, 'porter_es');
      assert.equal(json.classifier.stemmer.name, 'porter_es', 'natural\'s own JSON names the stemmer too');
    });

    it('predicts exactly what the model predicted before saving', async () => {
      const file = path.join(dir, 'same.json');
      await saveIntentModel(small, file);
      const loaded = await loadIntentModel(file);
      assert.equal(loaded.temperature, small.temperature);
      for (const text of PROBES) assert.deepEqual(loaded.predict(text), small.predict(text), text);
    });

    it('documents the trap it avoids: natural restores with the English stemmer when none is given', async () => {
      const json = JSON.parse(JSON.stringify(small.toJSON())) as { classifier: unknown };
      const naive = BayesClassifier.restore(json.classifier);
      assert.equal(naive.stemmer.stem('pagaremos'), EnglishStemmer.stem('pagaremos'));
      assert.notDeepEqual(naive.stemmer.tokenizeAndStem('pagaremos las cuotas'), small.stemmer.tokenizeAndStem('pagaremos las cuotas'));
    });

    it('refuses a model made for another stemmer or featurizer, or that is not a model', async () => {
      const good = small.toJSON();
      const cases: [string, unknown][] = [
        ['english.json', { ...good, stemmer: 'porter' }],
        ['featurizer.json', { ...good, featurizer: 'something-else' }],
        ['inner.json', { ...good, classifier: { ...(good.classifier as object), stemmer: { name: 'porter' } } }],
        ['other.json', { hello: 'world' }],
      ];
      for (const [name, content] of cases) {
        const file = path.join(dir, name);
        await fs.writeFile(file, JSON.stringify(content));
        await assert.rejects(loadIntentModel(file), NluModelError, name);
      }
      const broken = path.join(dir, 'broken.json');
      await fs.writeFile(broken, '{ not json');
      await assert.rejects(loadIntentModel(broken), NluModelError);
      await assert.rejects(loadIntentModel(path.join(dir, 'missing.json')), NluModelError);
    });
  });

  describe('confidence is a probability', () => {
    it('gives every intent a probability in [0, 1], summing to 1', () => {
      for (const text of [...PROBES, 'hello there', '']) {
        const p = small.predict(text);
        const values = INTENTS.map((i) => p.probabilities[i]);
        for (const v of values) assert.ok(v >= 0 && v <= 1, `${text}: ${v}`);
        assert.ok(Math.abs(values.reduce((a, b) => a + b, 0) - 1) < 1e-9, text);
        assert.equal(p.confidence, p.probabilities[p.intent]);
      }
    });

    it('is natural\'s own posterior, normalized, for a naive-Bayes-only model (same counts)', () => {
      const nbOnly = trainIntentModel(stratifiedFolds(corpus, 3, 7)[0]!, { temperature: 1.5, linear: false });
      let compared = 0;
      for (const text of PROBES) {
        const natural = nbOnly.classifier.getClassifications(text);
        const sum = natural.reduce((a, c) => a + c.value, 0);
        assert.ok(sum > 0, 'natural did not underflow on a short message');
        const ours = nbOnly.fromScores(nbOnly.rawScores(text), 1);
        if (ours.knownStems < ours.totalStems) continue; // unknown stems mix in the uniform; compare only fully known messages
        for (const c of natural) assert.ok(Math.abs(c.value / sum - ours.probabilities[c.label as (typeof INTENTS)[number]]) < 1e-9, `${text} ${c.label}`);
        assert.equal(ours.intent, nbOnly.classifier.classify(text));
        compared++;
      }
      assert.ok(compared >= 5, `only ${compared} probes compared`);
    });

    it('the ensemble is the linear model\'s logits plus a share of the naive Bayes\' log posterior', () => {
      const nbOnly = trainIntentModel(stratifiedFolds(corpus, 3, 7)[0]!, { temperature: 1.5, linear: false });
      assert.ok(small.linear, 'trained with its linear half by default');
      for (const text of PROBES) {
        const nb = nbOnly.rawScores(text).scores;
        const max = Math.max(...nb);
        const logZ = max + Math.log(nb.reduce((a, v) => a + Math.exp(v - max), 0));
        const linear = small.linear.logits(linearFeatures(text, small.stemmer.stem, small.linear.options)).logits;
        const fast = small.linear.logitsOfText(text, small.stemmer.stem);
        const ours = small.rawScores(text).scores;
        small.labels.forEach((label, c) => {
          const l = linear[small.linear!.labels.indexOf(label)]!;
          assert.ok(Math.abs(fast[small.linear!.labels.indexOf(label)]! - l) < 1e-9, 'the cached path gives the same logits');
          assert.ok(Math.abs(ours[c]! - (l + small.nbWeight * (nb[nbOnly.labels.indexOf(label)]! - logZ))) < 1e-9, `${text} ${label}`);
        });
      }
    });

    it('a version-1 file (naive Bayes alone) still loads and predicts as before', () => {
      const nbOnly = trainIntentModel(stratifiedFolds(corpus, 3, 7)[0]!, { linear: false });
      const json = nbOnly.toJSON();
      assert.equal(json.version, 1);
      assert.equal(json.linear, undefined);
      const back = parseIntentModel(JSON.parse(JSON.stringify(json)));
      assert.equal(back.linear, undefined);
      for (const text of PROBES) assert.deepEqual(back.predict(text), nbOnly.predict(text));
    });

    it('refuses a version-2 file whose linear model is missing or malformed', () => {
      const json = JSON.parse(JSON.stringify(small.toJSON())) as Record<string, unknown> & { linear: { weights: number[] } };
      assert.equal(json.version, 2);
      assert.throws(() => parseIntentModel({ ...json, linear: undefined }), NluModelError);
      assert.throws(() => parseIntentModel({ ...json, linear: { ...json.linear, weights: json.linear.weights.slice(1) } }), NluModelError);
    });

    it('is low when little of the message is known vocabulary', () => {
      for (const text of ['hello, I would like to talk about my account', 'asdkj qwpoe zmxnc', 'the quick brown fox']) {
        assert.ok(small.predict(text).confidence < 0.3, `${text}: ${small.predict(text).confidence}`);
      }
      assert.ok(small.predict('cuanto debo').confidence > 0.9, 'a message made of known words can be confident');
    });
  });

  describe('the committed model', () => {
    it('loads from src/nlu/model and was trained on the current corpus (retrain with `acuerdo train`)', async () => {
      const model = await loadIntentModel(DEFAULT_MODEL_PATH);
      const sha = createHash('sha256').update(await fs.readFile(TRAIN_CORPUS, 'utf8')).digest('hex');
      assert.equal(model.info.corpusSha256, sha, 'src/nlu/corpus/train.tsv changed since the model was trained');
      assert.equal(model.info.examples, corpus.length);
      assert.deepEqual([...model.labels].sort(), [...INTENTS].sort());
      assert.ok(model.temperature > 0);
    });
  });
});
