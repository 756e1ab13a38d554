/**
 * Payment plans: what the bot offers a debtor, and how it judges a counter-offer.
 * Pure functions over the debtor's figures and the portfolio's policy.
 *
 * The debtor's row wins when it carries offers (the bank decided them): Oferta_1 is
 * the cash offer, Oferta_2 the lowest cash amount the bank accepts, Hasta_N_cuotas the
 * total payable in up to N installments. Otherwise the policy decides.
 */
import { formatMoney } from '../flows/index.js';
import type { Policy } from '../flows/index.js';

export interface DebtorFigures {
  saldoTotal: number;
  oferta1?: number | null;
  oferta2?: number | null;
  hasta3?: number | null;
  hasta6?: number | null;
  hasta12?: number | null;
}

export type PlanKind = 'contado' | 'cuotas';

export interface Plan {
  /** contado, cuotas_3… — the button id. */
  id: string;
  kind: PlanKind;
  /** What the debtor pays in all, COP. */
  total: number;
  installments: number;
  /** Each installment, COP (the total for contado). Rounded up to the peso. */
  installmentAmount: number;
  /** The button text: "Pago de contado: $98.765", "3 cuotas de $37.037". */
  text: string;
  /** For a sentence: "un pago de contado de $98.765", "3 cuotas mensuales de $37.037 (total $111.110)". */
  description: string;
}

export interface Offers {
  plans: Plan[];
  cash: Plan;
  /** The lowest cash payment a counter-offer may reach. */
  minCash: number;
  /** The plan with the most installments, or the cash plan when none is possible. */
  longest: Plan;
  /** The total payable in n installments (the smallest offered plan of at least n installments). */
  totalFor(n: number): number;
}

/**
 * The last installment of a plan: what is left after the others, so the installments add
 * up to the total to the peso (src/agreements/schedule.ts writes the same amounts).
 */
export function lastInstallment(total: number, installments: number, installmentAmount: number): number {
  if (installments <= 1) return total;
  return total - installmentAmount * (installments - 1);
}

export function makePlan(kind: PlanKind, total: number, installments: number, id?: string, amount?: number): Plan {
  const n = kind === 'contado' ? 1 : installments;
  const installmentAmount = amount ?? Math.ceil(total / n);
  if (kind === 'contado') {
    return {
      id: id ?? 'contado',
      kind,
      total,
      installments: 1,
      installmentAmount: total,
      text: `Pago de contado: ${formatMoney(total)}`,
      description: `un pago de contado de ${formatMoney(total)}`,
    };
  }
  return {
    id: id ?? `cuotas_${n}`,
    kind,
    total,
    installments: n,
    installmentAmount,
    text: `${n} cuotas de ${formatMoney(installmentAmount)}`,
    description: describeInstallments(total, n, installmentAmount),
  };
}

/** "3 cuotas mensuales: 2 de $37.037 y la última de $37.036 (total $111.110)": what is recorded, to the peso. */
function describeInstallments(total: number, n: number, each: number): string {
  const last = lastInstallment(total, n, each);
  if (last === each) return `${n} cuotas mensuales de ${formatMoney(each)} (total ${formatMoney(total)})`;
  const first = n - 1 === 1 ? `1 de ${formatMoney(each)}` : `${n - 1} de ${formatMoney(each)}`;
  return `${n} cuotas mensuales: ${first} y la última de ${formatMoney(last)} (total ${formatMoney(total)})`;
}

const positive = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

export function computeOffers(debtor: DebtorFigures, policy: Policy): Offers {
  const saldo = debtor.saldoTotal;
  const cashTotal = positive(debtor.oferta1) ? debtor.oferta1 : Math.ceil(saldo * (1 - policy.cashDiscountPct / 100));
  const cash = makePlan('contado', cashTotal, 1);
  const policyFloor = Math.ceil(saldo * (1 - policy.maxCashDiscountPct / 100));
  const minCash = positive(debtor.oferta2) ? Math.min(debtor.oferta2, cashTotal) : positive(debtor.oferta1) ? cashTotal : Math.min(policyFloor, cashTotal);

  const fromRow: [number, number | null | undefined][] = [
    [3, debtor.hasta3],
    [6, debtor.hasta6],
    [12, debtor.hasta12],
  ];
  let installmentPlans = fromRow.filter(([, total]) => positive(total)).map(([n, total]) => makePlan('cuotas', total as number, n));
  if (installmentPlans.length === 0) {
    installmentPlans = policy.installmentOptions
      .filter((n) => n <= policy.maxInstallments)
      .sort((a, b) => a - b)
      .map((n) => makePlan('cuotas', saldo, n))
      .filter((p) => p.installmentAmount >= policy.minInstallment);
  }
  const offered = [...installmentPlans].sort((a, b) => a.installments - b.installments);
  const totalFor = (n: number): number => {
    const plan = offered.find((p) => p.installments >= n);
    return plan ? plan.total : (offered.at(-1)?.total ?? saldo);
  };
  const plans = [cash, ...offered];
  return { plans, cash, minCash, longest: offered.at(-1) ?? cash, totalFor };
}

export interface Proposal {
  amount?: number;
  installments?: number;
  /** The debtor's words, to tell a cash amount from an installment amount. */
  text?: string;
}

export type CounterReason = 'max_installments' | 'min_installment' | 'min_cash' | 'installment_amount';

export type Verdict =
  | { outcome: 'accepted'; plan: Plan }
  /** `needed`: how many installments the debtor's monthly figure would take. */
  | { outcome: 'countered'; plan: Plan; reason: CounterReason; needed?: number }
  | { outcome: 'missing' };

const CASH_WORDS = /\b(contado|de una|un solo pago|una sola|todo junto|completo|total)\b/i;
const INSTALLMENT_WORDS = /\b(cuota|cuotas|mensual|mensuales|al mes|cada mes|por mes|mes a mes|quincena|quincenal)\b/i;

function fold(text: string): string {
  return text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

/** The plan with the most installments the policy allows, or undefined when none is. */
function longestAllowed(offers: Offers, policy: Policy): Plan | undefined {
  for (let n = policy.maxInstallments; n >= 2; n--) {
    const plan = planFor(offers, n);
    if (plan.installmentAmount >= policy.minInstallment) return plan;
  }
  return undefined;
}

/** The offered plan of exactly n installments, or a plan priced like the next longer one. */
function planFor(offers: Offers, n: number): Plan {
  return offers.plans.find((p) => p.kind === 'cuotas' && p.installments === n) ?? makePlan('cuotas', offers.totalFor(n), n);
}

function byInstallments(n: number, offers: Offers, policy: Policy): Verdict {
  if (n <= 1) return { outcome: 'accepted', plan: offers.cash };
  if (n > policy.maxInstallments) {
    return { outcome: 'countered', plan: longestAllowed(offers, policy) ?? offers.cash, reason: 'max_installments' };
  }
  const plan = planFor(offers, n);
  if (plan.installmentAmount >= policy.minInstallment) return { outcome: 'accepted', plan };
  // Too many installments for the minimum: the longest plan that keeps it.
  for (let k = n - 1; k >= 2; k--) {
    const shorter = planFor(offers, k);
    if (shorter.installmentAmount >= policy.minInstallment) return { outcome: 'countered', plan: shorter, reason: 'min_installment' };
  }
  return { outcome: 'countered', plan: offers.cash, reason: 'min_installment' };
}

/**
 * A monthly figure: accepted exactly — installments of that amount, the last one what is
 * left — in the fewest installments that reach the plan's total. Below the minimum
 * installment, or needing more installments than the policy allows, the closest allowed
 * plan (the longest) is the counter-offer.
 */
function byInstallmentAmount(amount: number, offers: Offers, policy: Policy): Verdict {
  if (amount < policy.minInstallment) {
    return { outcome: 'countered', plan: longestAllowed(offers, policy) ?? offers.cash, reason: 'min_installment' };
  }
  for (let n = 2; n <= policy.maxInstallments; n++) {
    const total = offers.totalFor(n);
    if (amount * n < total) continue;
    const last = lastInstallment(total, n, amount);
    if (last <= 0) continue;
    const exact = Math.ceil(total / n) === amount;
    return { outcome: 'accepted', plan: exact ? planFor(offers, n) : makePlan('cuotas', total, n, `cuotas_${n}_propuesta`, amount) };
  }
  const needed = Math.ceil(offers.totalFor(policy.maxInstallments) / amount);
  return { outcome: 'countered', plan: longestAllowed(offers, policy) ?? offers.cash, reason: 'max_installments', needed };
}

/**
 * Judges what the debtor proposed. Accepted when it fits the policy (never charging
 * more than the offer: a cash amount above the cash offer gets the offer); otherwise
 * countered with the closest allowed plan.
 *
 * An amount alone is a cash payment when the words say so ("de contado", "de una") or
 * when it reaches the lowest cash amount and no word speaks of installments; otherwise
 * it is what the debtor can pay each month.
 */
export function evaluateCounteroffer(proposal: Proposal, offers: Offers, policy: Policy): Verdict {
  const { amount, installments } = proposal;
  const text = fold(proposal.text ?? '');
  if (installments !== undefined && installments > 0) {
    const verdict = byInstallments(installments, offers, policy);
    if (amount === undefined || verdict.outcome !== 'accepted' || verdict.plan.installmentAmount <= amount) return verdict;
    // "6 cuotas de 100 mil" that do not reach the total: say so, and offer that figure in as many installments as it takes.
    const byAmount = byInstallmentAmount(amount, offers, policy);
    return { outcome: 'countered', plan: byAmount.outcome === 'missing' ? verdict.plan : byAmount.plan, reason: 'installment_amount' };
  }
  if (amount === undefined || amount <= 0) return { outcome: 'missing' };
  const saysCash = CASH_WORDS.test(text);
  const saysInstallments = INSTALLMENT_WORDS.test(text);
  const isCash = saysCash || (!saysInstallments && amount >= offers.minCash);
  if (isCash) {
    if (amount >= offers.cash.total) return { outcome: 'accepted', plan: offers.cash };
    if (amount >= offers.minCash) return { outcome: 'accepted', plan: makePlan('contado', amount, 1, 'contado_propuesto') };
    return { outcome: 'countered', plan: makePlan('contado', offers.minCash, 1, 'contado_minimo'), reason: 'min_cash' };
  }
  return byInstallmentAmount(amount, offers, policy);
}
