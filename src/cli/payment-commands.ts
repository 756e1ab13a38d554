import { randomBytes } from 'node:crypto';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { createAgreementsService, createLinkSigner, unmatchedPayments } from '../agreements/index.js';
import { ImportError, systemClock } from '../core/index.js';
import { fail, withDatabase } from './context.js';

/** `payments import` and `payments unmatched`. */
export function registerPaymentCommands(program: Command): void {
  const payments = program.command('payments').description("payments received: the bank's payment report, and payments no agreement matched");

  payments
    .command('import')
    .description("import a bank's payment report (CSV: Cedula or Referencia, Valor, Fecha, optional Medio; comma or semicolon; UTF-8 or Latin-1) and allocate it to the agreements' installments")
    .argument('<file>', 'the CSV file')
    .option('--skip-invalid', 'import the valid rows and list the invalid ones (default: any invalid row imports nothing)')
    .action(async (file: string, opts: { skipInvalid?: boolean }) => {
      const bar = process.stderr.isTTY ? new SingleBar({ stream: process.stderr, format: 'importing [{bar}] {percentage}% | {value}/{total} payments' }, Presets.shades_classic) : undefined;
      try {
        const result = await withDatabase(async ({ knex, config, log }) => {
          const clock = systemClock;
          const publicUrl = config.PUBLIC_URL ?? `http://localhost:${config.PORT}`;
          const signer = createLinkSigner({ secret: config.LINK_SIGNING_SECRET ?? randomBytes(32).toString('hex'), publicUrl, clock });
          // The running service's outbox worker sends the paz y salvo messages this queues.
          const service = createAgreementsService({ knex, clock, log, signer, agency: config.AGENCY_NAME, publicUrl, templateLanguage: config.CAMPAIGN_TEMPLATE_LANGUAGE });
          return service.importFile(file, { skipInvalid: opts.skipInvalid, onProgress: (done, total) => (done === 0 ? bar?.start(total, 0) : bar?.update(done)) });
        });
        bar?.stop();
        process.stdout.write(
          `Imported ${result.rows} payments (${result.applied} applied, ${result.unmatched} without an agreement, ${result.duplicates} already imported; ${result.encoding}, "${result.delimiter}" separated).` +
            (result.completed.length ? ` ${result.completed.length} agreement(s) fully paid: paz y salvo issued.` : '') +
            '\n',
        );
        if (result.rejected.length) {
          process.stdout.write(`Skipped ${result.rejected.length} invalid rows:\n`);
          for (const p of result.rejected) process.stdout.write(`  line ${p.line}: ${p.reason}\n`);
        }
      } catch (err) {
        bar?.stop();
        if (err instanceof ImportError) {
          fail(err.message);
          for (const p of err.problems) process.stderr.write(`  line ${p.line}: ${p.reason}\n`);
          return;
        }
        throw err;
      }
    });

  payments
    .command('unmatched')
    .description('list payments that matched no agreement (newest first)')
    .option('--limit <n>', 'how many', '50')
    .action(async (opts: { limit: string }) => {
      await withDatabase(async ({ knex }) => {
        const { total, items } = await unmatchedPayments(knex, { limit: Math.max(1, Number(opts.limit) || 50), offset: 0 });
        process.stdout.write(`${total} unmatched payment(s)\n`);
        for (const p of items) process.stdout.write(`#${p.id}  ${String(p.paid_on)}  $${p.amount}  ${p.reference ?? ''}${p.cedula ? ` cc ${String(p.cedula).slice(0, -3).replace(/./g, '*')}${String(p.cedula).slice(-3)}` : ''}  ${p.file_name ?? p.source}${p.line ? `:${p.line}` : ''}\n`);
      });
    });
}
