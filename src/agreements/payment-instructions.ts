/**
 * How a debtor pays, in the words the debtor reads: the portfolio's payment
 * instructions, the reference to quote and the next amount due. The flow answers
 * "¿cómo / dónde pago?" and "¿qué referencia uso?" through this one function, and the
 * agreement message uses it too, so the debtor always reads the same thing.
 */
import { formatDate, formatMoney, type Policy } from '../flows/index.js';

export interface PaymentDue {
  /** The agreement's reference, quoted when paying. */
  reference?: string;
  /** The next amount due, COP. */
  amountDue?: number;
  /** The next due date, YYYY-MM-DD. */
  dueDate?: string;
}

/** Renders how to pay for the debtor (Spanish, usted). Never names internal labels. */
export function paymentInstructions(policy: Pick<Policy, 'paymentInstructions'>, due: PaymentDue = {}): string {
  const parts: string[] = [policy.paymentInstructions.trim()];
  if (due.reference) parts.push(`Use como referencia de pago ${due.reference}.`);
  if (due.amountDue !== undefined && due.dueDate) {
    parts.push(`Su próximo pago es de ${formatMoney(due.amountDue)}, a más tardar el ${formatDate(due.dueDate)}.`);
  } else if (due.amountDue !== undefined) {
    parts.push(`Su próximo pago es de ${formatMoney(due.amountDue)}.`);
  } else if (due.dueDate) {
    parts.push(`Su próximo pago vence el ${formatDate(due.dueDate)}.`);
  }
  return parts.join(' ');
}
