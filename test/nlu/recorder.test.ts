import { testClock } from '../support/ports.js';
import assert from 'node:assert/strict';
import { createKnexLlmCallRecorder, type LlmCallRecord } from '../../src/nlu/index.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

describe('nlu: recording OpenAI calls in llm_calls', function () {
  this.timeout(60_000);
  let db: TestDatabase;

  before(async () => {
    db = await freshDatabase();
  });

  after(async () => {
    await db?.drop();
  });

  it('writes one row per call with tokens, latency, status, error and cost', async () => {
    const recorder = createKnexLlmCallRecorder(db.knex, { clock: testClock() });
    const ok: LlmCallRecord = {
      model: 'gpt-4o-mini',
      purpose: 'intent',
      tokensIn: 310,
      tokensOut: 12,
      latencyMs: 842.6,
      status: 'ok',
      costUsd: 0.0000537,
      conversationId: '6f1c2a7e-1b7e-4c1e-9a51-2f7b8a9c0d11',
    };
    await recorder.record(ok);
    await recorder.record({ model: 'gpt-4o-mini', purpose: 'intent', tokensIn: 0, tokensOut: 0, latencyMs: 8001, status: 'timeout', error: 'timed out', costUsd: 0, conversationId: 'not-a-uuid' });

    const rows = await db.knex('llm_calls').orderBy('id');
    assert.equal(rows.length, 2);
    assert.deepEqual(
      { ...rows[0], id: undefined, created_at: undefined },
      {
        id: undefined,
        created_at: undefined,
        provider: 'openai',
        model: 'gpt-4o-mini',
        purpose: 'intent',
        tokens_in: 310,
        tokens_out: 12,
        latency_ms: 843,
        status: 'ok',
        error: null,
        cost_usd: 0.000054,
        conversation_id: '6f1c2a7e-1b7e-4c1e-9a51-2f7b8a9c0d11',
      },
    );
    assert.ok(rows[0].created_at instanceof Date);
    assert.equal(rows[1].status, 'timeout');
    assert.equal(rows[1].error, 'timed out');
    assert.equal(rows[1].conversation_id, null, 'an id that is not a conversation uuid is not stored');
  });
});
