/**
 * Watches the database the service runs on and keeps it coming back.
 *
 * Embedded server: every `checkMs` the postmaster's pid (postmaster.pid) is checked; a
 * dead postmaster (kill -9, OOM killer, `pg_ctl stop` from elsewhere) is restarted on the
 * same port and data directory, right away and then with doubling pauses, at most
 * `maxAttempts` times in a row. External server (DATABASE_URL): every `checkMs` a
 * `select 1`; a failed one marks it down until one succeeds again (the pool reconnects
 * by itself). Either way the service asks `state()` before taking work: while the
 * database is down, chat and webhooks answer 503 with Retry-After and health says why.
 *
 * When every restart failed the supervisor gives up: `onFatal` (the service exits
 * non-zero so that systemd, Docker or Kubernetes start it again, which is the next
 * thing worth trying). Logging is one line per state change and per attempt, never per
 * request.
 */
import { systemClock, type Clock } from '../core/index.js';
import type { Logger } from '../log.js';

export type DatabaseStatus = 'up' | 'down' | 'restarting' | 'failed';

export interface DatabaseState {
  status: DatabaseStatus;
  /** Why it is not up, for the health check (no secrets). */
  reason?: string;
  /** When it went down. */
  since?: Date;
  /** Restarts that brought it back since this process started. */
  recoveries: number;
}

export interface SupervisorOptions {
  log: Logger;
  /** Is the database alive? A cheap check: a pid, or a `select 1` with a short timeout. */
  alive(): Promise<boolean>;
  /** Brings the server back (embedded only); throws when it cannot. Absent: wait for it. */
  restart?(): Promise<void>;
  /** After a restart: the pool answers again (a `select 1` through the service's own pool). */
  ready(): Promise<boolean>;
  /** Called once when the database cannot be brought back. */
  onFatal(reason: string): void;
  checkMs?: number;
  /** Restarts in a row before giving up (embedded); default 5. */
  maxAttempts?: number;
  /** The pause before the second attempt; doubled after each failure (default 1 s, at most 30 s). */
  backoffMs?: number;
  /** What is watched, for the logs: "embedded PostgreSQL" or the masked URL. */
  what: string;
  /** The service's clock, for `since` (default: the system's). */
  clock?: Clock;
}

export interface Supervisor {
  state(): DatabaseState;
  /** Seconds a client should wait before retrying while the database is not up. */
  retryAfterSeconds(): number;
  /** Checks now instead of at the next tick (a request saw a connection error). */
  poke(): void;
  stop(): void;
}

export function superviseDatabase(options: SupervisorOptions): Supervisor {
  const { log } = options;
  const checkMs = options.checkMs ?? 1000;
  const maxAttempts = options.maxAttempts ?? 5;
  const backoffMs = options.backoffMs ?? 1000;
  const clock = options.clock ?? systemClock;
  let current: DatabaseState = { status: 'up', recoveries: 0 };
  /** When it went down, monotonic (how long it was down is a duration, not a date). */
  let downAt = 0;
  let stopped = false;
  let busy = false;
  let timer: NodeJS.Timeout | undefined;
  let nextBackoff = backoffMs;

  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

  function goDown(reason: string): void {
    if (current.status !== 'up') return;
    current = { ...current, status: 'down', reason, since: clock.now() };
    downAt = performance.now();
    log.error({ database: options.what, reason }, 'the database is down: chat and webhooks answer 503 until it is back');
  }

  function backUp(): void {
    const downFor = Math.round(performance.now() - downAt);
    current = { status: 'up', recoveries: current.recoveries + 1 };
    nextBackoff = backoffMs;
    log.warn({ database: options.what, downMs: downFor }, 'the database is back');
  }

  async function recover(): Promise<void> {
    if (!options.restart) {
      // An external server: nothing to start; it is up when it answers again.
      if ((await options.alive().catch(() => false)) && (await options.ready().catch(() => false))) backUp();
      return;
    }
    for (let attempt = 1; attempt <= maxAttempts && !stopped; attempt++) {
      current = { ...current, status: 'restarting', reason: `restarting the embedded server (attempt ${attempt} of ${maxAttempts})` };
      try {
        await options.restart();
        if (await options.ready()) {
          backUp();
          return;
        }
        throw new Error('the server started but does not answer');
      } catch (err) {
        const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
        log.warn({ database: options.what, attempt, of: maxAttempts, err: message, retryInMs: attempt < maxAttempts ? nextBackoff : undefined }, 'database restart failed');
        current = { ...current, status: 'down', reason: `restart ${attempt} of ${maxAttempts} failed: ${message}` };
        if (attempt < maxAttempts) {
          await sleep(nextBackoff);
          nextBackoff = Math.min(nextBackoff * 2, 30_000);
        }
      }
    }
    if (stopped) return;
    current = { ...current, status: 'failed', reason: `the embedded PostgreSQL could not be restarted after ${maxAttempts} attempts` };
    log.fatal({ database: options.what }, current.reason);
    options.onFatal(current.reason!);
  }

  async function tick(): Promise<void> {
    if (busy || stopped || current.status === 'failed') return;
    busy = true;
    try {
      const alive = await options.alive().catch(() => false);
      if (alive && current.status === 'up') return;
      if (!alive) goDown(options.restart ? 'the embedded PostgreSQL server stopped' : 'the database does not answer');
      await recover();
    } finally {
      busy = false;
    }
  }

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      void tick().finally(schedule);
    }, checkMs);
    timer.unref();
  };
  schedule();

  return {
    state: () => ({ ...current }),
    retryAfterSeconds: () => (current.status === 'up' ? 0 : Math.max(1, Math.ceil(Math.min(nextBackoff, 30_000) / 1000))),
    poke() {
      if (current.status === 'up') void tick();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
