/**
 * The negotiation's memory: a debt's vigente agreement, read inside the turn so a debtor
 * who already agreed is told their agreement (reference, next payment, how to pay)
 * instead of negotiating again. At most one exists: a unique partial index says so.
 */
import type { ActiveAgreement } from './actions.js';
import type { TurnSession } from './conversations.js';

interface AgreementRow {
  id: string | number;
  reference: string;
  kind: 'contado' | 'cuotas';
  total: string | number;
  installments: number;
  installment_amount: string | number;
  first_due_date: string | Date;
  next_due: string | Date | null;
  next_amount: string | number | null;
}

function isoDate(v: string | Date): string {
  if (typeof v === 'string') return v.slice(0, 10);
  // A date column read as a JS Date is local midnight of that day.
  return `${v.getFullYear()}-${String(v.getMonth() + 1).padStart(2, '0')}-${String(v.getDate()).padStart(2, '0')}`;
}

/** The next unpaid installment comes from the schedule when one was written; else the first due date stands. */
const SQL = `select a.id, a.reference, a.kind, a.total, a.installments, a.installment_amount, a.first_due_date,
       i.due_date as next_due, (i.amount - i.paid_amount) as next_amount
  from agreements a
  left join lateral (
    select due_date, amount, paid_amount from agreement_installments
     where agreement_id = a.id and paid_amount < amount order by number limit 1
  ) i on true
 where a.debtor_id = $1 and a.status = 'vigente'
 order by a.id desc limit 1`;

export async function findActiveAgreement(session: TurnSession, debtorId: number): Promise<ActiveAgreement | undefined> {
  const [row] = await session.query<AgreementRow>(SQL, [debtorId]);
  if (!row) return undefined;
  return {
    id: Number(row.id),
    reference: row.reference,
    kind: row.kind === 'contado' ? 'contado' : 'cuotas',
    total: Number(row.total),
    installments: Number(row.installments),
    installmentAmount: Number(row.installment_amount),
    firstDueDate: isoDate(row.first_due_date),
    ...(row.next_due !== null && row.next_amount !== null ? { next: { dueDate: isoDate(row.next_due), amount: Number(row.next_amount) } } : {}),
  };
}
