import assert from 'node:assert/strict';
import {
  activateVersion,
  compileDictionary,
  createDictionaryEntry,
  deleteDictionaryEntry,
  DictionaryError,
  dictionaryHistory,
  dictionarySnapshot,
  LearningUnderstander,
  readGateSets,
  readState,
  trainVersion,
  updateDictionaryEntry,
} from '../../src/learning/index.js';
import { readLabelledTsv, TRAIN_CORPUS } from '../../src/nlu/index.js';
import { quietLog, TestClock } from '../engine/support/harness.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { SETTINGS, shippedModel } from './support.js';

describe('learning: the semantic dictionary', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  const clock = new TestClock();
  const by = 'sup@agencia.co';

  before(async () => {
    db = await freshDatabase();
  });
  after(async () => {
    await db?.drop();
  });

  it('rewrites whole words and expressions, synonyms too, longest first, ignoring case', () => {
    const rewrite = compileDictionary({
      version: 1,
      entries: [
        { term: 'xq', canonical: 'porque', synonyms: ['xk', 'pq'] },
        { term: 'q', canonical: 'que', synonyms: [] },
        { term: 'palo', canonical: 'millón', synonyms: ['palos'] },
        { term: 'de una', canonical: 'sí, de acuerdo', synonyms: [] },
        { term: 'una', canonical: 'NUNCA', synonyms: [] },
      ],
    });
    assert.equal(rewrite('XQ no puedo, q pena'), 'porque no puedo, que pena');
    assert.equal(rewrite('le doy 2 palos, pq ahorita no'), 'le doy 2 millón, porque ahorita no');
    assert.equal(rewrite('De una'), 'sí, de acuerdo');
    assert.equal(rewrite('quiero pagar'), 'quiero pagar', 'a term inside a word is left alone');
    assert.equal(compileDictionary(undefined)('xq'), 'xq');
  });

  it('versions every change and refuses a repeated term', async () => {
    const luca = await createDictionaryEntry(db.knex, { term: 'luca', canonical: 'mil pesos', category: 'jerga', synonyms: ['lucas'], examples: ['le doy 50 lucas'] }, by, clock);
    assert.equal(luca.version, 1);
    await assert.rejects(createDictionaryEntry(db.knex, { term: 'LUCA', canonical: 'x', category: 'jerga' }, by, clock), DictionaryError);
    const updated = await updateDictionaryEntry(db.knex, luca.id, { active: false }, by, clock);
    assert.equal(updated?.version, 2);
    assert.equal(updated?.active, false);
    const xq = await createDictionaryEntry(db.knex, { term: 'xq', canonical: 'porque', category: 'abreviatura' }, by, clock);
    assert.equal(await deleteDictionaryEntry(db.knex, xq.id, by, clock), true);
    const history = await dictionaryHistory(db.knex);
    assert.deepEqual(history.map((h) => [h.version, h.change, h.changed_by]), [[4, 'delete', by], [3, 'create', by], [2, 'update', by], [1, 'create', by]]);
    assert.equal((await readState(db.knex)).dictionary_version, 4);
    assert.deepEqual((await dictionarySnapshot(db.knex)).entries, [], 'inactive and deleted entries are not applied');
    await assert.rejects(createDictionaryEntry(db.knex, { term: '', canonical: 'x', category: 'jerga' }, by, clock));
  });

  it('takes effect with the next model version, trained on the rewritten corpus', async () => {
    const understander = await LearningUnderstander.create({ knex: db.knex, log: quietLog, base: { settings: () => SETTINGS, log: quietLog, model: await shippedModel() }, pollMs: 0 });
    const before = await understander.understand('no tengo billuyo', { now: clock.now() });
    await createDictionaryEntry(db.knex, { term: 'billuyo', canonical: 'plata', category: 'jerga', synonyms: ['biyuyo'], examples: ['no tengo billuyo'] }, by, clock);
    await understander.refresh();
    assert.deepEqual(await understander.understand('no tengo billuyo', { now: clock.now() }), before, 'not halfway through a model version');

    const corpus = (await readLabelledTsv(TRAIN_CORPUS)).filter((_, i) => i % 3 === 0);
    const gateSets = (await readGateSets()).filter((s) => s.name === 'blind').map((s) => ({ ...s, rows: s.rows.slice(0, 30) }));
    const v = await trainVersion(db.knex, { clock, by, settings: SETTINGS, corpus, gateSets, folds: 2 });
    if (!v.activated) await activateVersion(db.knex, v.version, { by, clock, force: true });
    await understander.refresh();
    const after = await understander.understand('no tengo biyuyo', { now: clock.now() });
    assert.equal(after.intent, 'sin_capacidad_pago', JSON.stringify({ before, after }));
    assert.ok(after.confidence >= SETTINGS.confidenceThreshold);
    understander.stop();
  });
});
