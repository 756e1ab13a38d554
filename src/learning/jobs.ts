/** The scheduler's part in the loop: following OpenAI fine-tuning jobs. */
import type OpenAI from 'openai';
import type { Clock } from '../core/index.js';
import type { Job } from '../scheduler/index.js';
import { pollFineTuningJobs } from './finetune.js';

/** Every 5 minutes, the open fine-tuning jobs' status, progress and resulting model. Without a client (no OPENAI_API_KEY) it does nothing. */
export function fineTuningPollJob(client: () => OpenAI | undefined, clock: Clock): Job {
  return {
    name: 'fine-tuning-poll',
    schedule: '*/5 * * * *',
    description: 'Reads the status and progress of open OpenAI fine-tuning jobs',
    async run(ctx) {
      const c = client();
      if (!c) return { checked: 0, skipped: 'no OPENAI_API_KEY' };
      return pollFineTuningJobs(ctx.knex, c, clock, ctx.log);
    },
  };
}
