import assert from 'node:assert/strict';
import {
  createFineTuningClient,
  exportFineTuning,
  FineTuneError,
  LearningUnderstander,
  pollFineTuningJobs,
  readState,
  startFineTuningJob,
  SYSTEM_PROMPT,
  useFineTunedModel,
} from '../../src/learning/index.js';
import { recordAgreement } from '../agreements/support.js';
import { CARLOS, insertDebtor, insertPortfolio, quietLog, TestClock } from '../engine/support/harness.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { startFakeFineTuneServer, type FakeFineTuneServer } from './fake-openai-finetune.js';
import { shippedModel } from './support.js';

const DAY = 86_400_000;

describe('learning: fine-tuning export, jobs and the fallback model', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let fake: FakeFineTuneServer;
  const clock = new TestClock();

  /** A negotiation as stored: the debtor's words and the bot's, the agreement, and a rating. */
  async function conversation(i: number, o: { rating?: number; agreement?: boolean; portfolioId: number; at: Date }): Promise<string> {
    // One debtor each: a debtor has one agreement in force at a time.
    const debtorId = await insertDebtor(db.knex, o.portfolioId, { ...CARLOS, cedula: String(70_000_000 + i) });
    let id: string;
    if (o.agreement ?? true) {
      const agreementId = await recordAgreement(db.knex, { debtorId, portfolioId: o.portfolioId, reference: `AC-TEST${String(i).padStart(2, '0')}`, total: 98765, installments: 1, firstDueDate: '2026-12-01', userId: `ft-${i}`, at: o.at });
      id = (await db.knex('agreements').where({ id: agreementId }).first('conversation_id')).conversation_id as string;
    } else {
      const [row] = (await db.knex('conversations')
        .insert({ context: {}, channel: 'telegram', user_id: `ft-${i}`, debtor_id: debtorId, portfolio_id: o.portfolioId, state: 'finalizar_conversacion', status: 'closed', opened_at: o.at, last_activity_at: o.at })
        .returning('id')) as { id: string }[];
      id = row!.id;
    }
    const lines: [string, string, string][] = [
      ['in', 'debtor', 'hola buenas'],
      ['out', 'bot', '¡Hola! 👋 ¿Me regala su número de cédula, por favor?'],
      ['in', 'debtor', 'claro, es 93388915'],
      ['out', 'bot', 'Gracias, Carlos. Usted tiene una obligación con COMPAÑÍA DE FINANCIAMIENTO TUYA S.A. por $123.456.'],
      ['out', 'bot', 'Puede pagar de contado $98.765. ¿Qué le sirve?'],
      ['in', 'debtor', 'de contado, me pueden llamar al 3001234567'],
      ['out', 'agent', 'Hola Carlos, soy Marta, la asesora.'],
      ['out', 'bot', `¡Listo, Carlos! 🎉 Su acuerdo quedó registrado con la referencia AC-TEST${String(i).padStart(2, '0')}.`],
      ['out', 'bot', '¿Cómo le pareció la atención por este chat? Califíquela de 1 a 5 (1 = muy mala, 5 = excelente).'],
      ['in', 'debtor', '5'],
    ];
    await db.knex('messages').insert(lines.map(([direction, author, text], n) => ({ conversation_id: id, direction, author, channel: 'telegram', text, created_at: new Date(o.at.getTime() + n * 1000) })));
    if (o.rating !== undefined) {
      await db.knex('ratings').insert({ conversation_id: id, channel: 'telegram', user_id: `ft-${i}`, debtor_id: debtorId, portfolio_id: o.portfolioId, status: 'done', rating: o.rating, asked_at: o.at, rated_at: o.at });
    }
    return id;
  }

  before(async () => {
    db = await freshDatabase();
    fake = await startFakeFineTuneServer();
    const portfolioId = await insertPortfolio(db.knex, 'TUYA');
    const at = (days: number) => new Date(clock.now().getTime() - days * DAY);
    for (let i = 0; i < 11; i++) await conversation(i, { rating: 5, portfolioId, at: at(20 - i) });
    await conversation(11, { rating: 3, portfolioId, at: at(5) });
    await conversation(12, { rating: 5, agreement: false, portfolioId, at: at(5) });
    await conversation(13, { portfolioId, at: at(5) });
  });
  after(async () => {
    await fake?.close();
    await db?.drop();
  });

  it('exports the chosen conversations as masked chat-format JSONL, with a validation report', async () => {
    const data = await exportFineTuning(db.knex, {}, { epochs: 3 });
    assert.equal(data.report.examples, 11, 'rated 4 or more, with an agreement');
    assert.equal(data.report.conversations, 11);
    assert.deepEqual(data.report.errors, []);
    const lines = data.jsonl.trim().split('\n').map((l) => JSON.parse(l) as { messages: { role: string; content: string }[] });
    assert.equal(lines.length, 11);
    for (const { messages } of lines) {
      assert.deepEqual(messages[0], { role: 'system', content: SYSTEM_PROMPT });
      assert.equal(messages.at(-1)?.role, 'assistant');
      for (let i = 2; i < messages.length; i++) assert.notEqual(messages[i]!.role, messages[i - 1]!.role, 'turns alternate');
    }
    assert.deepEqual(lines[0]!.messages.slice(1), [
      { role: 'user', content: 'hola buenas' },
      { role: 'assistant', content: '¡Hola! 👋 ¿Me regala su número de cédula, por favor?' },
      { role: 'user', content: 'claro, es [numero]' },
      { role: 'assistant', content: 'Gracias, [nombre]. Usted tiene una obligación con COMPAÑÍA DE FINANCIAMIENTO TUYA S.A. por [monto].\nPuede pagar de contado [monto]. ¿Qué le sirve?' },
      { role: 'user', content: 'de contado, me pueden llamar al [telefono]' },
      { role: 'assistant', content: '¡Listo, [nombre]! 🎉 Su acuerdo quedó registrado con la referencia [referencia].' },
    ]);
    // Nothing personal leaves, the agent's words neither, and the rating exchange is cut.
    assert.doesNotMatch(data.jsonl, /93388915|3001234567|Carlos|CARLOS|123\.456|98\.765|AC-TEST|Marta|Califíquela/);
    assert.ok(data.report.tokens > 11 * 50, String(data.report.tokens));
    assert.equal(data.report.billedTokens, data.report.tokens * 3);
    assert.equal(data.report.estimatedCostUsd, Math.round(((data.report.tokens * 3) / 1e6) * 3 * 10_000) / 10_000);

    assert.equal((await exportFineTuning(db.knex, { min_rating: null, outcome: 'any' })).report.examples, 14);
    assert.equal((await exportFineTuning(db.knex, { min_rating: 3 })).report.examples, 12);
    const recent = await exportFineTuning(db.knex, { from: new Date(clock.now().getTime() - 12 * DAY) });
    assert.equal(recent.report.examples, 3);
    assert.match(recent.report.errors.join(), /at least 10 examples/);
  });

  it('starts a job through the SDK, follows it from the scheduler, and the supervisor makes its model the fallback’s', async () => {
    const client = createFineTuningClient({ apiKey: fake.apiKey, baseURL: fake.baseURL })!;
    const started = await startFineTuningJob(db.knex, client, { epochs: 2, learning_rate_multiplier: 0.5 }, { by: 'sup@agencia.co', clock });
    assert.equal(started.status, 'validating_files', started.error ?? '');
    assert.match(started.openai_job_id ?? '', /^ftjob-/);
    assert.equal(started.training_file, fake.files[0]!.id);
    assert.equal(started.conversations_used, 11);
    assert.equal(started.base_model, 'gpt-4o-mini-2024-07-18');
    assert.equal(fake.files[0]!.purpose, 'fine-tune');
    assert.equal(fake.files[0]!.content, (await exportFineTuning(db.knex, {})).jsonl);
    assert.deepEqual(fake.created[0], {
      model: 'gpt-4o-mini-2024-07-18',
      training_file: fake.files[0]!.id,
      suffix: 'acuerdo',
      method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 2, learning_rate_multiplier: 0.5 } } },
    });

    await assert.rejects(useFineTunedModel(db.knex, started.id, { by: 'sup@agencia.co', clock }), FineTuneError);
    assert.deepEqual(await pollFineTuningJobs(db.knex, client, clock), { checked: 1, finished: 0, errors: 0 });
    let row = await db.knex('fine_tuning_jobs').where({ id: started.id }).first();
    assert.equal(row.status, 'running');
    assert.equal(row.progress, 50);
    assert.deepEqual(await pollFineTuningJobs(db.knex, client, clock), { checked: 1, finished: 1, errors: 0 });
    row = await db.knex('fine_tuning_jobs').where({ id: started.id }).first();
    assert.equal(row.status, 'succeeded');
    assert.equal(row.progress, 100);
    assert.equal(row.epochs, 2);
    assert.equal(row.learning_rate_multiplier, 0.5);
    assert.match(row.resulting_model, /^ft:gpt-4o-mini-2024-07-18:acuerdo/);
    assert.ok(row.finished_at);

    const understander = await LearningUnderstander.create({
      knex: db.knex,
      log: quietLog,
      base: {
        settings: () => ({ confidenceThreshold: 0.999, openaiEnabled: true, maxChars: 2000 }),
        openai: { apiKey: fake.apiKey, baseURL: fake.baseURL, model: 'gpt-4o-mini', timeoutMs: 5_000, maxRetries: 0 },
        model: await shippedModel(),
        log: quietLog,
      },
      pollMs: 0,
    });
    await understander.understand('ñapa de la quincena pa cuadrar', { now: clock.now() });
    assert.equal(fake.chatModels.at(-1), 'gpt-4o-mini');
    assert.equal(await useFineTunedModel(db.knex, started.id, { by: 'sup@agencia.co', clock }), row.resulting_model);
    assert.equal((await readState(db.knex)).fallback_model, row.resulting_model);
    await understander.refresh();
    const answer = await understander.understand('ñapa de la quincena pa cuadrar', { now: clock.now() });
    assert.equal(answer.source, 'openai');
    assert.equal(fake.chatModels.at(-1), row.resulting_model, 'the fallback now asks the fine-tuned model');
    understander.stop();
  });

  it('records a job that OpenAI fails, and refuses to start one with too few examples', async () => {
    const client = createFineTuningClient({ apiKey: fake.apiKey, baseURL: fake.baseURL })!;
    fake.failNext = true;
    const started = await startFineTuningJob(db.knex, client, {}, { by: 'sup@agencia.co', clock });
    await pollFineTuningJobs(db.knex, client, clock);
    await pollFineTuningJobs(db.knex, client, clock);
    const row = await db.knex('fine_tuning_jobs').where({ id: started.id }).first();
    assert.equal(row.status, 'failed');
    assert.match(row.error, /invalid_training_file: The file has too few examples/);
    await assert.rejects(useFineTunedModel(db.knex, started.id, { by: 'sup@agencia.co', clock }), /has not succeeded/);

    await assert.rejects(startFineTuningJob(db.knex, client, { filters: { min_rating: 5, from: new Date(clock.now().getTime() - 3 * DAY) } }, { by: 'sup@agencia.co', clock }), FineTuneError);
    const bad = createFineTuningClient({ apiKey: 'sk-wrong', baseURL: fake.baseURL })!;
    const refused = await startFineTuningJob(db.knex, bad, {}, { by: 'sup@agencia.co', clock });
    assert.equal(refused.status, 'failed');
    assert.match(refused.error ?? '', /401|Incorrect API key/);
  });
});
