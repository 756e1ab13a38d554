import path from 'node:path';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log.js';
import { evaluateUnderstander, readLabelledTsv, HELDOUT_CORPUS, TRAIN_CORPUS } from '../../src/nlu/evaluate.js';
import { chatWords } from '../../src/nlu/normalize.js';
import { createUnderstander, INTENTS } from '../../src/nlu/index.js';

/** The quality gate: local intent accuracy on the held-out split, never trained on. */
describe('nlu: held-out accuracy (quality gate)', () => {
  it('the held-out split shares no message with the training corpus, even after normalization', async () => {
    const train = new Set((await readLabelledTsv(TRAIN_CORPUS)).map((e) => chatWords(e.text).join(' ')));
    const heldout = await readLabelledTsv(HELDOUT_CORPUS);
    const leaked = heldout.filter((e) => train.has(chatWords(e.text).join(' ')));
    assert.deepEqual(leaked, []);
    for (const intent of INTENTS) assert.ok(heldout.filter((e) => e.intent === intent).length >= 20, intent);
  });

  it('gets at least 95% of the held-out intents right with the local pipeline (no OpenAI)', async () => {
    const nlu = await createUnderstander({
      settings: () => ({ confidenceThreshold: 0.6, openaiEnabled: false, maxChars: 2000 }),
      log: createLogger({ level: 'silent', pretty: false }),
    });
    const { report, predictions } = await evaluateUnderstander(nlu, await readLabelledTsv(HELDOUT_CORPUS), { local: true, now: new Date('2026-11-23T15:00:00Z') });
    const wrong = predictions.filter((p) => p.predicted !== p.expected).map((p) => `${p.text} (${p.expected} → ${p.predicted})`);
    assert.ok(report.accuracy >= 0.95, `accuracy ${report.accuracy.toFixed(4)}; wrong: ${wrong.join(' | ')}`);
    assert.ok(report.macroF1 >= 0.9, `macro-F1 ${report.macroF1.toFixed(4)}`);
    for (const m of report.perIntent) assert.ok(m.recall >= 0.7, `${m.intent} recall ${m.recall}`);
  });

  it('gets at least 92% right on a blind set written apart from the corpus', async () => {
    // test/fixtures/nlu/blind-eval.tsv was written by someone who never saw the training
    // corpus; it is the honest estimate for new phrasings (the held-out split shares
    // the corpus's author).
    const nlu = await createUnderstander({
      settings: () => ({ confidenceThreshold: 0.6, openaiEnabled: false, maxChars: 2000 }),
      log: createLogger({ level: 'silent', pretty: false }),
    });
    const blind = path.join(__dirname, '..', 'fixtures', 'nlu', 'blind-eval.tsv');
    const { report, predictions } = await evaluateUnderstander(nlu, await readLabelledTsv(blind), { local: true, now: new Date('2026-11-23T15:00:00Z') });
    const wrong = predictions.filter((p) => p.predicted !== p.expected).map((p) => `${p.text} (${p.expected} → ${p.predicted})`);
    assert.ok(report.accuracy >= 0.97, `blind accuracy ${report.accuracy.toFixed(4)}; wrong: ${wrong.join(' | ')}`);
    assert.ok(report.macroF1 >= 0.95, `blind macro-F1 ${report.macroF1.toFixed(4)}`);
  });

  it('gets at least 95% right on the stress set of hard styles (run-ons, two requests, sarcasm, caps, emojis, English, slang, typos)', async () => {
    const nlu = await createUnderstander({
      settings: () => ({ confidenceThreshold: 0.6, openaiEnabled: false, maxChars: 2000 }),
      log: createLogger({ level: 'silent', pretty: false }),
    });
    const stress = path.join(__dirname, '..', 'fixtures', 'nlu', 'stress-eval.tsv');
    const rows = await readLabelledTsv(stress);
    assert.ok(rows.length >= 190, `${rows.length} rows`);
    const train = new Set((await readLabelledTsv(TRAIN_CORPUS)).map((e) => chatWords(e.text).join(' ')));
    assert.deepEqual(rows.filter((e) => train.has(chatWords(e.text).join(' '))), [], 'no stress message is in the training corpus');
    const { report, predictions } = await evaluateUnderstander(nlu, rows, { local: true, now: new Date('2026-11-23T15:00:00Z') });
    const wrong = predictions.filter((p) => p.predicted !== p.expected).map((p) => `${p.text} (${p.expected} → ${p.predicted})`);
    assert.ok(report.accuracy >= 0.95, `stress accuracy ${report.accuracy.toFixed(4)}; wrong: ${wrong.join(' | ')}`);
    for (const m of report.perIntent) assert.ok(m.recall >= 0.8, `${m.intent} recall ${m.recall}`);
  });

  it('is calibrated: what it answers with confidence ≥ 0.6 is right ≥ 99% of the time; its mistakes fall below, to the fallback', async () => {
    const nlu = await createUnderstander({
      settings: () => ({ confidenceThreshold: 0.6, openaiEnabled: false, maxChars: 2000 }),
      log: createLogger({ level: 'silent', pretty: false }),
    });
    const rows = [
      ...(await readLabelledTsv(path.join(__dirname, '..', 'fixtures', 'nlu', 'blind-eval.tsv'))),
      ...(await readLabelledTsv(path.join(__dirname, '..', 'fixtures', 'nlu', 'stress-eval.tsv'))),
    ];
    const predictions = rows.map((r) => ({ ...r, p: nlu.model.predict(r.text) }));
    const confident = predictions.filter((x) => x.p.confidence >= 0.6);
    const right = confident.filter((x) => x.p.intent === x.intent).length;
    assert.ok(right / confident.length >= 0.99, `${right}/${confident.length}`);
    assert.ok(confident.length / rows.length >= 0.9, `only ${confident.length} of ${rows.length} answered locally`);
    const errors = predictions.filter((x) => x.p.intent !== x.intent);
    const confidentErrors = errors.filter((x) => x.p.confidence >= 0.6);
    assert.ok(confidentErrors.length * 2 <= errors.length, `${confidentErrors.length} of ${errors.length} errors are confident: ${confidentErrors.map((x) => x.text).join(' | ')}`);
  });
});
