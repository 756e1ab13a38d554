import { TEST_TIME } from '../support/ports.js';
import { testClock } from '../support/ports.js';
import assert from 'node:assert/strict';
import FakeTimers from '@sinonjs/fake-timers';
import pg from 'pg';
import { createLogger } from '../../src/log.js';
import { ManualClock, Scheduler, type Job, type RunOutcome } from '../../src/scheduler/index.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { bog } from '../compliance/seed.js';

const log = createLogger({ level: 'silent', pretty: false });

/** A job that counts its runs in the database, so two schedulers share the count. */
function countingJob(name: string, schedule = '0 * * * *', gate?: Promise<void>): Job {
  return {
    name,
    schedule,
    description: `counts ${name}`,
    async run(ctx) {
      await gate;
      await ctx.knex('settings')
        .insert({ key: `count:${name}`, value: JSON.stringify(1), updated_at: TEST_TIME })
        .onConflict('key')
        .merge({ value: ctx.knex.raw(`to_jsonb((settings.value #>> '{}')::int + 1)`) });
      return { at: ctx.now.toISOString() };
    },
  };
}

async function runsOf(db: TestDatabase, name: string): Promise<number> {
  const row = await db.knex('settings').where({ key: `count:${name}` }).first('value');
  return row ? Number(row.value) : 0;
}

describe('scheduler', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await freshDatabase();
  });
  afterEach(async () => {
    await db.drop();
  });

  it('two schedulers against one database run each tick of each job once', async () => {
    const clock = new ManualClock(bog('2026-03-03T10:00'));
    const jobs = () => [countingJob('a'), countingJob('b', '0 */4 * * *')];
    const one = new Scheduler({ knex: db.knex, log, jobs: jobs(), clock, instance: 'one' });
    const two = new Scheduler({ knex: db.knex, log, jobs: jobs(), clock, instance: 'two' });
    const tick = bog('2026-03-03T10:00');
    const outcomes = await Promise.all([one.fire('a', tick), two.fire('a', tick), one.fire('b', tick), two.fire('b', tick)]);
    assert.equal(outcomes.filter((o) => o.status === 'ok').length, 2);
    assert.equal(outcomes.filter((o) => o.status === 'skipped').length, 2);
    assert.equal(await runsOf(db, 'a'), 1);
    assert.equal(await runsOf(db, 'b'), 1);
    // The same tick again, seconds later on a slow instance: still once.
    const late = await two.fire('a', new Date(tick.getTime() + 20_000));
    assert.deepEqual(late, { job: 'a', status: 'skipped', reason: 'already_ran' });
    // The next tick runs.
    assert.equal((await one.fire('a', bog('2026-03-03T11:00'))).status, 'ok');
    assert.equal(await runsOf(db, 'a'), 2);
    const rows = await db.knex('scheduler_runs').where({ job: 'a' }).orderBy('id');
    assert.equal(rows.length, 2);
  });

  it('node-cron fires each job at its Bogotá time, once across two instances (fake clock)', async () => {
    // 05:59:50 in Bogotá is 10:59:50Z: the 06:00 job and the hourly job are due in 10 s.
    const fake = FakeTimers.install({ now: bog('2026-03-03T05:59:50'), toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const schedulers: Scheduler[] = [];
    try {
      const jobs = () => [countingJob('hourly', '0 * * * *'), countingJob('six', '0 6 * * *'), countingJob('seven', '0 7 * * *')];
      for (const instance of ['one', 'two']) schedulers.push(new Scheduler({ knex: db.knex, log, jobs: jobs(), instance, clock: testClock() }));
      const outcomes: RunOutcome[] = [];
      const due = (o: RunOutcome[]) => o.filter((x) => x.job === 'six').length === 2 && o.filter((x) => x.job === 'hourly').length === 2;
      const allFired = new Promise<void>((resolve) => {
        for (const s of schedulers) {
          s.on('run', (o: RunOutcome) => {
            outcomes.push(o);
            if (due(outcomes)) resolve();
          });
        }
      });
      for (const s of schedulers) s.start();
      await fake.tickAsync(11_000);
      await allFired;
      assert.equal(await runsOf(db, 'six'), 1);
      assert.equal(await runsOf(db, 'hourly'), 1);
      assert.equal(await runsOf(db, 'seven'), 0);
      const run = await db.knex('scheduler_runs').where({ job: 'six' }).first();
      assert.equal(run.slot.toISOString(), '2026-03-03T11:00:00.000Z', '06:00 in Bogotá');
      const status = await schedulers[0]!.status();
      const seven = status.find((j) => j.name === 'seven')!;
      assert.equal(seven.next_run, '2026-03-03T12:00:00.000Z', '07:00 in Bogotá');
      assert.equal(seven.timezone, 'America/Bogota');
    } finally {
      for (const s of schedulers) await s.stop();
      fake.uninstall();
    }
  });

  it('records each run: when, how long, the result or the error', async () => {
    const clock = new ManualClock(bog('2026-03-03T10:00'));
    const failing: Job = { name: 'broken', schedule: '0 7 * * *', description: 'fails', run: () => Promise.reject(new Error('disk full')) };
    const s = new Scheduler({ knex: db.knex, log, jobs: [countingJob('a'), failing], clock, instance: 'x' });
    await s.runNow('a');
    const failed = await s.runNow('broken');
    assert.equal(failed.status, 'error');
    const status = await s.status();
    const a = status.find((j) => j.name === 'a')!;
    assert.equal(a.last_run?.status, 'ok');
    assert.equal(a.last_run?.trigger, 'manual');
    assert.equal(a.last_run?.started_at, '2026-03-03T15:00:00.000Z');
    assert.equal(typeof a.last_run?.duration_ms, 'number');
    assert.deepEqual(a.last_run?.result, { at: '2026-03-03T15:00:00.000Z' });
    assert.equal(a.last_success_at, '2026-03-03T15:00:00.000Z');
    const broken = status.find((j) => j.name === 'broken')!;
    assert.equal(broken.last_run?.status, 'error');
    assert.equal(broken.last_error?.error, 'disk full');
    assert.equal(broken.last_success_at, null);
  });

  it('skips a run while another instance holds the job, and marks a run whose process died', async () => {
    const s = new Scheduler({ knex: db.knex, log, jobs: [countingJob('a')], instance: 'x', clock: testClock() });
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query(`select pg_advisory_lock(${0x61637564}, hashtext('a'))`);
      assert.deepEqual(await s.runNow('a'), { job: 'a', status: 'skipped', reason: 'locked' });
      assert.equal(await runsOf(db, 'a'), 0);
      await db.knex('scheduler_runs').insert({ job: 'a', trigger: 'schedule', instance: 'dead', status: 'running', started_at: new Date() });
    } finally {
      await other.end(); // the lock goes with the connection
    }
    assert.equal((await s.runNow('a')).status, 'ok');
    const dead = await db.knex('scheduler_runs').where({ instance: 'dead' }).first();
    assert.equal(dead.status, 'error');
    assert.match(dead.error, /interrupted/);
  });

  it('stop() waits for a run in progress', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const s = new Scheduler({ knex: db.knex, log, jobs: [countingJob('slow', '0 * * * *', gate)], instance: 'x', clock: testClock() });
    const run = s.runNow('slow');
    let stopped = false;
    const stopping = s.stop().then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(stopped, false);
    release();
    await stopping;
    assert.equal((await run).status, 'ok');
  });
});
