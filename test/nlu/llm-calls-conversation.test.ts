import assert from 'node:assert/strict';
import { createKnexLlmCallRecorder, createUnderstander, loadIntentModel, type NluPipeline, type NluSettings } from '../../src/nlu/index.js';
import { CARLOS, CARLOS_DIGITS, Chat, engineFixture, insertDebtor, insertPortfolio, quietLog, type EngineFixture } from '../engine/support/harness.js';
import { answer, FakeOpenAi } from '../support/fake-openai.js';
import { testClock } from '../support/ports.js';

/**
 * Through the engine: every llm_calls row names its conversation, a new conversation's
 * included (written once the turn commits), and the debtor's known name never leaves.
 */
describe('nlu: llm_calls rows carry the conversation id (engine, real database, fake OpenAI)', function () {
  this.timeout(60_000);
  const fake = new FakeOpenAi();
  let f: EngineFixture;
  let nlu: NluPipeline;
  // Every message goes past the local model, so every turn asks the fake OpenAI.
  const settings: NluSettings = { confidenceThreshold: 1.01, openaiEnabled: true, maxChars: 2000 };

  before(async () => {
    const baseURL = await fake.start();
    fake.fallback = answer('fuera_de_tema', 0.9);
    const model = await loadIntentModel();
    const clock = testClock();
    // The recorder writes to the fixture's database; the engine is rebuilt with this understander.
    f = await engineFixture();
    nlu = await createUnderstander({
      settings: () => settings,
      model,
      log: quietLog,
      recorder: createKnexLlmCallRecorder(f.knex, { clock }),
      openai: { apiKey: 'k', model: 'gpt-4o-mini', baseURL, timeoutMs: 2000, budgetMs: 2000, maxRetries: 0 },
    });
    f = { ...f, engine: f.makeEngine({ understander: nlu }) };
    const portfolio = await insertPortfolio(f.knex, 'Demo');
    await insertDebtor(f.knex, portfolio, CARLOS);
  });
  after(async () => {
    await fake.stop();
    await f?.db.drop();
  });

  it('the first message of a new conversation and the later ones are all recorded with its id', async () => {
    const chat = new Chat(f.engine);
    const first = await chat.send('buenas tardes');
    await chat.send('93388915');
    await chat.send(CARLOS_DIGITS);
    const later = await chat.send('hola carlos fajardo al habla, que mas');
    await nlu.openai!.flush();
    const rows = (await f.knex('llm_calls').orderBy('id')) as { conversation_id: string | null; status: string }[];
    assert.ok(rows.length >= 3, `rows: ${rows.length}`);
    assert.deepEqual(
      rows.map((r) => r.conversation_id),
      rows.map(() => first.conversationId),
    );
    assert.equal(later.conversationId, first.conversationId);
    const sent = fake.sentTexts().at(-1)!;
    assert.doesNotMatch(sent, /carlos|fajardo/i, sent);
    assert.match(sent, /\[nombre\]/);
  });
});
