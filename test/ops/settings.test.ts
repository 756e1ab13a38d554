import { TEST_TIME, testClock } from '../support/ports.js';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/core/index.js';
import { createLogger } from '../../src/log.js';
import { SettingsStore, SettingsValidationError } from '../../src/ops/settings.js';
import { collectingLogger } from '../admin/support.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

describe('runtime settings store', () => {
  let db: TestDatabase;
  const log = createLogger({ level: 'silent', pretty: false });
  beforeEach(async () => {
    db = await freshDatabase();
  });
  afterEach(async () => {
    await db.drop();
  });

  it('starts from the environment and the seed system’s values', async () => {
    const store = new SettingsStore({ knex: db.knex, config: loadConfig({ NLU_CONFIDENCE_THRESHOLD: '0.55', OPENAI_ENABLED: 'false', CHAT_RATE_LIMIT_PER_MINUTE: '0' }), log, refreshMs: 0, clock: testClock() });
    await store.start();
    assert.deepEqual(store.nlu(), { confidenceThreshold: 0.55, openaiEnabled: false, maxChars: 2000 });
    assert.deepEqual(store.current().timeouts.default, { timeout_hours: 12, warning_hours: 10, max_messages: 30 });
    assert.deepEqual(store.current().timeouts.premium, { timeout_hours: 24, warning_hours: 20, max_messages: 50 });
    assert.equal(store.current().rate_limits.chat_per_sender_per_minute, 0);
  });

  it('applies a change here at once, and on another instance at its next reload', async () => {
    const config = loadConfig({});
    const here = new SettingsStore({ knex: db.knex, config, log, refreshMs: 0, clock: testClock() });
    const there = new SettingsStore({ knex: db.knex, config, log, refreshMs: 0, clock: testClock() });
    await here.start();
    await there.start();
    const seen: number[] = [];
    there.onChange((s) => seen.push(s.nlu.confidence_threshold));
    const nluGetter = () => there.nlu(); // what createUnderstander holds: a getter, read on every call

    await here.update({ nlu: { confidence_threshold: 0.8 } });
    assert.equal(here.nlu().confidenceThreshold, 0.8);
    assert.equal(nluGetter().confidenceThreshold, 0.6, 'the other instance has not reloaded yet');
    await there.refresh();
    assert.equal(nluGetter().confidenceThreshold, 0.8);
    assert.deepEqual(seen, [0.8]);
    await there.refresh();
    assert.deepEqual(seen, [0.8], 'no change, no notification');
  });

  it('reloads on its own timer', async () => {
    const config = loadConfig({});
    const writer = new SettingsStore({ knex: db.knex, config, log, refreshMs: 0, clock: testClock() });
    const reader = new SettingsStore({ knex: db.knex, config, log, refreshMs: 20, clock: testClock() });
    await writer.start();
    await reader.start();
    try {
      const changed = new Promise<number>((resolve) => reader.onChange((s) => resolve(s.rate_limits.admin_per_ip_per_minute)));
      await writer.update({ rate_limits: { admin_per_ip_per_minute: 42 } });
      assert.equal(await changed, 42);
    } finally {
      reader.stop();
    }
  });

  it('keeps concurrent partial updates from different instances', async () => {
    const config = loadConfig({});
    const a = new SettingsStore({ knex: db.knex, config, log, refreshMs: 0, clock: testClock() });
    const b = new SettingsStore({ knex: db.knex, config, log, refreshMs: 0, clock: testClock() });
    await Promise.all([a.start(), b.start()]);
    await Promise.all([a.update({ nlu: { openai_enabled: false } }), b.update({ timeouts: { vip: { max_messages: 120 } } })]);
    await a.refresh();
    assert.equal(a.current().nlu.openai_enabled, false);
    assert.equal(a.current().timeouts.vip.max_messages, 120);
  });

  it('refuses invalid updates without storing anything', async () => {
    const store = new SettingsStore({ knex: db.knex, config: loadConfig({}), log, refreshMs: 0, clock: testClock() });
    await store.start();
    await assert.rejects(store.update({ alerts: { error_rate: 2 } }), (err: SettingsValidationError) => {
      assert.ok(err instanceof SettingsValidationError);
      assert.deepEqual(err.issues.map((i) => i.path), ['alerts.error_rate']);
      return true;
    });
    await assert.rejects(store.update({ timeouts: { vip: { warning_hours: 60 } } }), /warning_hours must be less than timeout_hours/);
    await assert.rejects(store.update({ nlu: { temperature: 1 } }), SettingsValidationError);
    assert.equal(await db.knex('settings').count({ n: '*' }).first().then((r) => Number(r?.n)), 0);
  });

  it('falls back to the defaults, loudly, when the stored overrides are invalid', async () => {
    await db.knex('settings').insert({ key: 'ops.runtime', value: JSON.stringify({ nlu: { confidence_threshold: 'high' } }), updated_at: TEST_TIME });
    const { log: collecting, lines } = collectingLogger();
    const store = new SettingsStore({ knex: db.knex, config: loadConfig({}), log: collecting, refreshMs: 0, clock: testClock() });
    await store.start();
    assert.equal(store.current().nlu.confidence_threshold, 0.6);
    assert.ok(lines().some((l) => l.level === 50 && /stored runtime settings are invalid/.test(String(l.msg))));
  });
});
