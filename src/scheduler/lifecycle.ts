/**
 * The scheduler as the service runs it: the four lifecycle jobs wired to the engine
 * (the flow's timeout warning, the per-conversation lock) and to the outbox.
 */
import type { Config } from '../core/index.js';
import { lockChannelUser, type Engine, type Outbox } from '../engine/index.js';
import type { Logger } from '../log.js';
import type { Knex } from '../store/index.js';
import type { Clock } from '../core/index.js';
import { lifecycleJobs, tierOf, type TierLimits } from './jobs/index.js';
import { Scheduler, type Job } from './scheduler.js';

export interface LifecycleSchedulerOptions {
  knex: Knex;
  config: Config;
  log: Logger;
  engine: Pick<Engine, 'timeoutWarning'>;
  outbox?: Pick<Outbox, 'dispatch'>;
  /** The limits per tier in force (the runtime settings' `timeouts`). */
  tierLimits: () => TierLimits;
  /** The service's clock. */
  clock: Clock;
  /** Jobs other areas add (the agreements' reminders, broken promises and status updates). */
  moreJobs?: Job[];
}

/** Builds the scheduler with the lifecycle jobs; the caller starts it (when SCHEDULER_ENABLED) and stops it. */
export function createLifecycleScheduler(o: LifecycleSchedulerOptions): Scheduler {
  return new Scheduler({
    knex: o.knex,
    log: o.log,
    clock: o.clock,
    jobs: [
      ...lifecycleJobs({
      limits: o.tierLimits,
      warningFor: (conversation, info) => o.engine.timeoutWarning(conversation, info.hoursLeft),
      lockConversation: lockChannelUser,
      dispatch: o.outbox ? (ids) => void o.outbox?.dispatch(ids) : undefined,
      retention: () => ({
        aiAuditDays: o.config.LLM_AUDIT_RETENTION_DAYS,
        logDays: o.config.LOG_RETENTION_DAYS,
        contactLogDays: o.config.CONTACT_LOG_RETENTION_DAYS,
      }),
      archiveDays: () => o.config.CONVERSATION_ARCHIVE_DAYS,
    }),
      ...(o.moreJobs ?? []),
    ],
  });
}

/** The engine's messageLimit option: a conversation past its tier's limit goes to a person. */
export function messageLimitFor(tierLimits: () => TierLimits): (tier: string) => number {
  return (tier) => tierLimits()[tierOf(tier)].max_messages;
}
