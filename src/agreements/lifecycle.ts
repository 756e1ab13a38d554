/**
 * The agreement's life after it is recorded, as scheduled jobs:
 * - agreement-status (00:15): installments past due and unpaid become vencida;
 * - agreement-reminders (09:00): N days before each due date and on the day (policy
 *   reminder_days_before, default 3);
 * - broken-promises (10:00): D days after a missed due date a follow-up that asks
 *   whether something happened and offers to reprogram (follow_up_days_after, default 3);
 *   E days after (broken_after_days, default 15) the agreement is incumplido and goes
 *   to the supervisors' queue (conversation_events 'acuerdo_incumplido', open).
 * Messages go through ./notices.ts (the compliance guard decides when).
 */
import type { Policy } from '../flows/index.js';
import { addDays, bogotaDate } from '../core/index.js';
import type { Knex } from '../store/index.js';
import { queueNotice, type NoticeKind } from './notices.js';
import { paymentInstructions } from './payment-instructions.js';
import { cancelPendingNotices } from './payments.js';
import { buildSchedule } from './schedule.js';

export interface LifecycleDeps {
  /** The policy for a portfolio (policies.yaml and the portfolio's database override). */
  policyFor(portfolioName: string, override: unknown): Policy;
  /** The online payment page for an agreement, when a gateway is configured. */
  paymentLink?(reference: string): string | undefined;
  templateLanguage: string;
  /** Sends outbox rows due now after commit. */
  dispatch?(ids: number[]): void;
}

interface DueRow {
  installment_id: number;
  agreement_id: number;
  number: number;
  due_date: string;
  amount: number;
  paid_amount: number;
  installments: number;
  reference: string;
  debtor_name: string;
  portfolio: string;
  policy: unknown;
}

async function dueRows(knex: Knex, from: string, to: string): Promise<DueRow[]> {
  return (await knex('agreement_installments as i')
    .join('agreements as a', 'a.id', 'i.agreement_id')
    .join('debtors as d', 'd.id', 'a.debtor_id')
    .join('portfolios as p', 'p.id', 'a.portfolio_id')
    .where('a.status', 'vigente')
    .whereRaw('i.paid_amount < i.amount')
    .whereBetween('i.due_date', [from, to])
    .orderBy('i.due_date')
    .orderBy('i.id')
    .select(
      'i.id as installment_id',
      'i.agreement_id',
      'i.number',
      'i.due_date',
      'i.amount',
      'i.paid_amount',
      'a.installments',
      'a.reference',
      'd.nombre_del_cliente as debtor_name',
      'p.name as portfolio',
      'p.policy',
    )) as DueRow[];
}

async function notify(knex: Knex, deps: LifecycleDeps, r: DueRow, kind: NoticeKind, now: Date, policy: Policy): Promise<string> {
  const due = Number(r.amount) - Number(r.paid_amount);
  const link = deps.paymentLink?.(r.reference);
  let dueNow: number | undefined;
  const result = await knex.transaction(async (trx) => {
    const res = await queueNotice(trx, {
      agreementId: r.agreement_id,
      installmentId: r.installment_id,
      kind,
      now,
      templateLanguage: deps.templateLanguage,
      facts: {
        name: r.debtor_name,
        reference: r.reference,
        installment: r.number,
        installments: r.installments,
        amount: due,
        dueDate: String(r.due_date).slice(0, 10),
        howToPay: kind === 'seguimiento' ? undefined : paymentInstructions(policy, { reference: r.reference, ...(link ? { paymentLink: link } : {}) }),
      },
    });
    if (res.status === 'queued' && res.sendAt <= now) dueNow = res.outboxId;
    if (kind === 'seguimiento' && res.status !== 'exists') await trx('agreements').where({ id: r.agreement_id }).update({ followed_up_at: now });
    return res.status;
  });
  if (dueNow !== undefined) deps.dispatch?.([dueNow]);
  return result;
}

/** Installments past their due date and unpaid → vencida; reminders of agreements no longer vigente are cancelled. */
export async function updateInstallmentStatuses(knex: Knex, now: Date): Promise<{ overdue: number; cancelled: number }> {
  const today = bogotaDate(now);
  // Replaced, cancelled or broken meanwhile (in the chat, by an agent): their waiting reminders no longer apply.
  const stale = ((await knex('agreement_notices as n')
    .join('agreements as a', 'a.id', 'n.agreement_id')
    .whereNot('a.status', 'vigente')
    .whereNot('n.kind', 'paz_y_salvo')
    .whereIn('n.status', ['queued', 'deferred'])
    .distinct('n.installment_id')) as { installment_id: number | null }[])
    .map((r) => r.installment_id)
    .filter((id): id is number => id !== null);
  const cancelled = await cancelPendingNotices(knex, stale, now, 'acuerdo sin vigencia');
  const overdue = await knex('agreement_installments as i')
    .whereIn('i.agreement_id', knex('agreements').where({ status: 'vigente' }).select('id'))
    .where('i.due_date', '<', today)
    .whereRaw('i.paid_amount < i.amount')
    .whereNot('i.status', 'vencida')
    .update({ status: 'vencida', updated_at: now });
  return { overdue, cancelled };
}

/** Reminders due today: N days before (any day of the window, once) and on the due date. */
export async function processReminders(knex: Knex, now: Date, deps: LifecycleDeps): Promise<Record<string, number>> {
  const today = bogotaDate(now);
  await updateInstallmentStatuses(knex, now);
  const counts: Record<string, number> = { queued: 0, deferred: 0, blocked: 0 };
  const policies = new Map<string, Policy>();
  for (const r of await dueRows(knex, today, addDays(today, 30))) {
    const policy = policies.get(r.portfolio) ?? deps.policyFor(r.portfolio, r.policy);
    policies.set(r.portfolio, policy);
    const dueDate = String(r.due_date).slice(0, 10);
    let kind: NoticeKind | undefined;
    if (dueDate === today) kind = 'recordatorio_vencimiento';
    else if (policy.reminderDaysBefore > 0 && addDays(dueDate, -policy.reminderDaysBefore) <= today) kind = 'recordatorio_previo';
    if (!kind) continue;
    const status = await notify(knex, deps, r, kind, now, policy);
    if (status in counts) counts[status] = (counts[status] ?? 0) + 1;
  }
  return counts;
}

/**
 * Broken promises: the follow-up D days after a missed due date, and incumplido E days
 * after (the oldest missed installment decides).
 */
export async function processBrokenPromises(knex: Knex, now: Date, deps: LifecycleDeps): Promise<Record<string, number>> {
  const today = bogotaDate(now);
  const { overdue } = await updateInstallmentStatuses(knex, now);
  const summary = { overdue, followUps: 0, broken: 0 };
  const policies = new Map<string, Policy>();
  const handled = new Set<number>();
  for (const r of await dueRows(knex, '1900-01-01', addDays(today, -1))) {
    if (handled.has(r.agreement_id)) continue;
    handled.add(r.agreement_id);
    const policy = policies.get(r.portfolio) ?? deps.policyFor(r.portfolio, r.policy);
    policies.set(r.portfolio, policy);
    const dueDate = String(r.due_date).slice(0, 10);
    if (addDays(dueDate, policy.brokenAfterDays) <= today) {
      await declareBroken(knex, r.agreement_id, now, { reason: 'sin_pago', installment: r.number, dueDate, daysLate: policy.brokenAfterDays });
      summary.broken++;
    } else if (addDays(dueDate, policy.followUpDaysAfter) <= today) {
      const status = await notify(knex, deps, r, 'seguimiento', now, policy);
      if (status !== 'exists') summary.followUps++;
    }
  }
  return summary;
}

/** The agreement becomes incumplido and goes to the supervisors' queue; its pending reminders are cancelled. */
export async function declareBroken(knex: Knex | Knex.Transaction, agreementId: number, now: Date, details: Record<string, unknown>): Promise<boolean> {
  const run = async (trx: Knex.Transaction) => {
    const a = (await trx('agreements').where({ id: agreementId }).forUpdate().first('id', 'status', 'debtor_id', 'conversation_id')) as
      | { id: number; status: string; debtor_id: number; conversation_id: string | null }
      | undefined;
    if (!a || a.status !== 'vigente') return false;
    await trx('agreements').where({ id: agreementId }).update({ status: 'incumplido', status_changed_at: now });
    const ids = ((await trx('agreement_installments').where({ agreement_id: agreementId }).select('id')) as { id: number }[]).map((i) => i.id);
    await cancelPendingNotices(trx, ids, now, 'acuerdo incumplido');
    await trx('conversation_events').insert({
      conversation_id: a.conversation_id,
      debtor_id: a.debtor_id,
      kind: 'acuerdo_incumplido',
      details: JSON.stringify({ agreement_id: agreementId, ...details }),
      status: 'open',
      created_at: now,
    });
    return true;
  };
  // Inside a caller's transaction this is a savepoint.
  return knex.transaction(run);
}

export interface ReprogramPlan {
  installments: number;
  /** YYYY-MM-DD */
  firstDueDate: string;
}

export type ReprogramResult =
  | { status: 'ok'; agreementId: number; reference: string; total: number; installmentAmount: number }
  | { status: 'out_of_policy'; reason: string };

/**
 * Reprograms a vigente (or just broken) agreement within its portfolio's policy: a new
 * agreement for what is still owed replaces the old one (status reemplazado,
 * replaced_by), keeping the old reference in history. Out of policy, nothing changes
 * and the caller decides (the job declares it incumplido after a failed reprogramming).
 */
export async function reprogramAgreement(
  knex: Knex,
  agreementId: number,
  plan: ReprogramPlan,
  o: { now: Date; policy: Policy; newReference: () => string; /** A failed reprogramming declares the agreement incumplido. */ breakOnFailure?: boolean },
): Promise<ReprogramResult> {
  const result = await reprogramInTransaction(knex, agreementId, plan, o);
  if (result.status === 'out_of_policy' && o.breakOnFailure) {
    await declareBroken(knex, agreementId, o.now, { reason: 'reprogramacion_fallida', detail: result.reason });
  }
  return result;
}

function reprogramInTransaction(knex: Knex, agreementId: number, plan: ReprogramPlan, o: { now: Date; policy: Policy; newReference: () => string }): Promise<ReprogramResult> {
  return knex.transaction(async (trx) => {
    const old = (await trx('agreements').where({ id: agreementId }).forUpdate().first('*')) as
      | { id: number; status: string; debtor_id: number; portfolio_id: number; conversation_id: string | null; channel: string; reference: string }
      | undefined;
    if (!old || !['vigente', 'incumplido'].includes(old.status)) return { status: 'out_of_policy', reason: 'the agreement is not vigente' } as const;
    const owed = (await trx('agreement_installments').where({ agreement_id: agreementId }).select(trx.raw('coalesce(sum(amount - paid_amount), 0)::bigint as owed')).first()) as { owed: number };
    const total = Number(owed.owed);
    const today = bogotaDate(o.now);
    if (total <= 0) return { status: 'out_of_policy', reason: 'nothing is owed' } as const;
    if (plan.installments < 1 || plan.installments > o.policy.maxInstallments) return { status: 'out_of_policy', reason: `at most ${o.policy.maxInstallments} installments` } as const;
    if (plan.firstDueDate < today || plan.firstDueDate > addDays(today, o.policy.maxFirstDueDays)) {
      return { status: 'out_of_policy', reason: `the first payment must fall within ${o.policy.maxFirstDueDays} days` } as const;
    }
    const installmentAmount = Math.ceil(total / plan.installments);
    if (plan.installments > 1 && installmentAmount < o.policy.minInstallment) return { status: 'out_of_policy', reason: `installments of at least ${o.policy.minInstallment}` } as const;
    await trx('agreements').where({ id: agreementId }).update({ status: 'reemplazado', status_changed_at: o.now });
    const reference = o.newReference();
    const [row] = (await trx('agreements')
      .insert({
        conversation_id: old.conversation_id,
        debtor_id: old.debtor_id,
        portfolio_id: old.portfolio_id,
        kind: plan.installments > 1 ? 'cuotas' : 'contado',
        total,
        installments: plan.installments,
        installment_amount: installmentAmount,
        first_due_date: plan.firstDueDate,
        channel: old.channel,
        reference,
        status: 'vigente',
        status_changed_at: o.now,
        created_at: o.now,
      })
      .returning('id')) as { id: number }[];
    const newId = row!.id;
    await trx('agreements').where({ id: agreementId }).update({ replaced_by: newId });
    const schedule = buildSchedule({ total, installments: plan.installments, installmentAmount, firstDueDate: plan.firstDueDate });
    await trx('agreement_installments').insert(
      schedule.map((i) => ({ agreement_id: newId, number: i.number, due_date: i.dueDate, amount: i.amount, paid_amount: 0, status: 'pendiente', created_at: o.now, updated_at: o.now })),
    );
    const ids = ((await trx('agreement_installments').where({ agreement_id: agreementId }).select('id')) as { id: number }[]).map((i) => i.id);
    await cancelPendingNotices(trx, ids, o.now, 'acuerdo reprogramado');
    await trx('conversation_events')
      .where({ kind: 'acuerdo_incumplido', status: 'open' })
      .whereRaw(`(details->>'agreement_id')::bigint = ?`, [agreementId])
      .update({ status: 'done' });
    return { status: 'ok', agreementId: newId, reference, total, installmentAmount };
  });
}
