/**
 * The scheduler's admin endpoints, behind the admin token:
 * - GET  /api/v1/admin/scheduler-status: every job, its schedule, next and last run;
 * - POST /api/v1/admin/process-timeouts: runs the timeout job now.
 */
import { Router } from 'express';
import { requireAdminToken } from './admin-auth.js';
import { SCHEDULER_TIME_ZONE, TIMEOUTS_JOB, type Scheduler } from '../scheduler/index.js';

/** Where service.ts mounts the router. */
export const SCHEDULER_ADMIN_PATH = '/api/v1/admin';

export function createSchedulerAdminRouter(deps: { scheduler: Scheduler; enabled: boolean; adminToken: () => string | undefined }): Router {
  const router = Router();
  const guard = requireAdminToken(deps.adminToken);

  router.get('/scheduler-status', guard, async (_req, res) => {
    res.json({
      enabled: deps.enabled,
      instance: deps.scheduler.instance,
      timezone: SCHEDULER_TIME_ZONE,
      jobs: await deps.scheduler.status(),
    });
  });

  router.post('/process-timeouts', guard, async (_req, res) => {
    const outcome = await deps.scheduler.runNow(TIMEOUTS_JOB);
    if (outcome.status === 'skipped') {
      res.status(409).json({ error: 'job_running', details: 'the timeout job is running on this or another instance; try again shortly' });
      return;
    }
    if (outcome.status === 'error') {
      res.status(500).json({ error: 'job_failed', details: outcome.error, run_id: outcome.runId });
      return;
    }
    res.json({ job: outcome.job, status: outcome.status, run_id: outcome.runId, duration_ms: outcome.durationMs, result: outcome.result });
  });

  return router;
}
