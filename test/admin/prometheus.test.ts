import { TEST_TIME } from '../support/ports.js';
import assert from 'node:assert/strict';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { seed, startOpsApp, type OpsApp, type SeedIds } from './support.js';

describe('GET /metrics (Prometheus)', () => {
  let db: TestDatabase;
  let app: OpsApp;
  let ids: SeedIds;

  before(async () => {
    db = await freshDatabase();
    ids = await seed(db.knex);
    await db.knex('outbox').insert([
      { conversation_id: ids.agreed, channel: 'telegram', recipient: '777001', payload: JSON.stringify([{ text: 'a' }]), status: 'pending', next_attempt_at: TEST_TIME, created_at: TEST_TIME, updated_at: TEST_TIME  },
      { conversation_id: ids.agreed, channel: 'telegram', recipient: '777001', payload: JSON.stringify([{ text: 'b' }]), status: 'pending', next_attempt_at: TEST_TIME, created_at: TEST_TIME, updated_at: TEST_TIME  },
      { conversation_id: ids.agreed, channel: 'telegram', recipient: '777001', payload: JSON.stringify([{ text: 'c' }]), status: 'deferred', next_attempt_at: TEST_TIME, created_at: TEST_TIME, updated_at: TEST_TIME  },
      { conversation_id: ids.agreed, channel: 'telegram', recipient: '777001', payload: JSON.stringify([{ text: 'd' }]), status: 'sent', next_attempt_at: TEST_TIME, created_at: TEST_TIME, updated_at: TEST_TIME  },
    ]);
    app = await startOpsApp(db.knex);
  });
  after(async () => {
    await app.close();
    await db.drop();
  });

  it('serves the registry in the Prometheus text format, with the database gauges fresh', async () => {
    const res = await fetch(`${app.base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const name of [
      'acuerdo_messages_total',
      'acuerdo_turn_duration_seconds',
      'acuerdo_nlu_results_total',
      'acuerdo_openai_tokens_total',
      'acuerdo_openai_cost_usd_total',
      'acuerdo_outbox_depth',
      'acuerdo_outbox_send_failures_total',
      'acuerdo_agreements_total',
      'acuerdo_handoffs_total',
      'acuerdo_handoff_queue_depth',
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    assert.match(text, /^acuerdo_outbox_depth\{status="pending"\} 2$/m);
    assert.match(text, /^acuerdo_outbox_depth\{status="deferred"\} 1$/m);
    assert.match(text, /^acuerdo_handoff_queue_depth 1$/m);
    assert.match(text, /^acuerdo_process_process_cpu_user_seconds_total /m, 'the default process metrics');
  });

  it('requires METRICS_TOKEN as a Bearer token when one is set', async () => {
    const locked = await startOpsApp(db.knex, { env: { METRICS_TOKEN: 'scrape-token-0123456789' } });
    try {
      assert.equal((await fetch(`${locked.base}/metrics`)).status, 401);
      assert.equal((await fetch(`${locked.base}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
      const ok = await fetch(`${locked.base}/metrics`, { headers: { authorization: 'Bearer scrape-token-0123456789' } });
      assert.equal(ok.status, 200);
    } finally {
      await locked.close();
    }
  });
});
