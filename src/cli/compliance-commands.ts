import type { Command } from 'commander';
import { systemClock } from '../core/index.js';
import { fail, withDatabase } from './context.js';
import { checkContactWindow, formatBogota, parseBogotaDateTime, parseClock } from '../compliance/index.js';

const DAY_NAMES: Record<string, number> = { lun: 1, mar: 2, mie: 3, jue: 4, vie: 5, sab: 6, dom: 7 };

/** "lun-vie", "1-5", "sab,dom", "todos" → ISO weekdays; undefined when unreadable. */
export function parseDays(text: string): number[] | undefined {
  const folded = text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, '');
  if (folded === 'todos' || folded === 'all') return [1, 2, 3, 4, 5, 6, 7];
  const day = (s: string): number | undefined => {
    if (/^[1-7]$/.test(s)) return Number(s);
    return DAY_NAMES[s.slice(0, 3)];
  };
  const out = new Set<number>();
  for (const part of folded.split(',')) {
    const [a, b, extra] = part.split('-');
    if (extra !== undefined || a === undefined) return undefined;
    const from = day(a);
    const to = b === undefined ? from : day(b);
    if (from === undefined || to === undefined || to < from) return undefined;
    for (let d = from; d <= to; d++) out.add(d);
  }
  return out.size ? [...out].sort() : undefined;
}

/** `contact-window` and `contact-hours`: the legal contact window and debtors' express requests. */
export function registerComplianceCommands(program: Command): void {
  program
    .command('contact-window')
    .description('say whether a collection contact is allowed at a time (Ley 2300: Mon-Fri 07-19, Sat 08-15, America/Bogota, no Sundays or holidays) and, if not, why and when next')
    .argument('[datetime]', 'ISO 8601 date-time; without an offset it is Bogotá time (default: now)')
    .option('--json', 'print {"allowed", "reason", "next"} as JSON')
    .action((datetime: string | undefined, opts: { json?: boolean }) => {
      const at = datetime === undefined ? systemClock.now() : parseBogotaDateTime(datetime);
      if (!at) {
        fail(`"${datetime}" is not an ISO 8601 date-time (e.g. 2026-12-08T10:00 or 2026-12-08T10:00:00-05:00)`);
        return;
      }
      const check = checkContactWindow(at);
      if (opts.json) {
        const body = check.allowed ? { allowed: true } : { allowed: false, reason: check.reason, next: formatBogota(check.next) };
        process.stdout.write(`${JSON.stringify(body)}\n`);
        return;
      }
      if (check.allowed) {
        process.stdout.write(`Allowed: ${formatBogota(at)} is inside the contact window.\n`);
        return;
      }
      const why = check.reason === 'festivo' && check.holiday ? `festivo (${check.holiday})` : check.reason;
      process.stdout.write(`Not allowed at ${formatBogota(at)}: ${why}. Next allowed: ${formatBogota(check.next)}\n`);
    });

  const hours = program
    .command('contact-hours')
    .description("a debtor's recorded express request to be contacted outside the legal window (Ley 2300, art. 3)");

  hours
    .command('add')
    .description('record the request (for every portfolio the cédula is in)')
    .requiredOption('--cedula <cedula>', "the debtor's cédula")
    .requiredOption('--from <HH:MM>', 'start, Bogotá time')
    .requiredOption('--to <HH:MM>', 'end, Bogotá time (after --from)')
    .option('--days <days>', 'which days: lun-vie, sab,dom, 1-7, todos', 'todos')
    .option('--channel <channel>', 'only this channel (default: any)')
    .option('--until <date>', 'the request expires at this date (ISO 8601)')
    .option('--note <text>', 'how and when the debtor asked (kept as evidence)')
    .option('--by <name>', 'who recorded it')
    .action(async (opts: { cedula: string; from: string; to: string; days: string; channel?: string; until?: string; note?: string; by?: string }) => {
      const from = parseClock(opts.from);
      const to = parseClock(opts.to);
      const days = parseDays(opts.days);
      const until = opts.until === undefined ? undefined : parseBogotaDateTime(opts.until);
      if (from === undefined || to === undefined || from >= to) return fail('--from and --to must be HH:MM with --from before --to');
      if (!days) return fail(`--days "${opts.days}" is not a list of days (lun-vie, sab,dom, 1-7, todos)`);
      if (opts.until !== undefined && !until) return fail(`--until "${opts.until}" is not an ISO 8601 date`);
      await withDatabase(async ({ knex }) => {
        const debtors = (await knex('debtors').where({ cedula: opts.cedula.replace(/\D/g, '') }).select('id')) as { id: number }[];
        if (!debtors.length) return fail(`no debtor has cédula ${opts.cedula}`);
        const ids = await knex('contact_authorizations')
          .insert(
            debtors.map((d) => ({
              debtor_id: d.id,
              days,
              from_time: opts.from,
              to_time: opts.to,
              channel: opts.channel ?? null,
              valid_until: until ?? null,
              note: opts.note ?? null,
              recorded_by: opts.by ?? null,
            })),
          )
          .returning('id');
        process.stdout.write(`Recorded ${ids.length} express request(s): ${ids.map((r: { id: number }) => `#${r.id}`).join(', ')}\n`);
      });
    });

  hours
    .command('list')
    .description('list the requests in force')
    .option('--cedula <cedula>', 'only this debtor')
    .action(async (opts: { cedula?: string }) => {
      await withDatabase(async ({ knex }) => {
        const q = knex('contact_authorizations as a')
          .join('debtors as d', 'd.id', 'a.debtor_id')
          .join('portfolios as p', 'p.id', 'd.portfolio_id')
          .whereNull('a.revoked_at')
          .orderBy('a.id')
          .select('a.id', 'd.cedula', 'p.name as portfolio', 'a.days', 'a.from_time', 'a.to_time', 'a.channel', 'a.valid_until', 'a.note');
        if (opts.cedula) q.where('d.cedula', opts.cedula.replace(/\D/g, ''));
        const rows = (await q) as { id: number; cedula: string; portfolio: string; days: number[]; from_time: string; to_time: string; channel: string | null; valid_until: Date | null; note: string | null }[];
        if (!rows.length) process.stdout.write('No express requests in force.\n');
        for (const r of rows) {
          process.stdout.write(
            `#${r.id}  ${r.cedula}  ${r.portfolio}  days ${r.days.join(',')}  ${r.from_time}-${r.to_time}  ${r.channel ?? 'any channel'}${r.valid_until ? `  until ${formatBogota(r.valid_until)}` : ''}${r.note ? `  "${r.note}"` : ''}\n`,
          );
        }
      });
    });

  hours
    .command('revoke')
    .description('end a request')
    .argument('<id>', 'the request number shown by list')
    .action(async (id: string) => {
      await withDatabase(async ({ knex, clock }) => {
        const n = await knex('contact_authorizations').where({ id: Number(id) }).whereNull('revoked_at').update({ revoked_at: clock.now() });
        if (!n) return fail(`no request #${id} in force`);
        process.stdout.write(`Revoked #${id}.\n`);
      });
    });
}
