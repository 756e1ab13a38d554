import assert from 'node:assert/strict';
import { activateVersion, GateError, listInbox, listVersions, readGateSets, reviewItem, rollbackVersion, trainVersion } from '../../src/learning/index.js';
import { readLabelledTsv, TRAIN_CORPUS, type LabelledText } from '../../src/nlu/index.js';
import { Chat, TestClock } from '../engine/support/harness.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { SETTINGS, seedCarlos, startInstance, until, type Instance } from './support.js';

/**
 * The whole loop on two instances sharing one database: a message the model is unsure
 * about lands in the inbox, a supervisor corrects it, a new version is trained from the
 * corpus plus the correction, passes the gate, is activated, and the same message is now
 * understood on both instances (the second one picks the version up by polling).
 */
describe('learning loop: inbox → correction → gated version → every instance', function () {
  this.timeout(90_000);
  const SLANG = 'camellando consigo ese billuyo';
  let db: TestDatabase;
  let clock: TestClock;
  let a: Instance;
  let b: Instance;
  let corpus: LabelledText[];
  let gateSets: { name: string; rows: LabelledText[] }[];

  before(async () => {
    db = await freshDatabase();
    clock = new TestClock();
    await seedCarlos(db.knex);
    a = await startInstance(db.knex, clock);
    b = await startInstance(db.knex, clock, { pollMs: 50 });
    // Kept small so the suite stays fast: half the corpus, the blind set only.
    corpus = (await readLabelledTsv(TRAIN_CORPUS)).filter((_, i) => i % 2 === 0);
    gateSets = (await readGateSets()).filter((s) => s.name === 'blind');
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await db?.drop();
  });

  const train = (extra: Partial<Parameters<typeof trainVersion>[1]> = {}) =>
    trainVersion(db.knex, { clock, by: 'sup@agencia.co', settings: SETTINGS, folds: 2, corpus, gateSets, ...extra });

  it('a version trained on the corpus is kept as a candidate until forced, when the shipped model scores higher', async () => {
    // The baseline both instances will compare with: the corpus as it is, made active.
    const v1 = await train();
    assert.equal(v1.version, 1);
    assert.ok(v1.gate.sets.some((s) => s.name === 'blind' && s.examples > 300), JSON.stringify(v1.gate));
    assert.ok(v1.crossValidation.accuracy > 0.7, JSON.stringify(v1.crossValidation));
    if (!v1.activated) {
      await assert.rejects(activateVersion(db.knex, 1, { by: 'sup@agencia.co', clock: { now: clock.now } }), GateError);
      await activateVersion(db.knex, 1, { by: 'sup@agencia.co', clock: { now: clock.now }, force: true });
    }
    await a.understander.refresh();
    assert.equal(a.understander.active.modelVersion, 1);
  });

  it('the unsure message lands in the inbox, masked, with its prediction, source and surroundings', async () => {
    const chat = new Chat(a.engine, 'loop-1', 'api', clock);
    await chat.send('hola');
    const turn = await chat.send(SLANG);
    assert.ok(turn.nlu);
    assert.ok(turn.nlu.source !== 'model' || turn.nlu.confidence < SETTINGS.confidenceThreshold, JSON.stringify(turn.nlu));
    await chat.send('mi cédula es 93388915 y mi cel 3001234567');

    const inbox = await listInbox(db.knex, { status: 'open' });
    const item = inbox.find((i) => i.text_masked === SLANG);
    assert.ok(item, JSON.stringify(inbox.map((i) => i.text_masked)));
    assert.ok(item.reasons.includes('low_confidence') || item.reasons.includes('rules'), item.reasons.join());
    assert.equal(item.channel, 'api');
    assert.ok(item.around.some((m) => m.this && m.text === SLANG));
    assert.ok(item.around.some((m) => m.direction === 'out'), 'the bot’s answer is shown around it');
    // Nothing unsure about a cédula: the detector is exact.
    assert.ok(!inbox.some((i) => /93388915|3001234567/.test(i.text_masked)));

    const corrected = await reviewItem(db.knex, item.id, { action: 'correct', intent: 'intencion_pago' }, 'sup@agencia.co', { now: clock.now });
    assert.equal(corrected?.status, 'corrected');
    assert.equal(corrected?.reviewed_intent, 'intencion_pago');
    assert.equal(corrected?.reviewed_by, 'sup@agencia.co');
    assert.deepEqual(corrected?.reviewed_at, clock.now());
  });

  it('the retrained version passes the gate, is activated, and both instances now understand the message', async () => {
    const v2 = await train();
    assert.equal(v2.examples.reviewed, 1);
    assert.ok(v2.gate.passed, JSON.stringify(v2.gate));
    assert.equal(v2.activated, true);

    await a.understander.refresh();
    const here = await new Chat(a.engine, 'loop-2', 'api', clock).send(SLANG);
    assert.equal(here.nlu?.intent, 'intencion_pago', JSON.stringify(here.nlu));
    assert.equal(here.nlu?.source, 'model');
    assert.ok((here.nlu?.confidence ?? 0) >= SETTINGS.confidenceThreshold);

    // The other instance was not told: it polls the revision.
    await until(() => b.understander.active.modelVersion === v2.version);
    const there = await new Chat(b.engine, 'loop-3', 'api', clock).send(SLANG);
    assert.equal(there.nlu?.intent, 'intencion_pago');
    assert.equal(there.nlu?.source, 'model');
    // Understood now: it does not land in the inbox again.
    assert.equal((await listInbox(db.knex, { status: 'open' })).filter((i) => i.text_masked === SLANG).length, 0);
  });

  it('a worse version is kept but not activated unless forced; rollback returns to the one before, everywhere', async () => {
    const tiny = corpus.filter((_, i) => i % 8 === 0);
    const v3 = await train({ corpus: tiny });
    assert.equal(v3.activated, false);
    assert.equal(v3.gate.passed, false);
    assert.ok(v3.gate.sets.some((s) => !s.passed && s.candidate.accuracy < s.active.accuracy));
    await assert.rejects(activateVersion(db.knex, v3.version, { by: 'sup@agencia.co', clock: { now: clock.now } }), /scores lower/);
    let versions = await listVersions(db.knex);
    assert.deepEqual(versions.map((v) => [v.version, v.status]), [[3, 'candidate'], [2, 'active'], [1, 'retired']]);

    const forced = await activateVersion(db.knex, v3.version, { by: 'jefe@agencia.co', clock: { now: clock.now }, force: true });
    assert.equal(forced.forced, true);
    await until(() => b.understander.active.modelVersion === 3);

    assert.deepEqual(await rollbackVersion(db.knex, { by: 'jefe@agencia.co', clock: { now: clock.now } }), { active: 2 });
    await until(() => b.understander.active.modelVersion === 2);
    versions = await listVersions(db.knex);
    assert.equal(versions.find((v) => v.status === 'active')?.version, 2);
    const back = await new Chat(b.engine, 'loop-4', 'api', clock).send(SLANG);
    assert.equal(back.nlu?.intent, 'intencion_pago');
  });

  it('the gate reads the stress set only when it exists', async () => {
    const sets = await readGateSets([
      { name: 'blind', file: 'test/fixtures/nlu/blind-eval.tsv' },
      { name: 'stress', file: 'test/fixtures/nlu/does-not-exist.tsv' },
    ]);
    assert.deepEqual(sets.map((s) => s.name), ['blind']);
  });
});
