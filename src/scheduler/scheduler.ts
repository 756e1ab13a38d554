/**
 * The job scheduler: node-cron fires each job on its cron schedule in America/Bogota;
 * every run takes a Postgres advisory lock and claims its tick in scheduler_runs, so
 * with N instances behind a load balancer each tick runs exactly once, and every run
 * is recorded with its duration and result.
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../log.js';
import type { Knex } from '../store/index.js';
import { JobDefinitionError, type Clock } from '../core/index.js';

export const SCHEDULER_TIME_ZONE = 'America/Bogota';

/** The first key of every scheduler advisory lock ('acud'); the second is the job name's hash. */
const LOCK_CLASS = 0x61637564;

export interface JobContext {
  knex: Knex;
  log: Logger;
  /** The time the job should consider "now" (the injected clock's). */
  now: Date;
  trigger: RunTrigger;
}

export interface Job {
  /** kebab-case, unique: the lock key and the name in scheduler-status. */
  name: string;
  /** A 5-field cron expression, read in America/Bogota. */
  schedule: string;
  description: string;
  /** Does the work; the returned summary is stored with the run (keep it small). */
  run(ctx: JobContext): Promise<Record<string, unknown>>;
}

export type RunTrigger = 'schedule' | 'manual';

export type RunOutcome =
  | { job: string; status: 'ok'; runId: number; startedAt: Date; durationMs: number; result: Record<string, unknown> }
  | { job: string; status: 'error'; runId: number; startedAt: Date; durationMs: number; error: string }
  /** locked: another instance is running the job; already_ran: this tick was run elsewhere. */
  | { job: string; status: 'skipped'; reason: 'locked' | 'already_ran' };

export interface RunRecord {
  id: number;
  trigger: RunTrigger;
  instance: string;
  status: 'running' | 'ok' | 'error';
  slot: string | null;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  result: Record<string, unknown> | null;
  error: string | null;
}

export interface JobStatus {
  name: string;
  description: string;
  schedule: string;
  timezone: string;
  /** The next tick, when this instance's scheduler is started. */
  next_run: string | null;
  /** Whether this process is running it now. */
  running_here: boolean;
  last_run: RunRecord | null;
  last_success_at: string | null;
  last_error: { at: string; error: string | null } | null;
}

export interface SchedulerOptions {
  knex: Knex;
  log: Logger;
  jobs: Job[];
  /** The service's clock: when each tick runs and what each job takes as now. */
  clock: Clock;
  /** Names this process in scheduler_runs; default host:pid. */
  instance?: string;
}

type RunRow = Omit<RunRecord, 'started_at' | 'finished_at' | 'slot'> & {
  job: string;
  slot: Date | null;
  started_at: Date;
  finished_at: Date | null;
};

function toRecord(row: RunRow): RunRecord {
  return {
    id: row.id,
    trigger: row.trigger,
    instance: row.instance,
    status: row.status,
    slot: row.slot ? row.slot.toISOString() : null,
    started_at: row.started_at.toISOString(),
    finished_at: row.finished_at ? row.finished_at.toISOString() : null,
    duration_ms: row.duration_ms,
    result: row.result,
    error: row.error,
  };
}

/** The tick a firing belongs to: its minute. Two instances firing in the same minute share it. */
export function slotOf(at: Date): Date {
  return new Date(Math.floor(at.getTime() / 60_000) * 60_000);
}

/**
 * Runs jobs on their schedules. Events: 'run' (RunOutcome) after every attempt.
 * Nothing happens until start(); stop() waits for runs in progress.
 */
export class Scheduler extends EventEmitter {
  readonly instance: string;
  private readonly jobs: Map<string, Job>;
  private readonly knex: Knex;
  private readonly log: Logger;
  private readonly clock: Clock;
  private tasks = new Map<string, ScheduledTask>();
  private readonly active = new Map<string, Promise<RunOutcome>>();
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(options: SchedulerOptions) {
    super();
    this.knex = options.knex;
    this.log = options.log.child({ component: 'scheduler' });
    this.clock = options.clock;
    this.instance = options.instance ?? `${os.hostname()}:${process.pid}`;
    this.jobs = new Map();
    for (const job of options.jobs) {
      if (this.jobs.has(job.name)) throw new JobDefinitionError(`two scheduled jobs are named ${job.name}`, job.name);
      if (!cron.validate(job.schedule)) throw new JobDefinitionError(`job ${job.name}: "${job.schedule}" is not a cron expression`, job.name);
      this.jobs.set(job.name, job);
    }
  }

  jobNames(): string[] {
    return [...this.jobs.keys()];
  }

  /** node-cron's own notices (missed ticks, overlaps) go to our log, not the console. */
  private readonly cronLogger = {
    info: (message: string) => this.log.debug({ cron: message }, 'node-cron'),
    warn: (message: string) => this.log.warn({ cron: message }, 'node-cron'),
    error: (message: string | Error, err?: Error) => this.log.error({ err: err ?? message }, 'node-cron'),
    debug: (message: string | Error) => this.log.debug({ cron: String(message) }, 'node-cron'),
  };

  /** Arms every job's cron schedule (America/Bogota). */
  start(): void {
    if (this.tasks.size) return;
    for (const job of this.jobs.values()) {
      const task = cron.createTask(
        job.schedule,
        async (ctx) => {
          await this.fire(job.name, ctx.date);
        },
        { name: `acuerdo:${job.name}`, timezone: SCHEDULER_TIME_ZONE, noOverlap: true, unref: true, logger: this.cronLogger },
      );
      this.tasks.set(job.name, task);
      void task.start();
    }
    this.log.info({ jobs: this.jobNames(), instance: this.instance }, 'scheduler started');
  }

  /** Disarms the schedules and waits for runs in progress to finish. */
  async stop(): Promise<void> {
    const tasks = [...this.tasks.values()];
    this.tasks.clear();
    for (const task of tasks) await task.destroy();
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** Runs a job for a cron tick (what node-cron calls): once per tick across every instance. */
  fire(name: string, tickAt: Date): Promise<RunOutcome> {
    return this.track(this.execute(name, 'schedule', slotOf(tickAt)));
  }

  /** Runs a job now, by hand (the admin endpoint, the CLI). Skipped if it is running anywhere. */
  runNow(name: string): Promise<RunOutcome> {
    return this.track(this.execute(name, 'manual', null));
  }

  private track(p: Promise<RunOutcome>): Promise<RunOutcome> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  private job(name: string): Job {
    const job = this.jobs.get(name);
    if (!job) throw new JobDefinitionError(`no scheduled job named ${name}`, name);
    return job;
  }

  private async execute(name: string, trigger: RunTrigger, slot: Date | null): Promise<RunOutcome> {
    const job = this.job(name);
    // One run of a job at a time in this process; the advisory lock covers the others.
    if (this.active.has(name)) {
      const outcome: RunOutcome = { job: name, status: 'skipped', reason: 'locked' };
      this.emit('run', outcome);
      return outcome;
    }
    const run = this.withLock(job, trigger, slot);
    this.active.set(name, run);
    try {
      const outcome = await run;
      this.emit('run', outcome);
      return outcome;
    } finally {
      this.active.delete(name);
    }
  }

  private async withLock(job: Job, trigger: RunTrigger, slot: Date | null): Promise<RunOutcome> {
    // A transaction-scoped lock on a connection of our own, held while the job runs on
    // others: released at commit, or by PostgreSQL if this process dies. The transaction
    // does nothing else (no snapshot kept, nothing for vacuum to wait on).
    return this.knex.transaction(async (trx) => {
      const got = (await trx.raw('select pg_try_advisory_xact_lock(?, hashtext(?)) as ok', [LOCK_CLASS, job.name])) as { rows: { ok: boolean }[] };
      if (got.rows[0]?.ok !== true) return { job: job.name, status: 'skipped', reason: 'locked' } satisfies RunOutcome;
      return this.runLocked(job, trigger, slot);
    });
  }

  private async runLocked(job: Job, trigger: RunTrigger, slot: Date | null): Promise<RunOutcome> {
    const startedAt = this.clock.now();
    // Holding the lock, no other run of this job is alive: a 'running' row is from a process that died.
    await this.knex('scheduler_runs')
      .where({ job: job.name, status: 'running' })
      .update({ status: 'error', error: 'interrupted: the process stopped during the run', finished_at: startedAt });
    const inserted = (await this.knex.raw(
      `insert into scheduler_runs (job, slot, trigger, instance, status, started_at)
       values (?, ?, ?, ?, 'running', ?)
       on conflict (job, slot) where slot is not null do nothing
       returning id`,
      [job.name, slot, trigger, this.instance, startedAt],
    )) as { rows: { id: number }[] };
    const runId = inserted.rows[0]?.id;
    if (runId === undefined) return { job: job.name, status: 'skipped', reason: 'already_ran' };

    const t0 = performance.now();
    try {
      const result = await job.run({ knex: this.knex, log: this.log.child({ job: job.name }), now: startedAt, trigger });
      const durationMs = Math.round(performance.now() - t0);
      await this.knex('scheduler_runs')
        .where({ id: runId })
        .update({ status: 'ok', result: JSON.stringify(result), finished_at: new Date(startedAt.getTime() + durationMs), duration_ms: durationMs });
      this.log.info({ job: job.name, trigger, durationMs, result }, 'scheduled job finished');
      return { job: job.name, status: 'ok', runId, startedAt, durationMs, result };
    } catch (err) {
      const durationMs = Math.round(performance.now() - t0);
      const message = err instanceof Error ? err.message : String(err);
      await this.knex('scheduler_runs')
        .where({ id: runId })
        .update({ status: 'error', error: message.slice(0, 2000), finished_at: new Date(startedAt.getTime() + durationMs), duration_ms: durationMs })
        .catch((e: unknown) => this.log.error({ err: e, job: job.name }, 'could not record the failed run'));
      this.log.error({ err, job: job.name, trigger, durationMs }, 'scheduled job failed');
      return { job: job.name, status: 'error', runId, startedAt, durationMs, error: message };
    }
  }

  /** Every job with its schedule, next tick, and last run (from the database: all instances). */
  async status(): Promise<JobStatus[]> {
    const names = this.jobNames();
    const last = (await this.knex('scheduler_runs')
      .distinctOn('job')
      .whereIn('job', names)
      .orderBy([{ column: 'job' }, { column: 'started_at', order: 'desc' }, { column: 'id', order: 'desc' }])
      .select('*')) as RunRow[];
    const lastOk = (await this.knex('scheduler_runs')
      .whereIn('job', names)
      .where({ status: 'ok' })
      .groupBy('job')
      .select('job', this.knex.raw('max(started_at) as at'))) as { job: string; at: Date }[];
    const lastError = (await this.knex('scheduler_runs')
      .distinctOn('job')
      .whereIn('job', names)
      .where({ status: 'error' })
      .orderBy([{ column: 'job' }, { column: 'started_at', order: 'desc' }])
      .select('job', 'started_at', 'error')) as { job: string; started_at: Date; error: string | null }[];
    return names.map((name) => {
      const job = this.job(name);
      const lastRow = last.find((r) => r.job === name);
      const ok = lastOk.find((r) => r.job === name);
      const failed = lastError.find((r) => r.job === name);
      const next = this.tasks.get(name)?.getNextRun() ?? null;
      return {
        name,
        description: job.description,
        schedule: job.schedule,
        timezone: SCHEDULER_TIME_ZONE,
        next_run: next ? next.toISOString() : null,
        running_here: this.active.has(name),
        last_run: lastRow ? toRecord(lastRow) : null,
        last_success_at: ok ? new Date(ok.at).toISOString() : null,
        last_error: failed ? { at: failed.started_at.toISOString(), error: failed.error } : null,
      };
    });
  }
}
