/**
 * The learning loop from the command line (the dashboard does the same through the admin API):
 *
 *   npx acuerdo train --store           a new model version from the corpus plus the reviewed
 *                                       examples, cross-validated and gated (= learning train)
 *   npx acuerdo learning versions       the versions, their metrics and gate, the active one
 *   npx acuerdo learning activate 7 [--force]
 *   npx acuerdo learning rollback
 *   npx acuerdo learning export [--min-rating 4|none] [--outcome agreement|any] [--from D] [--to D] [--out file.jsonl]
 */
import fs from 'node:fs/promises';
import type { Command } from 'commander';
import { loadConfig } from '../core/index.js';
import { activateVersion, DEFAULT_TOLERANCE, exportFineTuning, listVersions, readState, rollbackVersion, trainVersion } from '../learning/index.js';
import { fail, withDatabase } from './context.js';

const BY = `cli:${process.env.USER ?? 'unknown'}`;

export interface StoreTrainOptions {
  folds: number;
  seed: number;
  tolerance?: number;
  json?: boolean;
}

/** Trains, gates and stores a version; prints what happened. */
export async function trainStoredVersion(opts: StoreTrainOptions): Promise<void> {
  await withDatabase(async ({ knex, clock, config, log }) => {
    const started = performance.now();
    const result = await trainVersion(knex, {
      clock,
      by: BY,
      settings: { confidenceThreshold: config.NLU_CONFIDENCE_THRESHOLD, maxChars: config.NLU_MAX_CHARS, openaiEnabled: false },
      log,
      folds: opts.folds,
      seed: opts.seed,
      tolerance: opts.tolerance ?? DEFAULT_TOLERANCE,
      inProcess: true,
    });
    const seconds = (performance.now() - started) / 1000;
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ ...result, seconds }, null, 2)}\n`);
      return;
    }
    const out = [
      `Model version ${result.version}: ${result.examples.corpus} corpus + ${result.examples.reviewed} reviewed examples, trained in ${seconds.toFixed(1)} s.`,
      `Cross-validation (${result.crossValidation.folds} folds): accuracy ${(result.crossValidation.accuracy * 100).toFixed(1)} %, macro-F1 ${(result.crossValidation.macroF1 * 100).toFixed(1)} %.`,
      ...result.gate.sets.map(
        (s) =>
          `Gate ${s.name} (${s.examples}): ${(s.candidate.accuracy * 100).toFixed(1)} % vs active ${(s.active.accuracy * 100).toFixed(1)} % — ${s.passed ? 'passed' : 'FAILED'}`,
      ),
      result.activated
        ? `Activated: every instance uses version ${result.version} within seconds.`
        : `Kept as a candidate, not activated${result.gate.passed ? ' (another version was activated meanwhile)' : ''}. A supervisor may force it: npx acuerdo learning activate ${result.version} --force`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  });
}

export function registerLearningCommands(program: Command): void {
  const learning = program.command('learning').description('the learning loop: model versions, activation, rollback, fine-tuning export');
  learning
    .command('train')
    .description('train a new model version from the corpus plus the reviewed examples, behind the gate (same as train --store)')
    .option('--folds <k>', 'cross-validation folds', (v) => Number(v), 5)
    .option('--seed <n>', 'seed of the fold split', (v) => Number(v), 42)
    .option('--tolerance <t>', 'how far below the active version a gate set may score and still pass', (v) => Number(v))
    .option('--json', 'print the result as JSON')
    .action(async (opts: StoreTrainOptions) => trainStoredVersion(opts));
  learning
    .command('versions')
    .description('list the model versions with their metrics and gate verdicts')
    .action(async () => {
      await withDatabase(async ({ knex }) => {
        const state = await readState(knex);
        for (const v of await listVersions(knex)) {
          const gate = (v.gate?.sets ?? []).map((s) => `${s.name} ${(s.candidate.accuracy * 100).toFixed(1)}/${(s.active.accuracy * 100).toFixed(1)}`).join(' ');
          process.stdout.write(`${String(v.version).padStart(4)}  ${v.status.padEnd(9)} cv ${((v.metrics?.crossValidation?.accuracy ?? 0) * 100).toFixed(1)} %  gate ${v.gate?.passed ? 'passed' : 'failed'} ${gate}${v.forced ? '  (forced)' : ''}\n`);
        }
        process.stdout.write(state.active_model_id === null ? 'Active: the shipped model file.\n' : '');
      });
    });
  learning
    .command('activate <version>')
    .description('make a version active on every instance (--force for one that failed its gate)')
    .option('--force', 'activate even though it scores lower than the active version on a gate set')
    .action(async (version: string, opts: { force?: boolean }) => {
      await withDatabase(async ({ knex, clock }) => {
        try {
          const row = await activateVersion(knex, Number(version), { by: BY, clock, force: opts.force });
          process.stdout.write(`Version ${row.version} is active${row.forced ? ' (forced)' : ''}.\n`);
        } catch (err) {
          fail((err as Error).message);
        }
      });
    });
  learning
    .command('rollback')
    .description('go back to the version active before the current one (or the shipped model file)')
    .action(async () => {
      await withDatabase(async ({ knex, clock }) => {
        const { active } = await rollbackVersion(knex, { by: BY, clock });
        process.stdout.write(active === null ? 'The shipped model file is active.\n' : `Version ${active} is active.\n`);
      });
    });
  learning
    .command('export')
    .description('export conversations as OpenAI chat fine-tuning JSONL, personal data masked; the report goes to stderr')
    .option('--min-rating <n>', 'only conversations rated at least this ("none": rating not required)', '4')
    .option('--outcome <o>', 'agreement (only conversations with an agreement) or any', 'agreement')
    .option('--from <date>', 'conversations opened from this date')
    .option('--to <date>', 'conversations opened before this date')
    .option('--out <file>', 'write the JSONL here instead of stdout')
    .action(async (opts: { minRating: string; outcome: string; from?: string; to?: string; out?: string }) => {
      loadConfig();
      await withDatabase(async ({ knex }) => {
        const data = await exportFineTuning(knex, {
          min_rating: opts.minRating === 'none' ? null : Number(opts.minRating),
          outcome: opts.outcome as 'agreement' | 'any',
          ...(opts.from ? { from: new Date(opts.from) } : {}),
          ...(opts.to ? { to: new Date(opts.to) } : {}),
        });
        if (opts.out) await fs.writeFile(opts.out, data.jsonl, 'utf8');
        else process.stdout.write(data.jsonl);
        process.stderr.write(`${JSON.stringify(data.report, null, 2)}\n`);
        if (data.report.errors.length) process.exitCode = 1;
      });
    });
}
