/**
 * Fine-tuning the fallback model on acuerdo's own good conversations: the export (OpenAI's
 * chat format, one {"messages": [system, user, assistant, …]} object a line), its
 * validation report, and jobs started and followed through the official SDK.
 *
 * Privacy: only the bot's and the debtor's words leave, each masked (names, cédulas and
 * other long numbers, phones, amounts, e-mail addresses, links, agreement references
 * become placeholders); an agent's messages never do. The file is built in memory and
 * uploaded; it is not written to disk.
 */
import { encode } from 'gpt-tokenizer';
import OpenAI, { toFile } from 'openai';
import { z } from 'zod';
import { AcuerdoError, type Clock } from '../core/index.js';
import type { Logger } from '../log.js';
import type { Knex } from '../store/index.js';
import { maskPersonalData } from './mask.js';
import { COMMENT_THANKS, RATING_QUESTION, RATING_THANKS } from './ratings.js';
import { bumpRevision } from './state.js';

export const SYSTEM_PROMPT =
  'Usted es el asistente virtual de acuerdos de pago de una agencia de cobranza en Colombia. Trate al deudor de usted, con respeto y en español de Colombia. No hable de la deuda antes de confirmar la identidad, no amenace con centrales de riesgo y no pregunte por qué no pagó; ofrezca opciones de pago que le sirvan.';

export const DEFAULT_BASE_MODEL = 'gpt-4o-mini-2024-07-18';
/**
 * USD per million training tokens, from OpenAI's published fine-tuning prices; the
 * estimate is tokens × epochs × price. Models not listed use the gpt-4o-mini price.
 */
export const TRAINING_PRICE_PER_MTOK: Record<string, number> = {
  'gpt-4o-mini-2024-07-18': 3,
  'gpt-4o-2024-08-06': 25,
  'gpt-4.1-mini-2025-04-14': 5,
  'gpt-4.1-2025-04-14': 25,
};
/** OpenAI refuses a training file with fewer examples than this. */
export const MIN_EXAMPLES = 10;
/** OpenAI's limit on one example's tokens for the gpt-4o-mini family. */
export const MAX_EXAMPLE_TOKENS = 65_536;
const DEFAULT_EPOCHS = 3;

export const exportFilters = z.strictObject({
  /** Only conversations rated at least this (null: rating not required). */
  min_rating: z.int().min(1).max(5).nullable().default(4),
  /** agreement: only conversations in which an agreement was recorded. */
  outcome: z.enum(['agreement', 'any']).default('agreement'),
  from: z.coerce.date().optional(),
  to: z.coerce.date().optional(),
  limit: z.int().min(1).max(50_000).default(5_000),
});
export type ExportFilters = z.input<typeof exportFilters>;

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ExportReport {
  conversations: number;
  examples: number;
  tokens: number;
  /** tokens × epochs (what OpenAI bills). */
  billedTokens: number;
  epochs: number;
  baseModel: string;
  estimatedCostUsd: number;
  maxExampleTokens: number;
  errors: string[];
  warnings: string[];
}

export interface FineTuningExport {
  jsonl: string;
  report: ExportReport;
  conversationIds: string[];
}

export class FineTuneError extends AcuerdoError {
  override name = 'FineTuneError';
}

const BOT_ONLY_AFTER_CLOSE = new Set([RATING_QUESTION.text, RATING_THANKS, COMMENT_THANKS]);

function tokensOf(messages: ChatMessage[]): number {
  // OpenAI's chat format: about 3 tokens of framing a message and 3 to prime the answer.
  return messages.reduce((n, m) => n + 3 + encode(m.content).length, 3);
}

/** One conversation as a training example; undefined when it has no exchange to learn from. */
function exampleOf(rows: { direction: string; author: string; text: string | null }[], names: string[]): ChatMessage[] | undefined {
  const messages: ChatMessage[] = [{ role: 'system', content: SYSTEM_PROMPT }];
  for (const r of rows) {
    // The rating's question and what follows it are not part of the negotiation.
    if (r.direction === 'out' && r.text && BOT_ONLY_AFTER_CLOSE.has(r.text)) break;
    if (!r.text?.trim()) continue;
    const role = r.direction === 'in' ? 'user' : r.author === 'bot' ? 'assistant' : undefined;
    if (!role) continue;
    const content = maskPersonalData(r.text, { names });
    const last = messages[messages.length - 1]!;
    if (last.role === role) last.content += `\n${content}`;
    else messages.push({ role, content });
  }
  while (messages.length > 1 && messages[messages.length - 1]!.role !== 'assistant') messages.pop();
  if (!messages.some((m) => m.role === 'user') || !messages.some((m) => m.role === 'assistant')) return undefined;
  return messages;
}

/** The conversations the filters choose, as JSONL, with the validation report. */
export async function exportFineTuning(knex: Knex, input: ExportFilters, options: { baseModel?: string; epochs?: number } = {}): Promise<FineTuningExport> {
  const f = exportFilters.parse(input);
  const q = knex('conversations as c').leftJoin('debtors as d', 'd.id', 'c.debtor_id').select('c.id', 'd.nombre_del_cliente as name').orderBy('c.opened_at').limit(f.limit);
  if (f.min_rating !== null) q.whereExists(knex('ratings as r').whereRaw('r.conversation_id = c.id').where('r.rating', '>=', f.min_rating));
  if (f.outcome === 'agreement') q.whereExists(knex('agreements as a').whereRaw('a.conversation_id = c.id'));
  if (f.from) q.where('c.opened_at', '>=', f.from);
  if (f.to) q.where('c.opened_at', '<', f.to);
  const conversations = (await q) as { id: string; name: string | null }[];

  const baseModel = options.baseModel ?? DEFAULT_BASE_MODEL;
  const epochs = options.epochs ?? DEFAULT_EPOCHS;
  const lines: string[] = [];
  const used: string[] = [];
  let tokens = 0;
  let maxExampleTokens = 0;
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const c of conversations) {
    const rows = (await knex('messages').where({ conversation_id: c.id }).orderBy('id').select('direction', 'author', 'text')) as { direction: string; author: string; text: string | null }[];
    const messages = exampleOf(rows, c.name ? [c.name] : []);
    if (!messages) continue;
    const n = tokensOf(messages);
    if (n > MAX_EXAMPLE_TOKENS) {
      warnings.push(`conversation ${c.id} has ${n} tokens, over the ${MAX_EXAMPLE_TOKENS} limit; left out`);
      continue;
    }
    maxExampleTokens = Math.max(maxExampleTokens, n);
    tokens += n;
    lines.push(JSON.stringify({ messages }));
    used.push(c.id);
  }
  if (lines.length < MIN_EXAMPLES) errors.push(`OpenAI needs at least ${MIN_EXAMPLES} examples; these filters give ${lines.length}`);
  if (conversations.length > lines.length) warnings.push(`${conversations.length - lines.length} chosen conversation(s) had no exchange to learn from`);
  const price = TRAINING_PRICE_PER_MTOK[baseModel] ?? TRAINING_PRICE_PER_MTOK[DEFAULT_BASE_MODEL]!;
  return {
    jsonl: lines.length ? `${lines.join('\n')}\n` : '',
    conversationIds: used,
    report: {
      conversations: used.length,
      examples: lines.length,
      tokens,
      billedTokens: tokens * epochs,
      epochs,
      baseModel,
      estimatedCostUsd: Math.round(((tokens * epochs) / 1_000_000) * price * 10_000) / 10_000,
      maxExampleTokens,
      errors,
      warnings,
    },
  };
}

export const startJobInput = z.strictObject({
  filters: exportFilters.default({ min_rating: 4, outcome: 'agreement', limit: 5_000 }),
  base_model: z.string().min(1).max(100).default(DEFAULT_BASE_MODEL),
  epochs: z.int().min(1).max(50).optional(),
  learning_rate_multiplier: z.number().positive().max(10).optional(),
});
export type StartJobInput = z.input<typeof startJobInput>;

export interface FineTuningJobRow {
  id: number;
  openai_job_id: string | null;
  status: string;
  base_model: string;
  resulting_model: string | null;
  training_file: string | null;
  conversations_used: number;
  examples: number;
  progress: number;
  error: string | null;
  epochs: number | null;
  learning_rate_multiplier: number | null;
  report: ExportReport | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

/** Exports, uploads the file and creates the job; the row tracks it from then on. */
export async function startFineTuningJob(knex: Knex, client: OpenAI, input: StartJobInput, options: { by: string; clock: Clock; log?: Logger }): Promise<FineTuningJobRow> {
  const p = startJobInput.parse(input);
  const data = await exportFineTuning(knex, p.filters, { baseModel: p.base_model, epochs: p.epochs });
  if (data.report.errors.length) throw new FineTuneError(data.report.errors.join('; '));
  const now = options.clock.now();
  const [row] = (await knex('fine_tuning_jobs')
    .insert({
      status: 'preparing',
      base_model: p.base_model,
      conversations_used: data.report.conversations,
      examples: data.report.examples,
      epochs: p.epochs ?? null,
      learning_rate_multiplier: p.learning_rate_multiplier ?? null,
      filters: JSON.stringify(p.filters),
      report: JSON.stringify(data.report),
      created_by: options.by,
      created_at: now,
      updated_at: now,
    })
    .returning('id')) as { id: number }[];
  const id = row!.id;
  try {
    const file = await client.files.create({ file: await toFile(Buffer.from(data.jsonl, 'utf8'), `acuerdo-finetune-${id}.jsonl`), purpose: 'fine-tune' });
    const hyperparameters = {
      ...(p.epochs !== undefined ? { n_epochs: p.epochs } : {}),
      ...(p.learning_rate_multiplier !== undefined ? { learning_rate_multiplier: p.learning_rate_multiplier } : {}),
    };
    const job = await client.fineTuning.jobs.create({
      model: p.base_model,
      training_file: file.id,
      suffix: 'acuerdo',
      method: { type: 'supervised', supervised: { hyperparameters } },
    });
    await knex('fine_tuning_jobs').where({ id }).update({ openai_job_id: job.id, training_file: file.id, status: job.status, updated_at: options.clock.now() });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await knex('fine_tuning_jobs').where({ id }).update({ status: 'failed', error: message.slice(0, 2000), updated_at: options.clock.now(), finished_at: options.clock.now() });
    options.log?.warn({ err, job: id }, 'could not start a fine-tuning job');
  }
  return (await knex('fine_tuning_jobs').where({ id }).first()) as FineTuningJobRow;
}

const OPEN_STATUSES = ['validating_files', 'queued', 'running'];

/** Reads every open job's state from OpenAI (the scheduler calls it every few minutes). */
export async function pollFineTuningJobs(knex: Knex, client: OpenAI, clock: Clock, log?: Logger): Promise<{ checked: number; finished: number; errors: number }> {
  const open = (await knex('fine_tuning_jobs').whereIn('status', OPEN_STATUSES).whereNotNull('openai_job_id').select('id', 'openai_job_id')) as { id: number; openai_job_id: string }[];
  let finished = 0;
  let errors = 0;
  for (const row of open) {
    try {
      const job = await client.fineTuning.jobs.retrieve(row.openai_job_id);
      let progress: number | undefined;
      const events = await client.fineTuning.jobs.listEvents(row.openai_job_id, { limit: 20 });
      for (const e of events.data) {
        const d = e.data as { step?: number; total_steps?: number } | undefined;
        if (e.type === 'metrics' && d?.step && d.total_steps) {
          progress = Math.max(progress ?? 0, Math.round((d.step / d.total_steps) * 1000) / 10);
        }
      }
      const done = ['succeeded', 'failed', 'cancelled'].includes(job.status);
      const hp = job.method?.supervised?.hyperparameters ?? job.hyperparameters;
      const numeric = (v: unknown) => (typeof v === 'number' ? v : null);
      await knex('fine_tuning_jobs')
        .where({ id: row.id })
        .update({
          status: job.status,
          resulting_model: job.fine_tuned_model ?? null,
          error: job.error ? `${job.error.code}: ${job.error.message}` : null,
          epochs: numeric(hp?.n_epochs) ?? knex.raw('epochs'),
          learning_rate_multiplier: numeric(hp?.learning_rate_multiplier) ?? knex.raw('learning_rate_multiplier'),
          progress: job.status === 'succeeded' ? 100 : (progress ?? knex.raw('progress')),
          updated_at: clock.now(),
          finished_at: done ? (job.finished_at ? new Date(job.finished_at * 1000) : clock.now()) : null,
        });
      if (done) finished++;
    } catch (err) {
      errors++;
      log?.warn({ err, job: row.id }, 'could not read a fine-tuning job from OpenAI');
    }
  }
  return { checked: open.length, finished, errors };
}

export async function listFineTuningJobs(knex: Knex): Promise<FineTuningJobRow[]> {
  return (await knex('fine_tuning_jobs').orderBy('id', 'desc').limit(100)) as FineTuningJobRow[];
}

/** Makes a succeeded job's model the OpenAI fallback's model on every instance. */
export async function useFineTunedModel(knex: Knex, jobId: number, options: { by: string; clock: Clock }): Promise<string> {
  return knex.transaction(async (trx) => {
    const job = (await trx('fine_tuning_jobs').where({ id: jobId }).first('status', 'resulting_model')) as { status: string; resulting_model: string | null } | undefined;
    if (!job) throw new FineTuneError(`there is no fine-tuning job ${jobId}`);
    if (job.status !== 'succeeded' || !job.resulting_model) throw new FineTuneError(`fine-tuning job ${jobId} has not succeeded (status ${job.status})`);
    await bumpRevision(trx, options.clock.now(), options.by, { fallback_model: job.resulting_model });
    return job.resulting_model;
  });
}

/** Back to the configured OPENAI_MODEL. */
export async function clearFallbackModel(knex: Knex, options: { by: string; clock: Clock }): Promise<void> {
  await knex.transaction((trx) => bumpRevision(trx, options.clock.now(), options.by, { fallback_model: null }));
}

/** The official SDK's client for files and fine-tuning jobs; undefined without an API key. */
export function createFineTuningClient(options: { apiKey?: string; baseURL?: string }): OpenAI | undefined {
  return options.apiKey ? new OpenAI({ apiKey: options.apiKey, baseURL: options.baseURL, maxRetries: 2, timeout: 60_000 }) : undefined;
}
