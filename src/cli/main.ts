import { Command } from 'commander';
import { migrateLatest, migrateRollback, migrationStatus } from '../store/index.js';
import { withDatabase } from './context.js';
import { registerImportCommand } from './import-command.js';
import { registerEngineCommands } from './engine-commands.js';
import { registerNluCommands } from './nlu-commands.js';
import { registerCampaignCommands } from './campaign-commands.js';
import { registerComplianceCommands } from './compliance-commands.js';
import { registerPaymentCommands } from './payment-commands.js';
import { registerDocsCommands } from './docs-commands.js';
import { registerAgencyCommands, registerUserCommands } from './user-commands.js';
import { registerLearningCommands } from './learning-commands.js';

/** Builds the `acuerdo` command line. Each area of the product registers its own subcommands. */
export function buildProgram(): Command {
  const program = new Command('acuerdo')
    .description('acuerdo: the omnichannel debt-negotiation bot. Commands work against the same database as the service.')
    .showHelpAfterError();

  program
    .command('migrate')
    .description('apply pending database migrations')
    .option('--rollback', 'undo the last batch of migrations')
    .option('--all', 'with --rollback: undo every migration')
    .option('--status', 'list applied and pending migrations')
    .action(async (opts: { rollback?: boolean; all?: boolean; status?: boolean }) => {
      await withDatabase(
        async ({ knex }) => {
          if (opts.status) {
            const { completed, pending } = await migrationStatus(knex);
            for (const m of completed) process.stdout.write(`applied  ${m}\n`);
            for (const m of pending) process.stdout.write(`pending  ${m}\n`);
            return;
          }
          const names = opts.rollback ? await migrateRollback(knex, opts.all) : await migrateLatest(knex);
          const verb = opts.rollback ? 'Rolled back' : 'Applied';
          process.stdout.write(names.length ? `${verb} ${names.length}: ${names.join(', ')}\n` : `Nothing to ${opts.rollback ? 'roll back' : 'apply'}.\n`);
        },
        { migrate: false },
      );
    });

  registerImportCommand(program);
  registerNluCommands(program);
  registerEngineCommands(program);
  registerComplianceCommands(program);
  registerCampaignCommands(program);
  registerPaymentCommands(program);
  registerDocsCommands(program);
  registerUserCommands(program);
  registerAgencyCommands(program);
  registerLearningCommands(program);

  program
    .command('start')
    .description('run the service (same as npm start)')
    .action(async () => {
      const { main } = await import('../main.js');
      await main();
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
