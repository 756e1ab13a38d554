/**
 * An agreement's schedule: its installments (cuotas), their due dates on Colombian
 * business days (the compliance guard's calendar: weekends and public holidays, Ley
 * Emiliani included) and amounts that add up to the agreement's total to the peso.
 * Pure functions: the engine writes the rows in the turn's transaction.
 */
import { addDays, InvariantError, isBusinessDay } from '../core/index.js';

export const INSTALLMENT_STATUSES = ['pendiente', 'parcial', 'pagada', 'vencida'] as const;
export type InstallmentStatus = (typeof INSTALLMENT_STATUSES)[number];

export const AGREEMENT_STATUSES = ['vigente', 'cumplido', 'incumplido', 'cancelado', 'reemplazado'] as const;
export type AgreementStatus = (typeof AGREEMENT_STATUSES)[number];

export interface ScheduledInstallment {
  number: number;
  /** YYYY-MM-DD, a business day. */
  dueDate: string;
  amount: number;
}

/** The first business day on or after `isoDate`. */
export function nextBusinessDay(isoDate: string): string {
  let d = isoDate;
  for (let i = 0; i < 30 && !isBusinessDay(d); i++) d = addDays(d, 1);
  return d;
}

/** `isoDate` plus `months` calendar months, the day clamped to the month's length (31 Jan + 1 → 28/29 Feb). */
export function addMonths(isoDate: string, months: number): string {
  const [y, m, d] = isoDate.split('-').map(Number) as [number, number, number];
  const first = new Date(Date.UTC(y, m - 1 + months, 1));
  const last = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
  first.setUTCDate(Math.min(d, last));
  return first.toISOString().slice(0, 10);
}

/**
 * The installments of an agreement: monthly from the first due date (each moved to the
 * next business day), every installment the agreed amount and the last one whatever
 * is left, so they sum to `total` exactly. When the agreed amount cannot leave a
 * positive last installment (rounding on tiny totals), the total is split evenly, the
 * first installments taking the extra pesos.
 */
export function buildSchedule(plan: { total: number; installments: number; installmentAmount: number; firstDueDate: string }): ScheduledInstallment[] {
  const n = Math.max(1, Math.floor(plan.installments));
  const total = Math.round(plan.total);
  if (total <= 0) throw new InvariantError('an agreement needs a positive total', { total: plan.total });
  let amounts: number[];
  const each = Math.round(plan.installmentAmount);
  const last = total - each * (n - 1);
  if (n === 1) amounts = [total];
  else if (each > 0 && last > 0 && last <= each) amounts = [...Array<number>(n - 1).fill(each), last];
  else {
    const base = Math.floor(total / n);
    const extra = total - base * n;
    amounts = Array.from({ length: n }, (_, i) => base + (i < extra ? 1 : 0));
  }
  return amounts.map((amount, i) => ({ number: i + 1, dueDate: nextBusinessDay(addMonths(plan.firstDueDate, i)), amount }));
}

/** The status an installment has from what was paid and the date (Bogotá) it is judged on. */
export function installmentStatus(i: { amount: number; paidAmount: number; dueDate: string }, today: string): InstallmentStatus {
  if (i.paidAmount >= i.amount) return 'pagada';
  if (i.dueDate < today) return 'vencida';
  return i.paidAmount > 0 ? 'parcial' : 'pendiente';
}
