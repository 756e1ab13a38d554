import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ManualClock } from '../../src/core/index.js';
import { createLogger } from '../../src/log.js';
import { createKnexLlmCallRecorder } from '../../src/nlu/index.js';
import {
  addDocument,
  createKnowledge,
  createOpenAiAnswerWriter,
  createOpenAiEmbedder,
  DEMO_DOCUMENT,
  embeddingColumnKind,
  ensureEmbeddings,
  evaluateRetrieval,
  parseQuestionSet,
  searchChunks,
} from '../../src/knowledge/index.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { TEST_NOW } from '../support/ports.js';
import { FAKE_DIMENSIONS, FakeOpenAiDocuments } from './fake-openai-embeddings.js';

const QUESTIONS = path.join(__dirname, '..', 'fixtures', 'knowledge', 'questions.tsv');
const quiet = createLogger({ level: 'silent', pretty: false });

describe('documents with OpenAI: embeddings once per chunk and model, hybrid retrieval, answers written from the passages (a local fake OpenAI)', function () {
  let db: TestDatabase;
  let fake: FakeOpenAiDocuments;
  let baseURL: string;
  const clock = new ManualClock(TEST_NOW);

  before(async () => {
    db = await freshDatabase();
    fake = new FakeOpenAiDocuments();
    baseURL = await fake.start();
    await addDocument(db.knex, clock, { fileName: 'guia-atencion-deudor.md', data: await readFile(DEMO_DOCUMENT), title: 'Guía de atención al deudor' });
  });
  after(async () => {
    await fake?.stop();
    await db?.drop();
  });

  const embedder = (model = 'text-embedding-3-small') => createOpenAiEmbedder({ apiKey: 'sk-test', baseURL, model });

  it('embeds each chunk once, and again only when the model changes', async () => {
    const chunks = Number(((await db.knex('document_chunks').count({ n: '*' })) as { n: string }[])[0]!.n);
    assert.equal(await ensureEmbeddings(db.knex, embedder()), chunks);
    assert.deepEqual(fake.embeddings.map((r) => r.model), ['text-embedding-3-small']);
    assert.equal(fake.embeddings[0]!.input.length, chunks, 'one batch for the whole document');
    const row = (await db.knex('document_chunks').first('embedding_model', 'embedding_dimensions')) as { embedding_model: string; embedding_dimensions: number };
    assert.deepEqual(row, { embedding_model: 'text-embedding-3-small', embedding_dimensions: FAKE_DIMENSIONS });
    assert.match(await embeddingColumnKind(db.knex), /^(vector|array)$/);

    assert.equal(await ensureEmbeddings(db.knex, embedder()), 0, 'nothing to do the second time');
    assert.equal(fake.embeddings.length, 1, 'no request either');

    assert.equal(await ensureEmbeddings(db.knex, embedder('text-embedding-3-large')), chunks, 'a new model re-embeds every chunk');
    assert.equal(await ensureEmbeddings(db.knex, embedder()), chunks);
    assert.equal(fake.embeddings.length, 3);
  });

  it('ranks hybrid (full-text fused with cosine) and measures hit@1 / hit@3 on the question set', async () => {
    const hits = await searchChunks(db.knex, '¿Dónde queda la oficina de Medellín?', { allPortfolios: true, embedder: embedder(), limit: 3 });
    assert.match(hits[0]!.text, /Carrera 43A/);
    assert.ok(hits[0]!.cosine !== undefined && hits[0]!.cosine > 0, 'the vector side took part');
    const questions = parseQuestionSet(await readFile(QUESTIONS, 'utf8'));
    const fulltext = await evaluateRetrieval(db.knex, questions);
    const hybrid = await evaluateRetrieval(db.knex, questions, embedder());
    assert.ok(questions.length >= 40);
    assert.ok(fulltext.hitAt3 >= 0.9, `full-text hit@3 ${fulltext.hitAt3}`);
    assert.ok(hybrid.hitAt3 >= 0.9, `hybrid hit@3 ${hybrid.hitAt3}`);
  });

  it('writes the answer from the passages only, masks what it sends, names the source, and never passes on a promise about credit reports', async () => {
    const writer = createOpenAiAnswerWriter({ apiKey: 'sk-test', baseURL, model: 'gpt-4o-mini', recorder: createKnexLlmCallRecorder(db.knex, { clock }) });
    const knowledge = createKnowledge({ knex: db.knex, clock, log: quiet, openai: () => ({ embedder: embedder(), writer }) });
    fake.answerWith = () => ({ answered: true, answer: 'La oficina de Cali queda en la Avenida 6N # 23-45, local 102.', source: 0 });
    const cali = await knowledge.consult({ text: 'soy 1032456789, ¿dónde queda la oficina de Cali?', channel: 'api', userId: 'u-1', flowHandles: false });
    assert.ok(cali);
    assert.match(cali.text, /^La oficina de Cali queda en la Avenida 6N # 23-45, local 102\.\n\n📄 Fuente: «Guía de atención al deudor»\.$/);
    const chat = fake.chats.at(-1)!;
    assert.match(chat.messages[0]!.content, /SOLO con lo que dicen los pasajes/);
    assert.match(chat.messages[1]!.content, /Avenida 6N/, 'the passages are in the request');
    const sent = JSON.stringify([chat, fake.embeddings.at(-1)]);
    assert.doesNotMatch(sent, /1032456789/, 'the cédula never reaches OpenAI');

    fake.answerWith = () => ({ answered: false, answer: '', source: 0 });
    const unknown = await knowledge.consult({ text: '¿Cuál es el horario de la oficina de Cali los domingos?', channel: 'api', userId: 'u-1', flowHandles: false });
    assert.match(unknown!.text, /No tengo esa información/);

    fake.answerWith = () => ({ answered: true, answer: 'Cuando pague, lo sacamos de Datacrédito de inmediato.', source: 0 });
    const promise = await knowledge.consult({ text: '¿Cuándo se refleja un pago en Efecty?', channel: 'api', userId: 'u-1', flowHandles: false });
    assert.doesNotMatch(promise!.text, /Datacrédito|de inmediato/);
    assert.match(promise!.text, /hasta 3 días hábiles/, 'the passage itself instead');

    const calls = (await db.knex('llm_calls').orderBy('id').select('purpose', 'model', 'status', 'tokens_in', 'tokens_out')) as Record<string, unknown>[];
    assert.deepEqual(calls, [0, 1, 2].map(() => ({ purpose: 'document_answer', model: 'gpt-4o-mini', status: 'ok', tokens_in: 100, tokens_out: 20 })), 'each written answer is recorded with its tokens');
    const rows = (await db.knex('document_questions').orderBy('id').select('retrieval', 'generated', 'answered')) as { retrieval: string; generated: boolean; answered: boolean }[];
    assert.deepEqual(rows, [
      { retrieval: 'hybrid', generated: true, answered: true },
      { retrieval: 'hybrid', generated: true, answered: false },
      { retrieval: 'hybrid', generated: false, answered: true },
    ]);
  });

  it('falls back to full-text and the passage when OpenAI fails', async () => {
    fake.failEmbeddings = 500;
    try {
      const knowledge = createKnowledge({
        knex: db.knex,
        clock,
        log: quiet,
        openai: () => ({ embedder: createOpenAiEmbedder({ apiKey: 'sk-test', baseURL, maxRetries: 0 }), writer: createOpenAiAnswerWriter({ apiKey: 'sk-test', baseURL: 'http://127.0.0.1:9/v1', model: 'gpt-4o-mini', maxRetries: 0, timeoutMs: 2000 }) }),
      });
      const reply = await knowledge.consult({ text: '¿Qué significa que una deuda esté castigada?', channel: 'api', userId: 'u-2', flowHandles: false });
      assert.match(reply!.text, /dio de baja en su contabilidad/);
      assert.match(reply!.text, /Fuente: «Guía de atención al deudor»/);
    } finally {
      fake.failEmbeddings = undefined;
    }
  });
});
