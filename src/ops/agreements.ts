import type { Writable } from 'node:stream';
import type { Knex } from '../store/index.js';
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
  reference: string | null;
  /** Installments fully paid, of `installments`. */
  paid_installments: number;
  /** COP received and allocated to the schedule. */
  paid_amount: number;
  /** The next installment not fully paid (none when the agreement is paid). */
  next_due_date: string | null;
  next_due_amount: number | null;
  overdue_installments: number;
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
  'a.reference',
  // The schedule's summary (src/agreements): one aggregate per agreement.
  'sch.paid_installments',
  'sch.paid_amount',
  'sch.overdue_installments',
  'nx.next_due_date',
  'nx.next_due_amount',
] as const;

const SCHEDULE_SUMMARY = `(select agreement_id, count(*) filter (where paid_amount >= amount)::int as paid_installments,
    coalesce(sum(paid_amount), 0)::bigint as paid_amount, count(*) filter (where status = 'vencida')::int as overdue_installments
  from agreement_installments group by agreement_id) as sch`;
const NEXT_DUE = `(select distinct on (agreement_id) agreement_id, due_date as next_due_date, (amount - paid_amount) as next_due_amount
  from agreement_installments where paid_amount < amount order by agreement_id, number) as nx`;

function query(knex: Knex, f: AgreementFilters): Knex.QueryBuilder {
  const q = knex('agreements as a')
    .join('portfolios as p', 'p.id', 'a.portfolio_id')
    .join('debtors as d', 'd.id', 'a.debtor_id')
    .leftJoin(knex.raw(SCHEDULE_SUMMARY), 'sch.agreement_id', 'a.id')
    .leftJoin(knex.raw(NEXT_DUE), 'nx.agreement_id', 'a.id');
  if (f.portfolio) wherePortfolio(q, 'a.portfolio_id', 'p.name', f.portfolio);
  if (f.channel) q.where('a.channel', f.channel);
  if (f.kind) q.where('a.kind', f.kind);
  if (f.from) q.where('a.created_at', '>=', f.from);
  if (f.to) q.where('a.created_at', '<', f.to);
  return q;
}

type DbRow = Omit<AgreementRow, 'created_at' | 'paid_installments' | 'paid_amount' | 'overdue_installments'> & {
  created_at: Date;
  paid_installments: number | null;
  paid_amount: number | null;
  overdue_installments: number | null;
};
const toRow = (r: DbRow): AgreementRow => ({
  ...r,
  created_at: r.created_at.toISOString(),
  paid_installments: r.paid_installments ?? 0,
  paid_amount: Number(r.paid_amount ?? 0),
  overdue_installments: r.overdue_installments ?? 0,
  next_due_amount: r.next_due_amount === null ? null : Number(r.next_due_amount),
});

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
  'reference',
  'schedule',
  'paid_amount',
  'next_due_date',
  'next_due_amount',
] as const;

/** The export's formats: plain CSV (RFC 4180, ISO dates) or Excel as used in Colombia. */
export const CSV_FORMATS = ['csv', 'excel-co'] as const;
export type CsvFormat = (typeof CSV_FORMATS)[number];

/** Spanish headers for the Excel-Colombia format, column by column. */
const SPANISH_HEADER: Record<(typeof CSV_HEADER)[number], string> = {
  id: 'ID',
  created_at: 'Fecha del acuerdo',
  portfolio: 'Cartera',
  cedula: 'Cédula',
  debtor_name: 'Nombre',
  banco: 'Entidad',
  kind: 'Tipo',
  total: 'Valor total',
  installments: 'Cuotas',
  installment_amount: 'Valor cuota',
  first_due_date: 'Primer pago',
  channel: 'Canal',
  status: 'Estado',
  conversation_id: 'Conversación',
  reference: 'Referencia',
  schedule: 'Plan de pagos',
  paid_amount: 'Valor pagado',
  next_due_date: 'Próximo vencimiento',
  next_due_amount: 'Valor próximo pago',
};

/** "2026-12-30" → "30/12/2026". */
function ddmmyyyy(iso: string | null | undefined): string {
  if (!iso) return '';
  const [y, m, d] = iso.slice(0, 10).split('-');
  return `${d}/${m}/${y}`;
}

/** The schedule in one cell: "1/3 pagadas; 1 vencida; próxima 30/12/2026". */
export function scheduleSummary(row: AgreementRow): string {
  const parts = [`${row.paid_installments}/${row.installments} pagadas`];
  if (row.overdue_installments) parts.push(`${row.overdue_installments} vencida${row.overdue_installments > 1 ? 's' : ''}`);
  if (row.next_due_date) parts.push(`próxima ${ddmmyyyy(row.next_due_date)}`);
  return parts.join('; ');
}

function cell(row: AgreementRow, key: (typeof CSV_HEADER)[number], format: CsvFormat): unknown {
  if (key === 'schedule') return scheduleSummary(row);
  const value = row[key];
  if (format === 'excel-co') {
    // Bogotá's calendar day of the agreement; dates as dd/mm/yyyy; amounts stay whole pesos without separators.
    if (key === 'created_at') return ddmmyyyy(new Date(new Date(String(value)).getTime() - 5 * 3_600_000).toISOString());
    if (key === 'first_due_date' || key === 'next_due_date') return ddmmyyyy(value as string | null);
  }
  return value;
}

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

export function csvLine(values: readonly unknown[], separator: ',' | ';' = ','): string {
  return values.map(csvField).join(separator) + '\r\n';
}

const CSV_BATCH = 1000;

/**
 * Writes the agreements as CSV (UTF-8 with a byte-order mark, so Excel shows the
 * accents), oldest first, reading in keyset-paginated batches so a large export holds
 * little memory. Nothing is written until the first batch is read, so a database
 * error still gets a proper error answer.
 */
export async function writeAgreementsCsv(knex: Knex, f: AgreementFilters, out: Writable, format: CsvFormat = 'csv'): Promise<number> {
  const separator = format === 'excel-co' ? ';' : ',';
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
  await write('\uFEFF' + csvLine(format === 'excel-co' ? CSV_HEADER.map((k) => SPANISH_HEADER[k]) : CSV_HEADER, separator));
  let count = 0;
  for (;;) {
    for (const raw of rows) {
      const row = toRow(raw);
      await write(csvLine(CSV_HEADER.map((key) => cell(row, key, format)), separator));
      count += 1;
    }
    const last = rows[rows.length - 1];
    if (rows.length < CSV_BATCH || !last) return count;
    rows = await batch(last);
  }
}
