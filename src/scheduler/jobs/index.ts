import type { Job } from '../scheduler.js';
import { conversationTimeoutsJob, type TimeoutJobDeps } from './conversation-timeouts.js';
import { archiveJob, metricsRollupJob, retentionJob, type RetentionSettings } from './maintenance.js';

export {
  closeDueAt,
  conversationTimeoutsJob,
  processTimeouts,
  SEED_TIER_LIMITS,
  tierOf,
  TIERS,
  TIMEOUTS_JOB,
  type IdleConversation,
  type Tier,
  type TierLimit,
  type TierLimits,
  type TimeoutJobDeps,
  type TimeoutSummary,
} from './conversation-timeouts.js';
export { AGREEMENT_JOBS, agreementJobs } from './agreement-jobs.js';
export { archiveConversations, archiveJob, cleanUp, metricsRollupJob, retentionJob, rollUpMetrics, ROLLUP_DAYS, type RetentionSettings } from './maintenance.js';

export interface LifecycleJobDeps extends TimeoutJobDeps {
  retention: () => RetentionSettings;
  archiveDays: () => number;
}

/** The four jobs the seed system runs: timeouts hourly, retention every 4 h, archive 06:00, rollup 07:00. */
export function lifecycleJobs(deps: LifecycleJobDeps): Job[] {
  return [conversationTimeoutsJob(deps), retentionJob(deps.retention), archiveJob(deps.archiveDays), metricsRollupJob()];
}
