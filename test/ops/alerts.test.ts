import assert from 'node:assert/strict';
import { loadConfig } from '../../src/core/index.js';
import { createLogger } from '../../src/log.js';
import { registry } from '../../src/metrics.js';
import { AlertMonitor, listAlerts } from '../../src/ops/alerts.js';
import { SettingsStore } from '../../src/ops/settings.js';
import { TurnStats } from '../../src/ops/turn-stats.js';
import { collectingLogger } from '../admin/support.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

describe('turn statistics and alerts', () => {
  let db: TestDatabase;
  let now: Date;
  let settings: SettingsStore;
  const silent = createLogger({ level: 'silent', pretty: false });
  const clock = { now: () => now };

  beforeEach(async () => {
    db = await freshDatabase();
    now = new Date('2026-11-23T15:30:30Z');
    settings = new SettingsStore({ knex: db.knex, config: loadConfig({}), log: silent, refreshMs: 0, clock });
    await settings.start();
  });
  afterEach(async () => {
    await db.drop();
  });

  const stats = (threshold = () => settings.current().nlu.confidence_threshold) =>
    new TurnStats({ knex: db.knex, log: silent, threshold, flushMs: 0, clock });

  describe('TurnStats', () => {
    it('adds every instance’s counts into one row per minute, channel and source', async () => {
      const a = stats();
      const b = stats();
      a.record({ channel: 'telegram', latencyMs: 10, ok: true, source: 'model', confidence: 0.9 });
      a.record({ channel: 'telegram', latencyMs: 30, ok: true, source: 'model', confidence: 0.2 });
      b.record({ channel: 'telegram', latencyMs: 50, ok: false, source: 'model', confidence: 0.5 });
      b.record({ channel: 'telegram', latencyMs: 7, ok: true, source: 'cedula', confidence: 1 });
      await Promise.all([a.flush(), b.flush()]);
      a.record({ channel: 'telegram', latencyMs: 5, ok: true, source: 'model', confidence: 0.99 });
      await a.flush();
      const rows = await db.knex('turn_stats').orderBy('source').select('*');
      assert.equal(rows.length, 2);
      assert.equal(rows[0].source, 'cedula');
      assert.equal(rows[0].low_confidence, 0, 'a cédula is never low-confidence');
      assert.deepEqual(
        { turns: rows[1].turns, errors: rows[1].errors, low: rows[1].low_confidence, sum: rows[1].latency_ms_sum, max: rows[1].latency_ms_max },
        { turns: 4, errors: 1, low: 2, sum: 95, max: 50 },
      );
      assert.equal(rows[1].minute.toISOString(), '2026-11-23T15:30:00.000Z');
    });

    it('judges low confidence by the threshold in force when the turn happened', async () => {
      const t = stats();
      t.record({ channel: 'api', latencyMs: 1, ok: true, source: 'model', confidence: 0.65 });
      await settings.update({ nlu: { confidence_threshold: 0.7 } });
      t.record({ channel: 'api', latencyMs: 1, ok: true, source: 'model', confidence: 0.65 });
      await t.flush();
      const row = await db.knex('turn_stats').first();
      assert.equal(row.low_confidence, 1);
    });

    it('keeps counts that could not be written and writes them with the next flush', async () => {
      const t = stats();
      t.record({ channel: 'api', latencyMs: 12, ok: true, source: 'rules', confidence: 0.4 });
      await db.knex.raw('alter table turn_stats rename to turn_stats_away');
      await t.flush();
      t.record({ channel: 'api', latencyMs: 8, ok: true, source: 'rules', confidence: 0.4 });
      await db.knex.raw('alter table turn_stats_away rename to turn_stats');
      await t.flush();
      const row = await db.knex('turn_stats').first();
      assert.deepEqual([row.turns, row.latency_ms_sum], [2, 20]);
    });
  });

  describe('AlertMonitor', () => {
    const monitor = (log = silent, s = stats()) =>
      new AlertMonitor({ knex: db.knex, log, settings: () => settings.current().alerts, beforeEvaluate: () => s.flush(), everyMs: 0, clock });

    it('raises nothing on a healthy service', async () => {
      const s = stats();
      for (let i = 0; i < 20; i++) s.record({ channel: 'api', latencyMs: 30, ok: true, source: 'model', confidence: 0.9 });
      const { raised } = await monitor(silent, s).evaluate();
      assert.deepEqual(raised, []);
    });

    it('raises each of the seed system’s alerts, logs it, lists it, and does not repeat it while it lasts', async () => {
      const { log, lines } = collectingLogger();
      const s = stats();
      // 13 turns in the window: 3 failed (23% > 10%), 7 of the 10 understood under the threshold (70% > 50%), avg 2,500 ms.
      for (let i = 0; i < 10; i++) s.record({ channel: 'telegram', latencyMs: 2500, ok: true, source: i < 7 ? 'rules' : 'model', confidence: i < 7 ? 0.3 : 0.95 });
      for (let i = 0; i < 3; i++) s.record({ channel: 'telegram', latencyMs: 2500, ok: false, source: 'none' });
      await db.knex('llm_calls').insert({ model: 'gpt-4o-mini', latency_ms: 8000, status: 'timeout', created_at: new Date(now.getTime() - 60_000) });
      const m = monitor(log, s);
      const first = await m.evaluate();
      assert.deepEqual(first.raised.map((a) => a.kind).sort(), ['error_rate', 'low_confidence', 'openai_failures', 'response_time']);
      const byKind = Object.fromEntries(first.raised.map((a) => [a.kind, a]));
      assert.equal(byKind.response_time!.value, 2500);
      assert.equal(byKind.response_time!.threshold, 2000);
      assert.match(byKind.response_time!.message, /Average response time 2500 ms over the last 15 min \(threshold 2000 ms, 13 messages\)/);
      assert.equal(byKind.error_rate!.value, 0.2308);
      assert.equal(byKind.error_rate!.severity, 'critical', 'twice the threshold');
      assert.equal(byKind.low_confidence!.value, 0.7);
      assert.equal(byKind.low_confidence!.severity, 'warning');
      assert.equal(byKind.openai_failures!.value, 1);
      const warnings = lines().filter((l) => l.level === 40 && String(l.msg).startsWith('ALERT'));
      assert.equal(warnings.length, 4);

      now = new Date(now.getTime() + 60_000);
      const second = await m.evaluate();
      assert.deepEqual(second.raised, [], 'a lasting condition updates its alert');
      const open = await listAlerts(db.knex, { status: 'open', limit: 10 });
      assert.equal(open.length, 4);
      assert.ok(open.every((a) => a.last_seen_at === now.toISOString()));
      const metrics = await registry.getSingleMetricAsString('acuerdo_alerts_open');
      assert.match(metrics, /acuerdo_alerts_open\{kind="error_rate"\} 1/);
    });

    it('resolves an alert when its condition clears', async () => {
      const s = stats();
      s.record({ channel: 'api', latencyMs: 5000, ok: true, source: 'model', confidence: 0.9 });
      const m = monitor(silent, s);
      assert.deepEqual((await m.evaluate()).raised.map((a) => a.kind), ['response_time']);
      now = new Date(now.getTime() + 20 * 60_000); // the slow turn leaves the 15-minute window
      s.record({ channel: 'api', latencyMs: 40, ok: true, source: 'model', confidence: 0.9 });
      const { resolved } = await m.evaluate();
      assert.deepEqual(resolved.map((a) => a.kind), ['response_time']);
      assert.deepEqual(await listAlerts(db.knex, { status: 'open', limit: 10 }), []);
      const all = await listAlerts(db.knex, { status: 'all', limit: 10 });
      assert.equal(all[0]!.resolved_at, now.toISOString());
    });

    it('judges rates only over enough messages, and follows threshold changes', async () => {
      const s = stats();
      s.record({ channel: 'api', latencyMs: 5, ok: false, source: 'none' });
      const m = monitor(silent, s);
      assert.deepEqual((await m.evaluate()).raised, [], 'one failed turn out of one is not a 100% error rate yet');
      await settings.update({ alerts: { min_messages: 1 } });
      assert.deepEqual((await m.evaluate()).raised.map((a) => a.kind), ['error_rate']);
    });

    it('raises once when two instances evaluate at the same time', async () => {
      const s = stats();
      s.record({ channel: 'api', latencyMs: 3000, ok: true, source: 'model', confidence: 0.9 });
      await s.flush();
      const results = await Promise.all([monitor(silent).evaluate(), monitor(silent).evaluate(), monitor(silent).evaluate()]);
      assert.equal(results.flatMap((r) => r.raised).length, 1);
      assert.equal((await listAlerts(db.knex, { status: 'all', limit: 10 })).length, 1);
    });
  });
});
