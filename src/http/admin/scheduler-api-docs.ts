import { z } from 'zod';
import type { DocumentedRoute } from './route.js';
import { errorBodySchema } from './schemas.js';

/**
 * The scheduler's admin endpoints (src/http/scheduler-routes.ts) as the OpenAPI
 * document shows them, beside the rest of the admin API. They have no request input.
 */
const jobStatus = z
  .object({
    name: z.string(),
    description: z.string(),
    schedule: z.string().describe('cron expression'),
    timezone: z.string(),
    next_run: z.string().nullable(),
    running_here: z.boolean(),
    last_run: z.record(z.string(), z.unknown()).nullable(),
    last_success_at: z.string().nullable(),
    last_error: z.object({ at: z.string(), error: z.string().nullable() }).nullable(),
  })
  .meta({ id: 'SchedulerJobStatus' });

export const schedulerStatusSchema = z
  .object({ enabled: z.boolean(), instance: z.string(), timezone: z.string(), jobs: z.array(jobStatus) })
  .meta({ id: 'SchedulerStatus' });

export const processTimeoutsSchema = z
  .object({ job: z.string(), status: z.string(), run_id: z.number().int(), duration_ms: z.number(), result: z.record(z.string(), z.unknown()) })
  .meta({ id: 'ProcessTimeoutsResult' });

const unauthorized = { description: 'Missing or wrong Bearer token', schema: errorBodySchema };

/** Relative to /api/v1/admin. */
export const schedulerApiRoutes: DocumentedRoute[] = [
  {
    method: 'get',
    path: '/scheduler-status',
    summary: 'Scheduled jobs: schedule, next run, last run and result',
    tags: ['scheduler'],
    responses: { 200: { description: 'Every job', schema: schedulerStatusSchema }, 401: unauthorized },
  },
  {
    method: 'post',
    path: '/process-timeouts',
    summary: 'Run the conversation-timeout job now (warnings and auto-closes)',
    tags: ['scheduler'],
    responses: {
      200: { description: 'The run and its result', schema: processTimeoutsSchema },
      401: unauthorized,
      409: { description: 'The job is running on this or another instance', schema: errorBodySchema },
      500: { description: 'The job failed', schema: errorBodySchema },
    },
  },
];
