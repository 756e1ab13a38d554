import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { ImportError } from '../core/index.js';
import { importPortfolio } from '../store/index.js';
import { withDatabase } from './context.js';

export function registerImportCommand(program: Command): void {
  program
    .command('import')
    .description("import a bank's spreadsheet export (CSV, comma or semicolon, UTF-8 or Latin-1) into a portfolio")
    .argument('<file>', 'the CSV file')
    .requiredOption('-p, --portfolio <name>', 'the portfolio (cartera) to import into; created if new')
    .option('--skip-invalid', 'import the valid rows and list the invalid ones (default: any invalid row imports nothing)')
    .action(async (file: string, opts: { portfolio: string; skipInvalid?: boolean }) => {
      const bar = process.stderr.isTTY
        ? new SingleBar({ stream: process.stderr, format: 'importing [{bar}] {percentage}% | {value}/{total} rows' }, Presets.shades_classic)
        : undefined;
      try {
        const result = await withDatabase(({ knex, clock }) =>
          importPortfolio(knex, file, {
            portfolio: opts.portfolio,
            now: clock.now(),
            skipInvalid: opts.skipInvalid,
            onProgress: (done, total) => (done === 0 ? bar?.start(total, 0) : bar?.update(done)),
          }),
        );
        bar?.stop();
        process.stdout.write(
          `Imported ${result.rows} debtors into "${result.portfolio}" (${result.inserted} new, ${result.updated} updated; ${result.encoding}, "${result.delimiter}" separated).\n`,
        );
        if (result.rejected.length > 0) {
          process.stdout.write(`Skipped ${result.rejected.length} invalid rows:\n`);
          for (const p of result.rejected) process.stdout.write(`  line ${p.line}: ${p.reason}\n`);
        }
      } catch (err) {
        bar?.stop();
        if (err instanceof ImportError) {
          process.stderr.write(`${err.message}\n`);
          for (const p of err.problems) process.stderr.write(`  line ${p.line}: ${p.reason}\n`);
          process.exitCode = 1;
          return;
        }
        throw err;
      }
    });
}
