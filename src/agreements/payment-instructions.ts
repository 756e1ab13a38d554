/**
 * How a debtor pays, in the words the debtor reads: the portfolio's payment
 * instructions, the reference to quote and the next amount due. The flow answers
 * "¿cómo / dónde pago?" and "¿qué referencia uso?" through this one function, and the
 * agreement message uses it too, so the debtor always reads the same thing.
 *
 * A portfolio that lists its payment channels (policies.yaml `payment_channels`: a
 * collection agreement or account with the reference to quote, PSE, Efecty and
 * corresponsales, Nequi, Daviplata) gets them one per line; otherwise its
 * `payment_instructions` text stands. With a payment gateway configured, the online
 * payment link comes first.
 */
import { formatDate, formatMoney, type PaymentChannel, type Policy } from '../flows/index.js';

export interface PaymentDue {
  /** The agreement's reference, quoted when paying. */
  reference?: string;
  /** The next amount due, COP. */
  amountDue?: number;
  /** The next due date, YYYY-MM-DD. */
  dueDate?: string;
  /** The online payment page (PSE, cards, Efecty through the gateway), when one is configured. */
  paymentLink?: string;
}

function quoted(c: { quote?: 'referencia' | 'cedula' }, reference: string | undefined): string {
  if (c.quote === 'cedula' || !reference) return 'su número de cédula como referencia';
  return `la referencia ${reference}`;
}

/** One payment channel as a line the debtor reads. */
export function renderPaymentChannel(c: PaymentChannel, reference?: string): string {
  switch (c.type) {
    case 'convenio':
      return `Consignación en ${c.bank}, convenio ${c.convenio}, con ${quoted(c, reference)}.`;
    case 'cuenta':
      return `Transferencia o consignación a la cuenta de ${c.account_type} ${c.bank} n.º ${c.account}, a nombre de ${c.holder}${c.nit ? ` (NIT ${c.nit})` : ''}; indique ${quoted(c, reference)}.`;
    case 'pse':
      return c.url ? `PSE, desde su banco en línea: ${c.url}` : 'PSE, desde el portal de su banco.';
    case 'efecty':
      return `En efectivo en cualquier punto Efecty, convenio ${c.convenio}, con ${quoted(c, reference)}.`;
    case 'corresponsal':
      return `En efectivo en un corresponsal bancario ${c.bank}, convenio ${c.convenio}, con ${quoted(c, reference)}.`;
    case 'nequi':
      return `Nequi, al número ${c.number}${reference ? `, con la referencia ${reference} en el mensaje` : ''}.`;
    case 'daviplata':
      return `Daviplata, al número ${c.number}${reference ? `, con la referencia ${reference} en el mensaje` : ''}.`;
  }
}

/** Renders how to pay for the debtor (Spanish, usted). Never names internal labels. */
export function paymentInstructions(policy: Pick<Policy, 'paymentInstructions'> & Partial<Pick<Policy, 'paymentChannels'>>, due: PaymentDue = {}): string {
  const parts: string[] = [];
  const channels = policy.paymentChannels ?? [];
  if (due.paymentLink) parts.push(`Puede pagar en línea (PSE, tarjeta o Efecty) aquí: ${due.paymentLink}`);
  if (channels.length) {
    parts.push(`${due.paymentLink ? 'También puede pagar' : 'Puede pagar'} por cualquiera de estos medios:\n${channels.map((c) => `• ${renderPaymentChannel(c, due.reference)}`).join('\n')}\n`);
  } else {
    parts.push(policy.paymentInstructions.trim());
    if (due.reference) parts.push(`Use como referencia de pago ${due.reference}.`);
  }
  if (due.amountDue !== undefined && due.dueDate) {
    parts.push(`Su próximo pago es de ${formatMoney(due.amountDue)}, a más tardar el ${formatDate(due.dueDate)}.`);
  } else if (due.amountDue !== undefined) {
    parts.push(`Su próximo pago es de ${formatMoney(due.amountDue)}.`);
  } else if (due.dueDate) {
    parts.push(`Su próximo pago vence el ${formatDate(due.dueDate)}.`);
  }
  return parts.join(' ').replace(/\n /g, '\n');
}
