import fs from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { ImportError, type RowProblem } from '../core/index.js';
import type { Knex } from './db.js';
import { checkObligationNumber, parseIssueDate } from './identity-columns.js';

/**
 * The seed system's spreadsheet columns. Telefono, Tier and the identity facts
 * (Fecha_expedicion, Numero_obligacion: the second fact asked after the cédula, Ley 2300
 * art. 4) are optional.
 */
export const REQUIRED_COLUMNS = [
  'Cedula',
  'Nombre_del_cliente',
  'Saldo_total',
  'banco',
  'Oferta_1',
  'Oferta_2',
  'Hasta_3_cuotas',
  'Hasta_6_cuotas',
  'Hasta_12_cuotas',
] as const;
export const OPTIONAL_COLUMNS = ['Telefono', 'Tier', 'Fecha_expedicion', 'Numero_obligacion'] as const;
const TIERS = ['default', 'premium', 'vip'] as const;

type Column = (typeof REQUIRED_COLUMNS)[number] | (typeof OPTIONAL_COLUMNS)[number];

/** A debtor's seed columns as the debtors table keeps them (the importer writes them; the engine reads them). */
export interface DebtorColumns {
  cedula: string;
  nombre_del_cliente: string;
  saldo_total: number;
  banco: string;
  oferta_1: number | null;
  oferta_2: number | null;
  hasta_3_cuotas: number | null;
  hasta_6_cuotas: number | null;
  hasta_12_cuotas: number | null;
}

export interface DebtorRow extends DebtorColumns {
  line: number;
  phone: string | null;
  tier: (typeof TIERS)[number];
  /** The cédula's issue date, YYYY-MM-DD. */
  fecha_expedicion: string | null;
  numero_obligacion: string | null;
}

export interface ImportOptions {
  portfolio: string;
  /** The clock's reading for this import: the rows' created_at / updated_at. */
  now: Date;
  /** Import the valid rows and report the rest, instead of importing nothing. */
  skipInvalid?: boolean;
  /** Called as rows are written: (done, total). */
  onProgress?: (done: number, total: number) => void;
}

export interface ImportResult {
  portfolio: string;
  portfolioId: number;
  encoding: 'utf-8' | 'latin1';
  delimiter: ',' | ';';
  rows: number;
  inserted: number;
  updated: number;
  /** Rows left out (only with skipInvalid; otherwise they make the import fail). */
  rejected: RowProblem[];
}

/** Normalizes a header for matching: case, accents, spaces and dashes don't matter. */
function headerKey(header: string): string {
  return header
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
}

/**
 * Decodes the file: UTF-8 when it is valid UTF-8, otherwise Latin-1 (Windows-1252),
 * which is what Excel writes in Colombia.
 */
export function decodeSpreadsheet(buffer: Buffer): { text: string; encoding: 'utf-8' | 'latin1' } {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(buffer);
    return { text: text.replace(/^\uFEFF/, ''), encoding: 'utf-8' };
  } catch {
    return { text: iconv.decode(buffer, 'win1252'), encoding: 'latin1' };
  }
}

/** Picks the separator from the header line. */
export function detectDelimiter(text: string): ',' | ';' {
  const header = text.split(/\r?\n/, 1)[0] ?? '';
  const count = (ch: string) => header.split(ch).length - 1;
  return count(';') > count(',') ? ';' : ',';
}

/**
 * Parses a COP amount as people and spreadsheets write it: 123456, 123.456,
 * $123.456, 123.456,00, 1'500.000, 1,234,567 or 123456.00. Returns whole pesos.
 */
export function parseAmount(raw: string): number | undefined {
  let s = raw.replace(/\s|\$|COP/gi, '').replace(/[’']/g, '.');
  if (s === '' || !/^\d[\d.,]*$/.test(s)) return undefined;
  const lastDot = s.lastIndexOf('.');
  const lastComma = s.lastIndexOf(',');
  const decimalAt = Math.max(lastDot, lastComma);
  let cents = 0;
  // A final separator followed by one or two digits is a decimal mark.
  if (decimalAt >= 0 && /^\d{1,2}$/.test(s.slice(decimalAt + 1))) {
    cents = Number(s.slice(decimalAt + 1).padEnd(2, '0'));
    s = s.slice(0, decimalAt);
  }
  // Whatever separators are left are thousands separators: groups of exactly three digits.
  const groups = s.split(/[.,]/);
  if (groups.length > 1 && (groups.slice(1).some((g) => g.length !== 3) || (groups[0] ?? '').length > 3 || groups[0] === '')) {
    return undefined;
  }
  const pesos = Number(groups.join(''));
  if (!Number.isSafeInteger(pesos)) return undefined;
  return pesos + Math.round(cents / 100);
}

/** A cédula as digits: separators removed; 6–10 digits, and 10-digit ones start with 1. */
export function normalizeCedula(raw: string): string | undefined {
  const digits = raw.replace(/[\s.,'’-]/g, '');
  if (!/^\d{6,10}$/.test(digits)) return undefined;
  if (digits.length === 10 && !digits.startsWith('1')) return undefined;
  return digits;
}

/** A Colombian phone as 57 + 10 digits (mobile 3xx or landline 60x), or undefined. */
export function normalizePhone(raw: string): string | undefined {
  let digits = raw.replace(/[\s.()+-]/g, '');
  if (!/^\d+$/.test(digits)) return undefined;
  if (digits.length === 12 && digits.startsWith('57')) digits = digits.slice(2);
  if (digits.length !== 10 || !(digits.startsWith('3') || digits.startsWith('60'))) return undefined;
  return `57${digits}`;
}

function validateRow(record: Record<string, string>, line: number, today: string): DebtorRow | RowProblem {
  const get = (column: Column) => (record[column] ?? '').trim();
  const reasons: string[] = [];

  const cedula = normalizeCedula(get('Cedula'));
  if (!cedula) reasons.push(`Cedula "${get('Cedula')}" is not a cédula (6 to 10 digits; 10-digit ones start with 1)`);

  const nombre = get('Nombre_del_cliente').replace(/\s+/g, ' ');
  if (!nombre) reasons.push('Nombre_del_cliente is empty');

  const banco = get('banco').replace(/\s+/g, ' ');
  if (!banco) reasons.push('banco is empty');

  const saldo = parseAmount(get('Saldo_total'));
  if (saldo === undefined) reasons.push(`Saldo_total "${get('Saldo_total')}" is not an amount (e.g. 123456 or $123.456)`);

  const optionalAmount = (column: Column): number | null => {
    const value = get(column);
    if (value === '') return null;
    const amount = parseAmount(value);
    if (amount === undefined) {
      reasons.push(`${column} "${value}" is not an amount (e.g. 123456 or $123.456)`);
      return null;
    }
    return amount;
  };
  const oferta1 = optionalAmount('Oferta_1');
  const oferta2 = optionalAmount('Oferta_2');
  const h3 = optionalAmount('Hasta_3_cuotas');
  const h6 = optionalAmount('Hasta_6_cuotas');
  const h12 = optionalAmount('Hasta_12_cuotas');

  let phone: string | null = null;
  if (get('Telefono') !== '') {
    phone = normalizePhone(get('Telefono')) ?? null;
    if (!phone) reasons.push(`Telefono "${get('Telefono')}" is not a Colombian phone (10 digits starting with 3 or 60, optional +57)`);
  }

  let fechaExpedicion: string | null = null;
  if (get('Fecha_expedicion') !== '') {
    fechaExpedicion = parseIssueDate(get('Fecha_expedicion'), { today, excelSerials: true }) ?? null;
    if (!fechaExpedicion) {
      reasons.push(`Fecha_expedicion "${get('Fecha_expedicion')}" is not a past date (dd/mm/yyyy, yyyy-mm-dd or an Excel date)`);
    }
  }

  let numeroObligacion: string | null = null;
  if (get('Numero_obligacion') !== '') {
    const checked = checkObligationNumber(get('Numero_obligacion'));
    if ('reason' in checked) reasons.push(checked.reason);
    else numeroObligacion = checked.value;
  }

  const tierRaw = get('Tier').toLowerCase() || 'default';
  const tier = TIERS.find((t) => t === tierRaw);
  if (!tier) reasons.push(`Tier "${get('Tier')}" must be default, premium or vip`);

  if (reasons.length > 0 || !cedula || saldo === undefined || !tier) return { line, reason: reasons.join('; ') };
  return {
    line,
    cedula,
    nombre_del_cliente: nombre,
    saldo_total: saldo,
    banco,
    oferta_1: oferta1,
    oferta_2: oferta2,
    hasta_3_cuotas: h3,
    hasta_6_cuotas: h6,
    hasta_12_cuotas: h12,
    phone,
    tier,
    fecha_expedicion: fechaExpedicion,
    numero_obligacion: numeroObligacion,
  };
}

/**
 * Reads a spreadsheet export into validated rows. Never throws for a bad row:
 * every problem is returned with its line number. Throws ImportError when the file
 * as a whole is unusable (missing columns, broken quoting).
 */
export function parsePortfolioCsv(
  buffer: Buffer,
  /** Today, YYYY-MM-DD (from the service's clock): an issue date after it is refused. */
  today = '9999-12-31',
): {
  rows: DebtorRow[];
  problems: RowProblem[];
  encoding: 'utf-8' | 'latin1';
  delimiter: ',' | ';';
} {
  const { text, encoding } = decodeSpreadsheet(buffer);
  const delimiter = detectDelimiter(text);
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      delimiter,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (err) {
    const e = err as { lines?: number; message: string };
    throw new ImportError(`The file is not valid CSV${e.lines ? ` (line ${e.lines})` : ''}: ${e.message}`, [
      { line: e.lines ?? 0, reason: e.message },
    ]);
  }
  const header = records[0];
  if (!header) throw new ImportError('The file is empty');

  // Map each known column to its index, whatever the header's case or accents.
  const known = new Map<string, Column>(
    [...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS].map((c) => [headerKey(c), c] as [string, Column]),
  );
  const indexOf = new Map<Column, number>();
  header.record.forEach((name, i) => {
    const column = known.get(headerKey(name));
    if (column && !indexOf.has(column)) indexOf.set(column, i);
  });
  const missing = REQUIRED_COLUMNS.filter((c) => !indexOf.has(c));
  if (missing.length > 0) {
    throw new ImportError(
      `Missing column${missing.length > 1 ? 's' : ''} in the header (line 1): ${missing.join(', ')}. Expected: ${REQUIRED_COLUMNS.join(', ')}; optional: ${OPTIONAL_COLUMNS.join(', ')}`,
      [{ line: 1, reason: `missing ${missing.join(', ')}` }],
    );
  }

  const rows: DebtorRow[] = [];
  const problems: RowProblem[] = [];
  const firstLineOf = new Map<string, number>();
  for (const { record, info } of records.slice(1)) {
    // info.lines is the line where the record ends; quoted fields may span lines.
    const line = info.lines;
    if (record.length !== header.record.length) {
      problems.push({ line, reason: `has ${record.length} fields; the header has ${header.record.length}` });
      continue;
    }
    const byName: Record<string, string> = {};
    for (const [column, i] of indexOf) byName[column] = record[i] ?? '';
    const result = validateRow(byName, line, today);
    if ('reason' in result) {
      problems.push(result);
      continue;
    }
    const seen = firstLineOf.get(result.cedula);
    if (seen !== undefined) {
      problems.push({ line, reason: `Cedula ${result.cedula} is repeated; it is already on line ${seen}` });
      continue;
    }
    firstLineOf.set(result.cedula, line);
    rows.push(result);
  }
  return { rows, problems, encoding, delimiter };
}

const COLUMNS_WRITTEN = [
  'portfolio_id',
  'cedula',
  'nombre_del_cliente',
  'saldo_total',
  'banco',
  'oferta_1',
  'oferta_2',
  'hasta_3_cuotas',
  'hasta_6_cuotas',
  'hasta_12_cuotas',
  'phone',
  'tier',
  'fecha_expedicion',
  'numero_obligacion',
] as const;
// Each row's values, then its created_at and updated_at (the import's `now`).
const TUPLE = `(${COLUMNS_WRITTEN.map(() => '?').join(',')},?,?)`;
const UPSERT_SET = COLUMNS_WRITTEN.filter((c) => c !== 'portfolio_id' && c !== 'cedula')
  .map((c) => `${c} = excluded.${c}`)
  .join(', ');
const BATCH = 2000;

/**
 * Imports a bank's spreadsheet into a portfolio, upserting debtors by cédula, in one
 * transaction. With any bad row and no skipInvalid, nothing is written and the
 * ImportError lists every bad row by line number.
 */
export async function importPortfolio(knex: Knex, file: string, options: ImportOptions): Promise<ImportResult> {
  const portfolio = options.portfolio.trim();
  if (!portfolio) throw new ImportError('The portfolio name is empty');
  const buffer = await fs.readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new ImportError(`Cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  const { rows, problems, encoding, delimiter } = parsePortfolioCsv(buffer, options.now.toISOString().slice(0, 10));
  if (problems.length > 0 && !options.skipInvalid) {
    throw new ImportError(
      `${problems.length} invalid row${problems.length > 1 ? 's' : ''}; nothing was imported (use --skip-invalid to import the valid rows)`,
      problems,
    );
  }
  if (rows.length === 0) throw new ImportError('The file has no valid rows; nothing was imported', problems);

  return knex.transaction(async (trx) => {
    const [row] = (await trx('portfolios')
      .insert({ name: portfolio, created_at: options.now, updated_at: options.now })
      .onConflict('name')
      .merge({ updated_at: options.now })
      .returning('id')) as { id: number }[];
    const portfolioId = row!.id;
    let inserted = 0;
    let updated = 0;
    options.onProgress?.(0, rows.length);
    for (let start = 0; start < rows.length; start += BATCH) {
      const batch = rows.slice(start, start + BATCH);
      const values = batch.flatMap((r) => [...COLUMNS_WRITTEN.map((c) => (c === 'portfolio_id' ? portfolioId : r[c])), options.now, options.now]);
      const result = await trx.raw(
        `insert into debtors (${COLUMNS_WRITTEN.join(',')},created_at,updated_at) values ${batch.map(() => TUPLE).join(',')}
         on conflict (portfolio_id, cedula) do update set ${UPSERT_SET}, updated_at = excluded.updated_at
         returning (xmax = 0) as inserted`,
        values as Knex.RawBinding[],
      );
      for (const r of result.rows as { inserted: boolean }[]) r.inserted ? inserted++ : updated++;
      options.onProgress?.(Math.min(start + BATCH, rows.length), rows.length);
    }
    return { portfolio, portfolioId, encoding, delimiter, rows: rows.length, inserted, updated, rejected: problems };
  });
}
