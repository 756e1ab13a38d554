/** The agreement jobs (src/agreements does the work): statuses, reminders, broken promises. */
import { processBrokenPromises, processReminders, updateInstallmentStatuses, type LifecycleDeps } from '../../agreements/index.js';
import type { Job } from '../scheduler.js';

export const AGREEMENT_JOBS = { status: 'agreement-status', reminders: 'agreement-reminders', brokenPromises: 'broken-promises' } as const;

/** The three agreement jobs, with the scheduler's advisory locks and run records. */
export function agreementJobs(deps: LifecycleDeps): Job[] {
  return [
    {
      name: AGREEMENT_JOBS.status,
      schedule: '15 0 * * *',
      description: 'daily 00:15: installments past due and unpaid become vencida',
      run: (ctx) => updateInstallmentStatuses(ctx.knex, ctx.now),
    },
    {
      name: AGREEMENT_JOBS.reminders,
      schedule: '0 9 * * *',
      description: 'daily 09:00: payment reminders N days before each due date and on the day, through the compliance guard',
      run: (ctx) => processReminders(ctx.knex, ctx.now, deps),
    },
    {
      name: AGREEMENT_JOBS.brokenPromises,
      schedule: '0 10 * * *',
      description: 'daily 10:00: follow-up D days after a missed due date; incumplido (supervisor queue) after E days',
      run: (ctx) => processBrokenPromises(ctx.knex, ctx.now, deps),
    },
  ];
}
