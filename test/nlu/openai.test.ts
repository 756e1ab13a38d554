import assert from 'node:assert/strict';
import { createLogger } from '../../src/log.js';
import { answer, FakeOpenAi, type FakeBehaviour as Behaviour } from '../support/fake-openai.js';
import {
  createUnderstander,
  estimateCostUsd,
  INTENTS,
  loadIntentModel,
  maskForExternal,
  type IntentModel,
  type LlmCallRecord,
  type NluPipeline,
  type NluSettings,
  type OpenAiOptions,
} from '../../src/nlu/index.js';

/** A fixed "now" for relative dates: the suite never depends on today's date. */
const NOW = new Date('2026-11-23T15:00:00Z');

const quiet = createLogger({ level: 'silent', pretty: false });

describe('nlu: the OpenAI fallback (against a local fake server)', () => {
  const fake = new FakeOpenAi();
  let baseURL: string;
  let model: IntentModel;
  const settings: NluSettings = { confidenceThreshold: 1, openaiEnabled: true, maxChars: 2000 };
  let clock = 1_000_000;
  let sleeps: number[] = [];
  let records: LlmCallRecord[] = [];

  before(async () => {
    baseURL = await fake.start();
    model = await loadIntentModel();
  });

  after(async () => {
    await fake.stop();
  });

  beforeEach(() => {
    fake.reset();
    settings.confidenceThreshold = 1; // every message that is not a cédula goes past the model
    settings.openaiEnabled = true;
    sleeps = [];
    records = [];
  });

  async function pipeline(overrides: Partial<OpenAiOptions> = {}): Promise<NluPipeline> {
    return createUnderstander({
      settings: () => settings,
      model,
      log: quiet,
      recorder: { record: async (call) => void records.push(call) },
      openai: {
        apiKey: 'test-key',
        model: 'gpt-4o-mini',
        baseURL,
        timeoutMs: 2000,
        maxRetries: 3,
        backoffBaseMs: 10,
        breakerThreshold: 5,
        breakerCooldownMs: 30_000,
        now: () => clock,
        sleep: async (ms) => void sleeps.push(ms),
        ...overrides,
      },
    });
  }

  it('asks OpenAI when the model is unsure, with a JSON schema constrained to the 13 intents, and records the call', async () => {
    fake.then(answer('solicitud_plan', 0.87));
    const nlu = await pipeline();
    const r = await nlu.understand('será que me pueden colaborar con 6 cuotas', { now: NOW, conversationId: 'c-1' });
    assert.equal(r.source, 'openai');
    assert.equal(r.intent, 'solicitud_plan');
    assert.equal(r.confidence, 0.87);
    assert.equal(r.entities.installments, 6, 'entities come from the local extractor either way');

    assert.equal(fake.received.length, 1);
    const { body, authorization } = fake.received[0]!;
    assert.equal(authorization, 'Bearer test-key');
    assert.equal(body.model, 'gpt-4o-mini');
    assert.equal(body.response_format.type, 'json_schema');
    assert.equal(body.response_format.json_schema.strict, true);
    assert.deepEqual(body.response_format.json_schema.schema.properties.intent.enum, [...INTENTS]);

    assert.equal(records.length, 1);
    const rec = records[0]!;
    assert.equal(rec.status, 'ok');
    assert.equal(rec.model, 'gpt-4o-mini');
    assert.equal(rec.purpose, 'intent');
    assert.equal(rec.tokensIn, 310);
    assert.equal(rec.tokensOut, 12);
    assert.equal(rec.conversationId, 'c-1');
    assert.equal(rec.costUsd, estimateCostUsd('gpt-4o-mini', 310, 12));
    assert.ok(rec.costUsd > 0);
    assert.ok(rec.latencyMs >= 0);
  });

  it('masks every digit that could be a cédula or a phone before sending', async () => {
    fake.then(answer('fuera_de_tema'));
    const nlu = await pipeline();
    // The detector refuses these numbers (labelled as other things), so the message does go out.
    const text = 'llamen al +57 300 123 4567 o al (601) 234-5678, referencia 87.654.321, tarjeta 4567 8901 2345 6789, ana.perez@correo.com';
    await nlu.understand(text, { now: NOW });
    assert.equal(fake.received.length, 1);
    const sent = fake.received[0]!.body.messages.map((m) => m.content).join('\n');
    assert.doesNotMatch(sent, /\d(?:[\s.,'’\-()]{0,3}\d){5,}/, sent);
    for (const secret of ['300', '4567', '87.654.321', '8901', 'ana.perez']) assert.ok(!sent.includes(secret), `${secret} was sent: ${sent}`);
    assert.match(sent, /\+## ### ### ####/);
    assert.match(sent, /referencia ##\.###\.###/);
  });

  it('maskForExternal hides cédulas in every format and leaves short numbers alone', () => {
    assert.equal(maskForExternal('cc 93.388.915'), 'cc ##.###.###');
    assert.equal(maskForExternal("1'023.456.789"), "#'###.###.###");
    assert.equal(maskForExternal('93 388 915 y 3001234567'), '## ### ### y ##########');
    assert.equal(maskForExternal('a 6 cuotas de 200 el 15/12'), 'a 6 cuotas de 200 el 15/12');
  });

  it('times out (8 s by default; shorter here), does not retry a timeout, and falls to the rules', async () => {
    fake.then({ kind: 'hang' });
    const nlu = await pipeline({ timeoutMs: 150 });
    const r = await nlu.understand('quiero hablar con un asesor', { now: NOW });
    assert.equal(r.source, 'rules');
    assert.equal(r.intent, 'solicitar_asesor');
    assert.equal(fake.received.length, 1);
    assert.equal(records.length, 1);
    assert.equal(records[0]!.status, 'timeout');
    assert.ok(records[0]!.latencyMs >= 100, String(records[0]!.latencyMs));
  });

  it('retries a 429 with backoff, then takes the answer', async () => {
    fake.then({ kind: 'status', status: 429 }, answer('disputa', 0.8));
    const nlu = await pipeline();
    const r = await nlu.understand('eso ya lo habia cancelado hace rato', { now: NOW });
    assert.equal(r.source, 'openai');
    assert.equal(r.intent, 'disputa');
    assert.equal(fake.received.length, 2);
    assert.deepEqual(sleeps, [10]);
    assert.equal(records.length, 1);
    assert.equal(records[0]!.status, 'ok');
  });

  it('backs off exponentially on 5xx, honours Retry-After, and gives up after 3 retries', async () => {
    fake.then(
      { kind: 'status', status: 503 },
      { kind: 'status', status: 500, headers: { 'retry-after-ms': '35' } },
      { kind: 'status', status: 502 },
      { kind: 'status', status: 500 },
    );
    const nlu = await pipeline();
    const r = await nlu.understand('quiero hablar con un asesor', { now: NOW });
    assert.equal(r.source, 'rules');
    assert.equal(fake.received.length, 4);
    assert.deepEqual(sleeps, [10, 35, 40]);
    assert.equal(records.length, 1);
    assert.equal(records[0]!.status, 'error');
    assert.match(records[0]!.error ?? '', /500.*after 4 attempts/);
  });

  it('does not retry a client error (401)', async () => {
    fake.then({ kind: 'status', status: 401 });
    const nlu = await pipeline();
    const r = await nlu.understand('cuanto debo', { now: NOW });
    assert.equal(r.source, 'rules');
    assert.equal(fake.received.length, 1);
    assert.deepEqual(sleeps, []);
    assert.equal(records[0]!.status, 'error');
  });

  it('falls to the rules on a malformed answer: not JSON, or not one of the intents', async () => {
    const nlu = await pipeline();
    for (const content of ['{"intent": "solicitud_plan"', 'claro, el intent es pagar', '{"intent":"pagar","confidence":0.9}', '']) {
      fake.then({ kind: 'answer', content });
      const r = await nlu.understand('no me escriban mas', { now: NOW });
      assert.equal(r.source, 'rules', content);
      assert.equal(r.intent, 'no_contactar');
    }
    assert.deepEqual(
      records.map((c) => c.status),
      ['malformed', 'malformed', 'malformed', 'malformed'],
    );
    assert.ok(records.every((c) => c.tokensIn === 310), 'a malformed answer still cost tokens');
  });

  it('opens the circuit after consecutive failures, stops calling, and probes again after the cool-down', async () => {
    const nlu = await pipeline({ breakerThreshold: 2, maxRetries: 0, breakerCooldownMs: 30_000 });
    fake.then({ kind: 'status', status: 500 }, { kind: 'status', status: 500 });
    await nlu.understand('cuanto debo', { now: NOW });
    await nlu.understand('cuanto debo', { now: NOW });
    assert.equal(fake.received.length, 2);
    assert.equal(nlu.openai?.breaker.state, 'open');

    const skipped = await nlu.understand('cuanto debo', { now: NOW });
    assert.equal(skipped.source, 'rules');
    assert.equal(fake.received.length, 2, 'no call while the circuit is open');
    assert.equal(records.at(-1)!.status, 'circuit_open');

    clock += 29_999;
    await nlu.understand('cuanto debo', { now: NOW });
    assert.equal(fake.received.length, 2, 'still open one millisecond before the cool-down ends');

    clock += 1;
    assert.equal(nlu.openai?.breaker.state, 'half-open');
    fake.then({ kind: 'status', status: 500 });
    await nlu.understand('cuanto debo', { now: NOW });
    assert.equal(fake.received.length, 3, 'one probe in half-open');
    assert.equal(nlu.openai?.breaker.state, 'open', 'a failed probe opens the circuit again');

    clock += 30_000;
    fake.then(answer('consulta_deuda'), answer('consulta_deuda'));
    assert.equal((await nlu.understand('cuanto debo', { now: NOW })).source, 'openai');
    assert.equal(nlu.openai?.breaker.state, 'closed');
    assert.equal((await nlu.understand('cuanto debo', { now: NOW })).source, 'openai');
    assert.equal(fake.received.length, 5);
  });

  it('is never called with --local, when switched off, or when the model is sure', async () => {
    const nlu = await pipeline();
    await nlu.understand('cuanto debo', { now: NOW, local: true });
    settings.openaiEnabled = false;
    await nlu.understand('cuanto debo', { now: NOW });
    settings.openaiEnabled = true;
    settings.confidenceThreshold = 0.6;
    assert.equal((await nlu.understand('cuanto debo', { now: NOW })).source, 'model');
    assert.equal((await nlu.understand('mi cedula es 93388915', { now: NOW })).source, 'cedula');
    assert.equal(fake.received.length, 0);
  });

  it('is absent without an API key', async () => {
    const nlu = await createUnderstander({ settings: () => settings, model, log: quiet, openai: { model: 'gpt-4o-mini', baseURL, timeoutMs: 100, maxRetries: 0 } });
    assert.equal(nlu.openai, undefined);
    assert.equal((await nlu.understand('cuanto debo', { now: NOW })).source, 'rules');
    assert.equal(fake.received.length, 0);
  });

  it('a recorder that fails does not break the turn', async () => {
    fake.then(answer('saludo'));
    const nlu = await createUnderstander({
      settings: () => settings,
      model,
      log: quiet,
      recorder: { record: async () => Promise.reject(new Error('database down')) },
      openai: { apiKey: 'k', model: 'gpt-4o-mini', baseURL, timeoutMs: 1000, maxRetries: 0 },
    });
    assert.equal((await nlu.understand('buenas', { now: NOW })).source, 'openai');
  });

  it('estimates cost from the price table by longest model prefix', () => {
    assert.equal(estimateCostUsd('gpt-4o-mini-2024-07-18', 1_000_000, 1_000_000), 0.75);
    assert.equal(estimateCostUsd('gpt-4o', 1_000_000, 0), 2.5);
    assert.equal(estimateCostUsd('gpt-4.1-nano', 0, 1_000_000), 0.4);
    assert.equal(estimateCostUsd('llama3:8b', 1000, 1000), 0);
  });
});
