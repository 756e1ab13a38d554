/**
 * What operations read about agreements after they are made: one agreement with its
 * schedule and payments, the payments no agreement matched, and the dashboard's
 * figures (promises kept, amount recovered by portfolio and month, the broken-promise queue).
 */
import type { Knex } from '../store/index.js';
import { bogotaDate } from '../core/index.js';

export async function agreementDetail(knex: Knex, id: number): Promise<Record<string, unknown> | undefined> {
  const a = (await knex('agreements as a')
    .join('portfolios as p', 'p.id', 'a.portfolio_id')
    .join('debtors as d', 'd.id', 'a.debtor_id')
    .where('a.id', id)
    .first(
      'a.id',
      'a.reference',
      'a.status',
      'a.kind',
      'a.total',
      'a.installments',
      'a.installment_amount',
      'a.first_due_date',
      'a.channel',
      'a.conversation_id',
      'a.replaced_by',
      'a.created_at',
      'a.status_changed_at',
      'p.name as portfolio',
      'd.nombre_del_cliente as debtor_name',
      'd.cedula',
    )) as Record<string, unknown> | undefined;
  if (!a) return undefined;
  const schedule = await knex('agreement_installments').where({ agreement_id: id }).orderBy('number').select('number', 'due_date', 'amount', 'paid_amount', 'status', 'paid_at');
  const payments = await knex('payments as y')
    .where('y.agreement_id', id)
    .orderBy('y.id')
    .select('y.id', 'y.source', 'y.provider', 'y.external_id', 'y.amount', 'y.unapplied', 'y.paid_on', 'y.method', 'y.received_at', 'y.line', knex.raw(`coalesce((select json_agg(json_build_object('installment', i.number, 'amount', l.amount) order by i.number) from payment_allocations l join agreement_installments i on i.id = l.installment_id where l.payment_id = y.id), '[]') as allocations`));
  const replaces = await knex('agreements').where({ replaced_by: id }).select('id', 'reference', 'status');
  const certificate = await knex('paz_y_salvo').where({ agreement_id: id }).first('code', 'issued_at', 'revoked_at');
  const paid = schedule.reduce((s, i: { paid_amount: number }) => s + Number(i.paid_amount), 0);
  return { ...a, paid, balance: Number(a.total) - paid, schedule, payments, replaces, certificate: certificate ?? null };
}

export async function unmatchedPayments(knex: Knex, o: { limit: number; offset: number }): Promise<{ total: number; items: Record<string, unknown>[] }> {
  const [n] = (await knex('payments').where({ status: 'unmatched' }).count({ n: '*' })) as { n: string | number }[];
  const items = (await knex('payments as y')
    .leftJoin('payment_imports as f', 'f.id', 'y.import_id')
    .where('y.status', 'unmatched')
    .orderBy('y.id', 'desc')
    .limit(o.limit)
    .offset(o.offset)
    .select('y.id', 'y.source', 'y.provider', 'y.external_id', 'y.cedula', 'y.reference', 'y.amount', 'y.paid_on', 'y.method', 'y.received_at', 'y.line', 'f.file_name')) as Record<string, unknown>[];
  return { total: Number(n?.n ?? 0), items };
}

/** Promises kept: of the installments due so far, the share paid in full by their due date. */
export async function agreementsOverview(knex: Knex, now: Date): Promise<Record<string, unknown>> {
  const today = bogotaDate(now);
  const kept = (await knex('agreement_installments as i')
    .join('agreements as a', 'a.id', 'i.agreement_id')
    .whereNot('a.status', 'cancelado')
    .where('i.due_date', '<', today)
    .select(
      knex.raw('count(*)::int as due'),
      knex.raw(`count(*) filter (where i.paid_amount >= i.amount and (i.paid_at at time zone 'America/Bogota')::date <= i.due_date)::int as on_time`),
    )
    .first()) as { due: number; on_time: number };
  const recovered = await knex('payments as y')
    .join('agreements as a', 'a.id', 'y.agreement_id')
    .join('portfolios as p', 'p.id', 'a.portfolio_id')
    .where('y.status', 'applied')
    // A credit carried from a replaced agreement is money already counted when it came in.
    .whereNot('y.source', 'traslado')
    .groupBy('p.name', knex.raw(`to_char(y.paid_on, 'YYYY-MM')`))
    .orderBy([{ column: 'month', order: 'desc' }, { column: 'portfolio' }])
    .select('p.name as portfolio', knex.raw(`to_char(y.paid_on, 'YYYY-MM') as month`), knex.raw('sum(y.amount - y.unapplied)::bigint as amount'), knex.raw('count(*)::int as payments'));
  const byStatus = (await knex('agreements').groupBy('status').select('status', knex.raw('count(*)::int as n'))) as { status: string; n: number }[];
  const queue = await knex('conversation_events as e')
    .join('agreements as a', knex.raw(`a.id = (e.details->>'agreement_id')::bigint`))
    .join('debtors as d', 'd.id', 'a.debtor_id')
    .join('portfolios as p', 'p.id', 'a.portfolio_id')
    .where({ 'e.kind': 'acuerdo_incumplido', 'e.status': 'open' })
    .orderBy('e.created_at')
    .select('e.id as event_id', 'e.created_at', 'e.conversation_id', 'a.id as agreement_id', 'a.reference', 'a.total', 'p.name as portfolio', 'd.nombre_del_cliente as debtor_name', 'e.details');
  const unmatched = (await knex('payments').where({ status: 'unmatched' }).select(knex.raw('count(*)::int as n'), knex.raw('coalesce(sum(amount),0)::bigint as amount')).first()) as { n: number; amount: number };
  return {
    promise_keeping: { due: kept.due, on_time: kept.on_time, rate: kept.due ? Math.round((kept.on_time / kept.due) * 1000) / 1000 : null },
    by_status: Object.fromEntries(byStatus.map((r) => [r.status, r.n])),
    recovered,
    broken_queue: queue,
    unmatched_payments: unmatched,
  };
}
