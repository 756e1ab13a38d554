import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { classifyQuestion, type QuestionKind } from '../../src/knowledge/index.js';
import { extractEntities, loadIntentModel, type IntentModel } from '../../src/nlu/index.js';

const SET = path.join(__dirname, '..', 'fixtures', 'knowledge', 'detector.tsv');
const NOW = new Date('2026-11-23T15:00:00Z');

/**
 * The documents' detector measured on a labelled set, with the shipped intent model's
 * intent and the NLU's entities as the engine gives them. Printed per class; the test
 * fails below the figures the README states.
 */
describe('the general-question detector (test/fixtures/knowledge/detector.tsv)', function () {
  let model: IntentModel;
  before(async () => {
    model = await loadIntentModel();
  });

  it('finds general questions and leaves the debtor’s own debt and negotiation moves to the flow', async () => {
    const rows = (parse(await readFile(SET, 'utf8'), { delimiter: '\t', comment: '#', quote: false, from_line: 2, skip_empty_lines: true }) as string[][]).map(([m, l]) => ({ message: m!, label: l as QuestionKind }));
    assert.ok(rows.length >= 60);
    const confusion = new Map<string, number>();
    const wrong: string[] = [];
    for (const { message, label } of rows) {
      const p = model.predict(message);
      const got = classifyQuestion({ text: message, intent: p.intent, confidence: p.confidence, entities: extractEntities(message, NOW) });
      confusion.set(`${label}>${got}`, (confusion.get(`${label}>${got}`) ?? 0) + 1);
      if (got !== label) wrong.push(`${label} → ${got}: ${message}`);
    }
    const count = (f: (label: string, got: string) => boolean) => [...confusion].filter(([k]) => f(...(k.split('>') as [string, string]))).reduce((n, [, v]) => n + v, 0);
    // "general" is what sends text to the documents: its precision keeps negotiation turns away from them.
    const tp = count((l, g) => l === 'general' && g === 'general');
    const precision = tp / count((_l, g) => g === 'general');
    const recall = tp / count((l) => l === 'general');
    const accuracy = count((l, g) => l === g) / rows.length;
    const debtLeaks = count((l, g) => l === 'own_debt' && g === 'general');
    console.log(`      detector: ${rows.length} messages, accuracy ${accuracy.toFixed(3)}, general precision ${precision.toFixed(3)} recall ${recall.toFixed(3)}; own debt sent to documents: ${debtLeaks}${wrong.length ? `\n      ${wrong.join('\n      ')}` : ''}`);
    assert.equal(debtLeaks, 0, 'a question about the debtor’s own debt never goes to the documents');
    assert.ok(precision >= 0.95, `precision ${precision}`);
    assert.ok(recall >= 0.9, `recall ${recall}`);
    assert.ok(accuracy >= 0.9, `accuracy ${accuracy}`);
  });
});
