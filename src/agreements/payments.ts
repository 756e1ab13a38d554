/**
 * Payments: every peso received, from the gateway or the bank's file, recorded once
 * (its idempotency key) and allocated to the oldest open installment of the matching
 * vigente agreement — partial payments leave the installment parcial, an overpayment
 * goes on to the next installment, and what is left after the last one stays on the
 * payment as `unapplied`. A payment with no agreement is kept as unmatched for a person.
 * When every installment is paid the agreement is cumplido and its paz y salvo issued.
 * Everything happens in the caller's transaction.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from '../store/index.js';
import { bogotaDate, InvariantError } from '../core/index.js';
import { installmentStatus } from './schedule.js';

type Db = Knex | Knex.Transaction;

export interface IncomingPayment {
  /** traslado: what a replaced agreement had received, credited to the agreement that replaced it. */
  source: 'gateway' | 'bank_file' | 'traslado';
  /** mercadopago, or the bank file's Medio. */
  provider?: string | null;
  externalId?: string | null;
  /** The same key twice is the same payment: the second is a no-op. */
  idempotencyKey: string;
  /** How to find the agreement: its id, else its reference, else the debtor's cédula. */
  agreementId?: number;
  reference?: string | null;
  cedula?: string | null;
  amount: number;
  /** YYYY-MM-DD. */
  paidOn: string;
  method?: string | null;
  importId?: number;
  line?: number;
  details?: Record<string, unknown>;
}

export interface Allocation {
  installmentId: number;
  number: number;
  amount: number;
}

export type PaymentOutcome =
  | { status: 'duplicate'; paymentId: number }
  | { status: 'unmatched'; paymentId: number }
  | {
      status: 'applied';
      paymentId: number;
      agreementId: number;
      allocations: Allocation[];
      /** Pesos beyond the last installment. */
      unapplied: number;
      /** Installments fully paid by this payment. */
      paidInstallments: number[];
      /** The agreement is now cumplido. */
      completed: boolean;
      certificateCode?: string;
    };

interface InstallmentRow {
  id: number;
  number: number;
  due_date: string;
  amount: number;
  paid_amount: number;
  status: string;
}

/** YYYY-MM-DD of a date column (src/store/db.ts keeps dates as text). */
function isoDay(v: unknown): string {
  return String(v).slice(0, 10);
}

/** The agreement a payment belongs to: by id, by reference, or the vigente one of the cédula (oldest open installment first). */
async function findAgreement(db: Db, p: IncomingPayment): Promise<number | undefined> {
  if (p.agreementId !== undefined) return p.agreementId;
  if (p.reference) {
    const row = (await db('agreements').where({ reference: p.reference.trim().toUpperCase() }).first('id')) as { id: number } | undefined;
    if (row) return row.id;
  }
  if (p.cedula) {
    const row = (await db('agreements as a')
      .join('debtors as d', 'd.id', 'a.debtor_id')
      .join('agreement_installments as i', 'i.agreement_id', 'a.id')
      .where('d.cedula', p.cedula)
      .where('a.status', 'vigente')
      .whereRaw('i.paid_amount < i.amount')
      .orderBy('i.due_date')
      .orderBy('a.id')
      .first('a.id')) as { id: number } | undefined;
    if (row) return row.id;
  }
  return undefined;
}

const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A paz y salvo verification code: PYS-XXXX-XXXX (40 bits; unguessable enough to check, not to enumerate). */
export function newCertificateCode(): string {
  const bytes = randomBytes(8);
  let out = '';
  for (const b of bytes) out += CODE_ALPHABET[b % CODE_ALPHABET.length];
  return `PYS-${out.slice(0, 4)}-${out.slice(4)}`;
}

/** "52123918" → "*****918": the last three digits, enough for the holder to recognise. */
export function maskCedula(cedula: string): string {
  const digits = cedula.replace(/\D/g, '');
  return `${'*'.repeat(Math.max(0, digits.length - 3))}${digits.slice(-3)}`;
}

/** Cancels the reminders still waiting for installments that are now paid. */
export async function cancelPendingNotices(db: Db, installmentIds: number[], now: Date, reason = 'cuota pagada'): Promise<number> {
  if (!installmentIds.length) return 0;
  // Only what has not gone out yet: a reminder already sent stays on record as sent.
  const notices = (await db('agreement_notices as n')
    .join('outbox as o', 'o.id', 'n.outbox_id')
    .whereIn('n.installment_id', installmentIds)
    .whereIn('n.status', ['queued', 'deferred'])
    .whereIn('o.status', ['pending', 'deferred'])
    .select('n.id', 'n.outbox_id')) as { id: number; outbox_id: number | null }[];
  if (!notices.length) return 0;
  const outboxIds = notices.map((n) => n.outbox_id).filter((id): id is number => id !== null);
  const cancelled = outboxIds.length
    ? await db('outbox').whereIn('id', outboxIds).whereIn('status', ['pending', 'deferred']).update({ status: 'failed', last_error: `cancelled: ${reason}`, updated_at: now })
    : 0;
  await db('agreement_notices').whereIn('id', notices.map((n) => n.id)).update({ status: 'cancelled' });
  return cancelled;
}

/** Issues the paz y salvo of a fully paid agreement (once). */
export async function issueCertificate(db: Db, agreementId: number, now: Date): Promise<string> {
  const existing = (await db('paz_y_salvo').where({ agreement_id: agreementId }).first('code')) as { code: string } | undefined;
  if (existing) return existing.code;
  const a = (await db('agreements as a').join('debtors as d', 'd.id', 'a.debtor_id').where('a.id', agreementId).first('d.nombre_del_cliente', 'd.cedula')) as {
    nombre_del_cliente: string;
    cedula: string;
  };
  const paid = (await db('agreement_installments').where({ agreement_id: agreementId }).sum({ s: 'paid_amount' }).first()) as { s: string | number | null };
  const code = newCertificateCode();
  await db('paz_y_salvo').insert({
    agreement_id: agreementId,
    code,
    holder_name: a.nombre_del_cliente,
    cedula_masked: maskCedula(a.cedula),
    total_paid: Number(paid.s ?? 0),
    issued_at: now,
  });
  return code;
}

/**
 * Records a payment and allocates it. Idempotent on `idempotencyKey`. Takes the
 * agreement's row lock, so two payments for one agreement allocate one after another.
 */
export async function recordPayment(trx: Knex.Transaction, p: IncomingPayment, now: Date): Promise<PaymentOutcome> {
  if (!Number.isSafeInteger(p.amount) || p.amount <= 0) throw new InvariantError('a payment needs a positive whole amount of pesos', { amount: p.amount, key: p.idempotencyKey });
  const agreementId = await findAgreement(trx, p);
  const inserted = (await trx('payments')
    .insert({
      source: p.source,
      provider: p.provider ?? null,
      external_id: p.externalId ?? null,
      idempotency_key: p.idempotencyKey,
      agreement_id: agreementId ?? null,
      cedula: p.cedula ?? null,
      reference: p.reference ?? null,
      amount: p.amount,
      paid_on: p.paidOn,
      method: p.method ?? null,
      status: agreementId === undefined ? 'unmatched' : 'applied',
      import_id: p.importId ?? null,
      line: p.line ?? null,
      details: JSON.stringify(p.details ?? {}),
      received_at: now,
    })
    .onConflict('idempotency_key')
    .ignore()
    .returning('id')) as { id: number }[];
  const paymentId = inserted[0]?.id;
  if (paymentId === undefined) {
    const existing = (await trx('payments').where({ idempotency_key: p.idempotencyKey }).first('id')) as { id: number };
    return { status: 'duplicate', paymentId: existing.id };
  }
  if (agreementId === undefined) return { status: 'unmatched', paymentId };

  const agreement = (await trx('agreements').where({ id: agreementId }).forUpdate().first('id', 'debtor_id', 'status')) as { id: number; debtor_id: number; status: string };
  await trx('payments').where({ id: paymentId }).update({ debtor_id: agreement.debtor_id });
  const installments = (await trx('agreement_installments')
    .where({ agreement_id: agreementId })
    .orderBy('number')
    .select('id', 'number', 'due_date', 'amount', 'paid_amount', 'status')) as InstallmentRow[];

  const today = bogotaDate(now);
  let left = p.amount;
  const allocations: Allocation[] = [];
  const paidInstallments: number[] = [];
  for (const i of installments) {
    if (left <= 0) break;
    const amount = Number(i.amount);
    const paid = Number(i.paid_amount);
    const open = amount - paid;
    if (open <= 0) continue;
    const take = Math.min(open, left);
    left -= take;
    const newPaid = paid + take;
    const status = installmentStatus({ amount, paidAmount: newPaid, dueDate: isoDay(i.due_date) }, today);
    await trx('agreement_installments')
      .where({ id: i.id })
      .update({ paid_amount: newPaid, status, updated_at: now, ...(status === 'pagada' ? { paid_at: now } : {}) });
    await trx('payment_allocations').insert({ payment_id: paymentId, installment_id: i.id, amount: take });
    allocations.push({ installmentId: i.id, number: i.number, amount: take });
    if (status === 'pagada') paidInstallments.push(i.id);
  }
  if (left > 0) await trx('payments').where({ id: paymentId }).update({ unapplied: left });
  await cancelPendingNotices(trx, paidInstallments, now);

  const open = (await trx('agreement_installments').where({ agreement_id: agreementId }).whereRaw('paid_amount < amount').first('id')) as { id: number } | undefined;
  let completed = false;
  let certificateCode: string | undefined;
  if (!open && installments.length > 0) {
    // Fully paid: cumplido (even if it had been declared incumplido meanwhile), and its paz y salvo.
    if (agreement.status === 'vigente' || agreement.status === 'incumplido') {
      await trx('agreements').where({ id: agreementId }).update({ status: 'cumplido', status_changed_at: now });
    }
    completed = true;
    certificateCode = await issueCertificate(trx, agreementId, now);
  }
  return {
    status: 'applied',
    paymentId,
    agreementId,
    allocations,
    unapplied: left,
    paidInstallments: allocations.filter((a) => paidInstallments.includes(a.installmentId)).map((a) => a.number),
    completed,
    ...(certificateCode ? { certificateCode } : {}),
  };
}
