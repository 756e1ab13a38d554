/**
 * Scheduled jobs: the scheduler (node-cron in America/Bogota, one run per tick across
 * instances through Postgres advisory locks, every run recorded), the lifecycle jobs,
 * the injectable clock and the admin endpoints.
 */
export { ManualClock, systemClock, type Clock } from '../core/index.js';
export * from './jobs/index.js';
export { createLifecycleScheduler, messageLimitFor, type LifecycleSchedulerOptions } from './lifecycle.js';
export {
  Scheduler,
  SCHEDULER_TIME_ZONE,
  slotOf,
  type Job,
  type JobContext,
  type JobStatus,
  type RunOutcome,
  type RunRecord,
  type RunTrigger,
  type SchedulerOptions,
} from './scheduler.js';
