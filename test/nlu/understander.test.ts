import assert from 'node:assert/strict';
import { createLogger } from '../../src/log.js';
import { createUnderstander, type NluPipeline, type NluSettings } from '../../src/nlu/index.js';

const quiet = createLogger({ level: 'silent', pretty: false });
const NOW = new Date('2026-11-21T15:00:00Z');

describe('nlu: the understanding pipeline (local)', () => {
  const settings: NluSettings = { confidenceThreshold: 0.6, openaiEnabled: true, maxChars: 2000 };
  let nlu: NluPipeline;

  before(async () => {
    nlu = await createUnderstander({ settings: () => settings, log: quiet });
  });

  afterEach(() => {
    settings.confidenceThreshold = 0.6;
    settings.maxChars = 2000;
  });

  it('answers a cédula first, whatever else the message says, with all the entities', async () => {
    const r = await nlu.understand('ya pague eso, mi cc es 93.388.915 y le puedo dar 200 mil el viernes', { now: NOW });
    assert.equal(r.source, 'cedula');
    assert.equal(r.intent, 'identificacion');
    assert.deepEqual(r.entities, { cedula: '93388915', amount: 200_000, date: '2026-11-27' });
  });

  it('answers from the model when it is sure', async () => {
    const r = await nlu.understand('quiero hablar con un asesor', { now: NOW });
    assert.equal(r.source, 'model');
    assert.equal(r.intent, 'solicitar_asesor');
    assert.ok(r.confidence >= 0.6);
  });

  it('falls to the rules when the model is under the threshold and OpenAI is not configured', async () => {
    settings.confidenceThreshold = 1; // nothing is that sure
    const r = await nlu.understand('quiero hablar con un asesor', { now: NOW });
    assert.equal(r.source, 'rules');
    assert.equal(r.intent, 'solicitar_asesor');
  });

  it('reads the settings on every message', async () => {
    settings.confidenceThreshold = 1;
    assert.equal((await nlu.understand('cuanto debo', { now: NOW })).source, 'rules');
    settings.confidenceThreshold = 0.5;
    assert.equal((await nlu.understand('cuanto debo', { now: NOW })).source, 'model');
  });

  it('keeps the model\'s low-confidence guess when no rule applies', async () => {
    const r = await nlu.understand('zxqw plmk vbnr', { now: NOW });
    assert.equal(r.source, 'model');
    assert.equal(r.intent, 'fuera_de_tema');
    assert.ok(r.confidence < 0.1);
  });

  describe('bad input never crashes', () => {
    it('empty and whitespace-only text', async () => {
      for (const text of ['', '   ', '\n\t\u00a0']) {
        assert.deepEqual(await nlu.understand(text, { now: NOW }), { text: '', intent: 'fuera_de_tema', confidence: 0, source: 'rules', entities: {} });
      }
    });

    it('a 20,000-character message is cut to the configured maximum', async () => {
      const long = 'no tengo plata para pagar '.repeat(800);
      assert.ok(long.length >= 20_000);
      const r = await nlu.understand(long, { now: NOW });
      assert.ok(r.text.length <= 2000 && r.text.length > 1900);
      assert.equal(r.intent, 'sin_capacidad_pago');
      settings.maxChars = 100;
      assert.ok((await nlu.understand(long, { now: NOW })).text.length <= 100);
    });

    it('emoji only: a known one means something, an unknown one gets low confidence', async () => {
      assert.equal((await nlu.understand('👍', { now: NOW })).intent, 'confirmacion');
      const r = await nlu.understand('😂😂🎉🐶', { now: NOW });
      assert.equal(r.intent, 'fuera_de_tema');
      assert.ok(r.confidence < 0.2, String(r.confidence));
    });

    it('control characters are removed from the text', async () => {
      const r = await nlu.understand('cuanto\u0000 debo\u0007\u202e', { now: NOW });
      assert.equal(r.text, 'cuanto debo');
      assert.equal(r.intent, 'consulta_deuda');
    });

    it('a language it was not taught gets low confidence', async () => {
      for (const text of ['Guten Tag, wie geht es Ihnen', 'Ich möchte meine Schulden bezahlen', 'zxqv plorf wubbo']) {
        const r = await nlu.understand(text, { now: NOW });
        assert.ok(r.confidence < 0.35, `${text}: ${r.intent} ${r.confidence}`);
      }
    });

    it('English and Spanglish that debtors write are understood', async () => {
      const cases: [string, string][] = [
        ['YES', 'confirmacion'],
        ['unsubscribe', 'no_contactar'],
        ['let me talk to a manager', 'solicitar_asesor'],
        ['how much do I owe you', 'consulta_deuda'],
        ['the weather is nice today', 'fuera_de_tema'],
      ];
      for (const [text, intent] of cases) assert.equal((await nlu.understand(text, { now: NOW })).intent, intent, text);
    });

    it('a value that is not a string', async () => {
      const r = await nlu.understand(null as unknown as string, { now: NOW });
      assert.equal(r.intent, 'fuera_de_tema');
      assert.equal(r.confidence, 0);
    });
  });
});
