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

describe('nlu: the OpenAI fallback stays within the turn budget (real time, fake server)', () => {
  const fake = new FakeOpenAi();
  let baseURL: string;
  let model: IntentModel;
  const settings: NluSettings = { confidenceThreshold: 1, openaiEnabled: true, maxChars: 2000 };
  let records: LlmCallRecord[] = [];

  before(async () => {
    baseURL = await fake.start();
    model = await loadIntentModel();
  });
  after(async () => fake.stop());
  beforeEach(() => {
    fake.reset();
    records = [];
  });

  function pipeline(overrides: Partial<OpenAiOptions> = {}): Promise<NluPipeline> {
    return createUnderstander({
      settings: () => settings,
      model,
      log: quiet,
      recorder: { record: async (call) => void records.push(call) },
      openai: { apiKey: 'k', model: 'gpt-4o-mini', baseURL, timeoutMs: 8000, budgetMs: 400, maxRetries: 3, backoffBaseMs: 50, ...overrides },
    });
  }

  async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
    const t0 = performance.now();
    const r = await f();
    return [r, performance.now() - t0];
  }

  it('a 429 with Retry-After: 30 is not waited for: one attempt, the rules answer at once', async () => {
    fake.then({ kind: 'status', status: 429, headers: { 'retry-after': '30' } }, answer('disputa'));
    const nlu = await pipeline();
    const [r, ms] = await timed(() => nlu.understand('quiero hablar con un asesor', { now: NOW }));
    assert.equal(r.source, 'rules');
    assert.ok(ms < 300, `took ${ms} ms`);
    assert.equal(fake.received.length, 1);
    assert.equal(records[0]!.status, 'error');
    assert.match(records[0]!.error ?? '', /429.*exceed the turn budget/);
  });

  it('a short Retry-After that fits is honoured and the retry answers', async () => {
    fake.then({ kind: 'status', status: 429, headers: { 'retry-after-ms': '120' } }, answer('disputa', 0.8));
    const nlu = await pipeline();
    const [r, ms] = await timed(() => nlu.understand('eso ya lo habia cancelado', { now: NOW }));
    assert.equal(r.source, 'openai');
    assert.equal(fake.received.length, 2);
    assert.ok(fake.received[1]!.at - fake.received[0]!.at >= 110, 'waited the Retry-After');
    assert.ok(ms < 400, `took ${ms} ms`);
  });

  it('5xx are retried only while the budget lasts; the whole fallback ends inside it', async () => {
    fake.fallback = { kind: 'status', status: 500 };
    fake.then({ kind: 'status', status: 502 }, { kind: 'status', status: 500 }, { kind: 'status', status: 503 });
    const nlu = await pipeline({ maxRetries: 10, backoffBaseMs: 60 });
    const [r, ms] = await timed(() => nlu.understand('quiero hablar con un asesor', { now: NOW }));
    assert.equal(r.source, 'rules');
    assert.equal(r.intent, 'solicitar_asesor');
    assert.ok(ms < 400 + 60, `took ${ms} ms with a 400 ms budget`);
    assert.ok(fake.received.length >= 2 && fake.received.length <= 4, String(fake.received.length));
  });

  it('garbage in a 200 is a failed call (not an intent), never a crash', async () => {
    fake.then({ kind: 'garbage', body: '{"choices": "nope"}' });
    const nlu = await pipeline({ maxRetries: 0 });
    const r = await nlu.understand('cuanto debo', { now: NOW });
    assert.equal(r.source, 'rules');
    assert.equal(r.intent, 'consulta_deuda');
    assert.notEqual(records[0]!.status, 'ok');
  });

  it('a hanging provider costs the turn its budget, not the 8 s timeout', async () => {
    fake.then({ kind: 'hang' });
    const nlu = await pipeline({ budgetMs: 300 });
    const [r, ms] = await timed(() => nlu.understand('quiero hablar con un asesor', { now: NOW }));
    assert.equal(r.source, 'rules');
    assert.ok(ms >= 280 && ms < 600, `took ${ms} ms`);
    assert.equal(records[0]!.status, 'timeout');
  });

  it('the first timeout of a burst opens the circuit and ends the calls still waiting', async () => {
    fake.fallback = { kind: 'hang' };
    const nlu = await pipeline({ budgetMs: 2000, timeoutMs: 200 });
    const first = nlu.understand('quiero hablar con un asesor', { now: NOW });
    await new Promise((r) => setTimeout(r, 100));
    const [results, ms] = await timed(() =>
      Promise.all([first, ...Array.from({ length: 4 }, () => nlu.understand('quiero hablar con un asesor', { now: NOW }))]),
    );
    assert.ok(results.every((r) => r.source === 'rules'));
    assert.equal(nlu.openai?.breaker.state, 'open');
    assert.equal(fake.received.length, 5);
    // The four later callers were cut short when the first timed out (about 100 ms after they began).
    assert.ok(ms < 200, `the burst took ${ms} ms`);
    const after = await timed(() => nlu.understand('quiero hablar con un asesor', { now: NOW }));
    assert.ok(after[1] < 50);
    assert.equal(fake.received.length, 5, 'no call while open');
    assert.equal(records.at(-1)!.status, 'circuit_open');
  });

  it('the half-open probe is a single attempt, whatever maxRetries says', async () => {
    let t = 0;
    const nlu = await pipeline({ now: () => t, breakerThreshold: 1, breakerCooldownMs: 1000, maxRetries: 3, backoffBaseMs: 1 });
    fake.then({ kind: 'status', status: 400 });
    await nlu.understand('cuanto debo', { now: NOW });
    assert.equal(nlu.openai?.breaker.state, 'open');
    t = 1000;
    fake.then({ kind: 'status', status: 503 }, answer('consulta_deuda'));
    const r = await nlu.understand('cuanto debo', { now: NOW });
    assert.equal(r.source, 'rules');
    assert.equal(fake.received.length, 2, 'the probe was not retried');
    assert.equal(nlu.openai?.breaker.state, 'open');
  });

  it('records the call with the conversation id once the turn knows it (a promise)', async () => {
    fake.then(answer('saludo'));
    const nlu = await pipeline();
    let resolve!: (id: string | undefined) => void;
    const id = new Promise<string | undefined>((r) => (resolve = r));
    const r = await nlu.understand('buenas', { now: NOW, conversationId: id });
    assert.equal(r.source, 'openai');
    assert.equal(records.length, 0, 'not written before the turn commits');
    resolve('8f14e45f-ceea-467f-a8f5-2a7a1e1f3b11');
    await nlu.openai!.flush();
    assert.equal(records.length, 1);
    assert.equal(records[0]!.conversationId, '8f14e45f-ceea-467f-a8f5-2a7a1e1f3b11');
  });
});

describe('nlu: nothing personal goes to OpenAI (maskForExternal)', () => {
  const cases: [string, string, string[]][] = [
    // [message, what must appear, what must not]
    ['me llamo Juan Carlos Pérez Rodríguez y quiero pagar', 'me llamo [nombre] y quiero pagar', ['Juan', 'Carlos', 'Pérez', 'Rodríguez']],
    ['mi nombre es maria fernanda lopez, cuanto debo', 'mi nombre es [nombre], cuanto debo', ['maria', 'fernanda', 'lopez']],
    ['Buenas, soy Yeison Andrés y no tengo plata', 'soy [nombre] y no tengo plata', ['Yeison', 'Andrés']],
    ['soy pensionado y no me alcanza', 'soy pensionado y no me alcanza', []],
    ['soy el titular de la cuenta', 'soy el titular de la cuenta', []],
    ['mi mamá Rosa Elena está hospitalizada', 'mi mamá [nombre] está hospitalizada', ['Rosa', 'Elena']],
    ['mi esposo wilmer se quedo sin trabajo', 'mi esposo [nombre] se quedo sin trabajo', ['wilmer']],
    ['mi mamá está enferma', 'mi mamá está enferma', []],
    ['de parte de Luz Dary, que no pueden pagar', 'de parte de [nombre]', ['Luz', 'Dary']],
    ['Hable con Pedro en Bancolombia y no me supo decir', 'Hable con [nombre] en Bancolombia', ['Pedro']],
    ['vivo en la calle 45 # 23-67 apto 1203', 'vivo en la [direccion]', ['45', '23-67', '1203']],
    ['mi direccion es Cra 7 No. 12-34 sur, torre 2 apto 501', 'mi direccion es [direccion]', ['12-34', '501']],
    ['manden la carta a la av 68 n° 45a-12', 'a la [direccion]', ['68', '45a']],
    ['diagonal 23 sur # 4-56 interior 2 barrio Las Cruces', '[direccion]', ['23', '4-56', 'Cruces']],
    ['transversal 5 bis 12-30, barrio el Prado', '[direccion]', ['5 bis', '12-30', 'Prado']],
    ['CALLE 10 NO 5-51 APTO 301', '[direccion]', ['10', '5-51', '301']],
    ['escribame a ana.perez_77@correo.com.co', 'escribame a [correo]', ['ana.perez', 'correo.com']],
    ['mi cedula es noventa y tres millones trescientos ochenta y ocho mil novecientos quince', 'mi cedula es [numero]', ['noventa', 'trescientos', 'quince']],
    ['uno cero dos seis tres cuatro cinco seis siete ocho', '[numero]', ['cero', 'siete']],
    ['el numero es 3 cero cero uno dos tres cuatro', '[numero]', ['cero', 'uno dos']],
    ['cc 52_345_678', 'cc ##_###_###', ['52', '345']],
    ['cedula 1 0 2 6 3 4 5 6 7 8', 'cedula # # # #', ['1 0 2 6']],
    ['mi cel 300-123-45-67', 'mi cel ###-###-##-##', ['300', '45-67']],
    ['mi tarjeta termina en 4567', 'termina en ####', ['4567']],
    ['la cuenta de ahorros 12-3456', 'la cuenta de ahorros ##-####', ['3456']],
    ['tarjeta 4567 8901 2345 6789', 'tarjeta #### #### #### ####', ['4567', '6789']],
    ['ALEJANDRO GOMEZ QUIERO PAGAR', 'QUIERO PAGAR', ['ALEJANDRO', 'GOMEZ']],
    ['Ana quiere saber el saldo', '[nombre] quiere saber el saldo', ['Ana ']],
  ];
  for (const [text, expected, hidden] of cases) {
    it(`masks: ${text}`, () => {
      const masked = maskForExternal(text, { names: ['Ana María Pérez Gómez', 'Alejandro Gómez'] });
      assert.ok(masked.includes(expected), `${masked} should contain ${expected}`);
      for (const h of hidden) assert.ok(!masked.includes(h), `${h} leaked: ${masked}`);
      assert.doesNotMatch(masked, /\d(?:[\s.,'’\-()_]{0,3}\d){5,}/, masked);
    });
  }

  it('keeps what the intent needs: short amounts, counts and dates', () => {
    assert.equal(maskForExternal('puedo pagar trescientos mil pesos en dos cuotas'), 'puedo pagar trescientos mil pesos en dos cuotas');
    assert.equal(maskForExternal('a 6 cuotas de 200 el 15/12'), 'a 6 cuotas de 200 el 15/12');
    assert.equal(maskForExternal('QUIERO HABLAR CON UN ASESOR'), 'QUIERO HABLAR CON UN ASESOR');
    assert.equal(maskForExternal('me mandan el link de Nequi por WhatsApp'), 'me mandan el link de Nequi por WhatsApp');
  });

  it('the debtor\'s known name is masked wherever it appears, with or without accents', async () => {
    assert.equal(maskForExternal('aqui habla ana maria perez', { names: ['Ana María Pérez Gómez'] }), 'aqui habla [nombre] [nombre] [nombre]');
    assert.equal(maskForExternal('GOMEZ no debe nada', { names: ['Ana María Pérez Gómez'] }), '[nombre] no debe nada');
  });
});
