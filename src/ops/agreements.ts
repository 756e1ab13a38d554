import type { Writable } from 'node:stream';
import type { Knex } from '../store/db.js';
import { wherePortfolio } from './conversations.js';

export interface AgreementFilters {
  portfolio?: string;
  channel?: string;
  kind?: 'contado' | 'cuotas';
  /** Recorded at or after. */
  from?: Date;
  /** Recorded before. */
  to?: Date;
}

export interface AgreementRow {
  id: number;
  created_at: string;
  portfolio_id: number;
  portfolio: string;
  debtor_id: number;
  cedula: string;
  debtor_name: string;
  banco: string;
  kind: 'contado' | 'cuotas';
  total: number;
  installments: number;
  installment_amount: number;
  first_due_date: string;
  channel: string;
  status: string;
  conversation_id: string | null;
}

const COLUMNS = [
  'a.id',
  'a.created_at',
  'a.portfolio_id',
  'p.name as portfolio',
  'a.debtor_id',
  'd.cedula',
  'd.nombre_del_cliente as debtor_name',
  'd.banco',
  'a.kind',
  'a.total',
  'a.installments',
  'a.installment_amount',
  'a.first_due_date',
  'a.channel',
  'a.status',
  'a.conversation_id',
] as const;

function query(knex: Knex, f: AgreementFilters): Knex.QueryBuilder {
  const q = knex('agreements as a').join('portfolios as p', 'p.id', 'a.portfolio_id').join('debtors as d', 'd.id', 'a.debtor_id');
  if (f.portfolio) wherePortfolio(q, 'a.portfolio_id', 'p.name', f.portfolio);
  if (f.channel) q.where('a.channel', f.channel);
  if (f.kind) q.where('a.kind', f.kind);
  if (f.from) q.where('a.created_at', '>=', f.from);
  if (f.to) q.where('a.created_at', '<', f.to);
  return q;
}

type DbRow = Omit<AgreementRow, 'created_at'> & { created_at: Date };
const toRow = (r: DbRow): AgreementRow => ({ ...r, created_at: r.created_at.toISOString() });

/** Agreements matching the filters, newest first, and how many match in all. */
export async function listAgreements(
  knex: Knex,
  f: AgreementFilters & { limit: number; offset: number },
): Promise<{ total: number; total_amount: number; items: AgreementRow[] }> {
  const q = query(knex, f);
  const [agg] = (await q.clone().select(knex.raw('count(*)::int as n'), knex.raw('coalesce(sum(a.total), 0)::bigint as amount'))) as {
    n: number;
    amount: number;
  }[];
  const rows = (await q.select(...COLUMNS).orderBy('a.created_at', 'desc').orderBy('a.id', 'desc').limit(f.limit).offset(f.offset)) as DbRow[];
  return { total: agg?.n ?? 0, total_amount: agg?.amount ?? 0, items: rows.map(toRow) };
}

/** The CSV's columns, in order: what a collection team loads back into its own systems. */
export const CSV_HEADER = [
  'id',
  'created_at',
  'portfolio',
  'cedula',
  'debtor_name',
  'banco',
  'kind',
  'total',
  'installments',
  'installment_amount',
  'first_due_date',
  'channel',
  'status',
  'conversation_id',
] as const;

/**
 * One CSV field (RFC 4180). A text starting with = + - @ or a tab is prefixed with
 * an apostrophe, so a spreadsheet never runs it as a formula (CSV injection).
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = value instanceof Date ? value.toISOString() : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n;]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(values: readonly unknown[]): string {
  return values.map(csvField).join(',') + '\r\n';
}

const CSV_BATCH = 1000;

/**
 * Writes the agreements as CSV (UTF-8 with a byte-order mark, so Excel shows the
 * accents), oldest first, reading in keyset-paginated batches so a large export holds
 * little memory. Nothing is written until the first batch is read, so a database
 * error still gets a proper error answer.
 */
export async function writeAgreementsCsv(knex: Knex, f: AgreementFilters, out: Writable): Promise<number> {
  const write = (chunk: string) =>
    new Promise<void>((resolve, reject) => {
      if (out.write(chunk)) resolve();
      else {
        out.once('drain', resolve);
        out.once('error', reject);
      }
    });
  const batch = async (after?: { created_at: Date; id: number }) => {
    const q = query(knex, f).select(...COLUMNS).orderBy('a.created_at').orderBy('a.id').limit(CSV_BATCH);
    if (after) q.whereRaw('(a.created_at, a.id) > (?, ?)', [after.created_at, after.id]);
    return (await q) as DbRow[];
  };
  let rows = await batch();
  await write('\uFEFF' + csvLine(CSV_HEADER));
  let count = 0;
  for (;;) {
    for (const raw of rows) {
      const row = toRow(raw);
      await write(csvLine(CSV_HEADER.map((key) => row[key])));
      count += 1;
    }
    const last = rows[rows.length - 1];
    if (rows.length < CSV_BATCH || !last) return count;
    rows = await batch(last);
  }
}
