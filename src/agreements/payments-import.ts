/**
 * The bank's payment report: `npx acuerdo payments import FILE.csv`. Columns Cedula or
 * Referencia (either or both), Valor, Fecha and optionally Medio; comma or semicolon;
 * UTF-8 or Latin-1; amounts as the portfolio import reads them ($123.456, 123.456,00,
 * 1'500.000…). Every row is allocated (./payments.ts) in one transaction: with any bad
 * row nothing is written unless skipInvalid. Re-importing the same file changes nothing:
 * each row's key is its payer, amount, date and method (and its rank among identical rows).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { ImportError, type RowProblem } from '../core/index.js';
import type { Knex } from '../store/index.js';
import { decodeSpreadsheet, detectDelimiter, normalizeCedula, parseAmount } from '../store/index.js';
import { recordPayment } from './payments.js';

export interface BankPaymentRow {
  line: number;
  cedula: string | null;
  reference: string | null;
  amount: number;
  /** YYYY-MM-DD */
  paidOn: string;
  method: string | null;
}

export interface PaymentImportResult {
  importId: number;
  encoding: 'utf-8' | 'latin1';
  delimiter: ',' | ';';
  rows: number;
  applied: number;
  unmatched: number;
  /** Rows already imported before (same payment): nothing done. */
  duplicates: number;
  /** Agreements this file completed (cumplido), by id. */
  completed: number[];
  rejected: RowProblem[];
}

const headerKey = (h: string) => h.normalize('NFD').replace(/\p{M}/gu, '').trim().toLowerCase().replace(/[\s-]+/g, '_');
const COLUMNS = { cedula: ['cedula', 'cc', 'documento'], referencia: ['referencia', 'ref', 'referencia_de_pago'], valor: ['valor', 'monto', 'valor_pagado'], fecha: ['fecha', 'fecha_de_pago', 'fecha_pago'], medio: ['medio', 'medio_de_pago', 'canal'] } as const;

/** dd/mm/yyyy, d/m/yyyy, dd-mm-yyyy or yyyy-mm-dd → YYYY-MM-DD (a real calendar date). */
export function parseBankDate(raw: string): string | undefined {
  const s = raw.trim();
  let y: number, m: number, d: number;
  let match = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(s);
  if (match) [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  else {
    match = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(s);
    if (!match) return undefined;
    [d, m, y] = [Number(match[1]), Number(match[2]), Number(match[3])];
  }
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return undefined;
  return date.toISOString().slice(0, 10);
}

export function parsePaymentsCsv(buffer: Buffer): { rows: BankPaymentRow[]; problems: RowProblem[]; encoding: 'utf-8' | 'latin1'; delimiter: ',' | ';' } {
  const { text, encoding } = decodeSpreadsheet(buffer);
  const delimiter = detectDelimiter(text);
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { delimiter, info: true, relax_column_count: true, skip_empty_lines: true, trim: true }) as unknown as typeof records;
  } catch (err) {
    const e = err as { lines?: number; message: string };
    throw new ImportError(`The file is not valid CSV${e.lines ? ` (line ${e.lines})` : ''}: ${e.message}`, [{ line: e.lines ?? 0, reason: e.message }]);
  }
  const header = records[0];
  if (!header) throw new ImportError('The file is empty');
  const index: Partial<Record<keyof typeof COLUMNS, number>> = {};
  header.record.forEach((name, i) => {
    const key = headerKey(name);
    for (const [column, aliases] of Object.entries(COLUMNS) as [keyof typeof COLUMNS, readonly string[]][]) {
      if (aliases.includes(key) && index[column] === undefined) index[column] = i;
    }
  });
  const missing: string[] = [];
  if (index.cedula === undefined && index.referencia === undefined) missing.push('Cedula or Referencia');
  if (index.valor === undefined) missing.push('Valor');
  if (index.fecha === undefined) missing.push('Fecha');
  if (missing.length) {
    throw new ImportError(`Missing column${missing.length > 1 ? 's' : ''} in the header (line 1): ${missing.join(', ')}. Expected: Cedula or Referencia, Valor, Fecha; optional: Medio`, [
      { line: 1, reason: `missing ${missing.join(', ')}` },
    ]);
  }
  const rows: BankPaymentRow[] = [];
  const problems: RowProblem[] = [];
  for (const { record, info } of records.slice(1)) {
    const line = info.lines;
    if (record.length !== header.record.length) {
      problems.push({ line, reason: `has ${record.length} fields; the header has ${header.record.length}` });
      continue;
    }
    const get = (c: keyof typeof COLUMNS) => (index[c] === undefined ? '' : (record[index[c]!] ?? '').trim());
    const reasons: string[] = [];
    const rawCedula = get('cedula');
    const cedula = rawCedula ? normalizeCedula(rawCedula) : undefined;
    if (rawCedula && !cedula) reasons.push(`Cedula "${rawCedula}" is not a cédula (6 to 10 digits; 10-digit ones start with 1)`);
    const reference = get('referencia').toUpperCase() || null;
    if (!rawCedula && !reference) reasons.push('neither Cedula nor Referencia is filled in');
    const amount = parseAmount(get('valor'));
    if (amount === undefined || amount <= 0) reasons.push(`Valor "${get('valor')}" is not an amount (e.g. 150000 or $150.000)`);
    const paidOn = parseBankDate(get('fecha'));
    if (!paidOn) reasons.push(`Fecha "${get('fecha')}" is not a date (dd/mm/aaaa or aaaa-mm-dd)`);
    if (reasons.length || amount === undefined || !paidOn) {
      problems.push({ line, reason: reasons.join('; ') });
      continue;
    }
    rows.push({ line, cedula: cedula ?? null, reference, amount, paidOn, method: get('medio') || null });
  }
  return { rows, problems, encoding, delimiter };
}

export interface PaymentImportOptions {
  skipInvalid?: boolean;
  onProgress?: (done: number, total: number) => void;
  now: Date;
}

/** Imports a payment report (all or nothing), allocating every payment. */
export async function importPayments(knex: Knex, file: string, options: PaymentImportOptions): Promise<PaymentImportResult> {
  const buffer = await fs.readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new ImportError(`Cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  const { rows, problems, encoding, delimiter } = parsePaymentsCsv(buffer);
  if (problems.length && !options.skipInvalid) {
    throw new ImportError(`${problems.length} invalid row${problems.length > 1 ? 's' : ''}; nothing was imported (use --skip-invalid to import the valid rows)`, problems);
  }
  if (!rows.length) throw new ImportError('The file has no valid rows; nothing was imported', problems);
  return knex.transaction(async (trx) => {
    const [imp] = (await trx('payment_imports')
      .insert({ file_name: path.basename(file), sha256: createHash('sha256').update(buffer).digest('hex'), rows: rows.length, applied: 0, unmatched: 0, duplicates: 0, created_at: options.now })
      .returning('id')) as { id: number }[];
    const importId = imp!.id;
    const seen = new Map<string, number>();
    let applied = 0;
    let unmatched = 0;
    let duplicates = 0;
    const completed: number[] = [];
    options.onProgress?.(0, rows.length);
    for (const [n, r] of rows.entries()) {
      const who = r.reference ? `ref:${r.reference}` : `cc:${r.cedula}`;
      const base = `bank:${who}:${r.amount}:${r.paidOn}:${(r.method ?? '').toLowerCase()}`;
      const rank = (seen.get(base) ?? 0) + 1;
      seen.set(base, rank);
      const outcome = await recordPayment(
        trx,
        {
          source: 'bank_file',
          provider: r.method,
          idempotencyKey: `${base}:${rank}`,
          reference: r.reference,
          cedula: r.cedula,
          amount: r.amount,
          paidOn: r.paidOn,
          method: r.method,
          importId,
          line: r.line,
        },
        options.now,
      );
      if (outcome.status === 'duplicate') duplicates++;
      else if (outcome.status === 'unmatched') unmatched++;
      else {
        applied++;
        if (outcome.completed) completed.push(outcome.agreementId);
      }
      if ((n + 1) % 200 === 0 || n + 1 === rows.length) options.onProgress?.(n + 1, rows.length);
    }
    await trx('payment_imports').where({ id: importId }).update({ applied, unmatched, duplicates });
    return { importId, encoding, delimiter, rows: rows.length, applied, unmatched, duplicates, completed, rejected: problems };
  });
}
