/**
 * The actions a flow can run. Each reads what it needs through narrow ports (reads
 * only) and returns its outcome, the context values it sets and the effects the
 * engine must apply. None of them writes.
 */
import type { ActionName } from '../flows/index.js';
import type { Scope } from '../flows/index.js';
import { formatMoney } from '../flows/index.js';
import type { Policy } from '../flows/index.js';
import { paymentInstructions } from '../agreements/index.js';
import { addBusinessDays, addDays, daysBetween, isBusinessDay } from '../core/index.js';
import type { ActionPorts, ActionRequest, ActionResult, ActiveAgreement } from './action-ports.js';
import { IDENTITY_ACTIONS } from './identity-actions.js';
import { computeOffers, evaluateCounteroffer, lastInstallment, makePlan, type DebtorFigures, type Offers, type Plan } from './offers.js';

export type { ActionPorts, ActionRequest, ActionResult, ActiveAgreement, DebtorRecord } from './action-ports.js';
export { debtorVariables } from './identity-actions.js';

type ActionImpl = (req: ActionRequest, ports: ActionPorts) => Promise<ActionResult>;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() ? v.trim() : typeof v === 'number' ? String(v) : undefined;
}
function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v)) return Number(v);
  return undefined;
}

function figures(scope: Scope): DebtorFigures | undefined {
  const saldo = num(scope.saldo_total);
  if (scope.identificado !== true || saldo === undefined) return undefined;
  return {
    saldoTotal: saldo,
    oferta1: num(scope.oferta_1) ?? null,
    oferta2: num(scope._oferta_2) ?? num(scope.oferta_2) ?? null,
    hasta3: num(scope.hasta_3_cuotas) ?? null,
    hasta6: num(scope.hasta_6_cuotas) ?? null,
    hasta12: num(scope.hasta_12_cuotas) ?? null,
  };
}

/** A plan as kept in the context (buttons need id and text; the rest is for select_plan). */
export interface StoredPlan {
  id: string;
  text: string;
  tipo: Plan['kind'];
  total: number;
  cuotas: number;
  valor_cuota: number;
  descripcion: string;
}

function storePlan(p: Plan): StoredPlan {
  return { id: p.id, text: p.text, tipo: p.kind, total: p.total, cuotas: p.installments, valor_cuota: p.installmentAmount, descripcion: p.description };
}

function planVariables(p: StoredPlan): Record<string, unknown> {
  return {
    plan_elegido: p.id,
    plan_tipo: p.tipo,
    plan_total: p.total,
    plan_cuotas: p.cuotas,
    plan_valor_cuota: p.valor_cuota,
    // The last installment absorbs the rounding: the installments add up to the total to the peso.
    plan_ultima_cuota: lastInstallment(p.total, p.cuotas, p.valor_cuota),
    plan_descripcion: p.descripcion,
  };
}

/** The first business day on or after `isoDate` (the compliance guard's calendar). */
export function onBusinessDay(isoDate: string): string {
  let d = isoDate;
  for (let i = 0; i < 30 && !isBusinessDay(d); i++) d = addDays(d, 1);
  return d;
}

/** The context values of the debt's vigente agreement, for the flow to state it. */
function agreementVariables(a: ActiveAgreement, policy: Policy, paymentLink?: string): Record<string, unknown> {
  const next = a.next ?? { dueDate: a.firstDueDate, amount: a.installmentAmount };
  return {
    tiene_acuerdo: true,
    _puede_cambiar_acuerdo: policy.agreementChanges,
    _acuerdo_id: a.id,
    acuerdo_referencia: a.reference,
    acuerdo_total: a.total,
    acuerdo_cuotas: a.installments,
    acuerdo_valor_cuota: a.installmentAmount,
    acuerdo_ultima_cuota: lastInstallment(a.total, a.installments, a.installmentAmount),
    acuerdo_primer_pago: a.firstDueDate,
    acuerdo_proximo_pago: next.dueDate,
    acuerdo_proximo_valor: next.amount,
    acuerdo_descripcion: makePlan(a.kind, a.total, a.installments, undefined, a.installmentAmount).description,
    como_pagar_acuerdo: paymentInstructions(policy, { reference: a.reference, amountDue: next.amount, dueDate: next.dueDate, ...(paymentLink ? { paymentLink } : {}) }),
  };
}

async function offersFor(req: ActionRequest, ports: ActionPorts): Promise<{ offers: Offers; policy: Policy } | undefined> {
  const f = figures(req.scope);
  if (!f) return undefined;
  const policy = await ports.policyFor(req.binding.portfolioId);
  return { offers: computeOffers(f, policy), policy };
}

export const ACTION_IMPLEMENTATIONS: Record<ActionName, ActionImpl> = {
  // Identity before any debt detail (Ley 2300 art. 4): identity-actions.ts.
  find_debtor: IDENTITY_ACTIONS.find_debtor,
  check_identity: IDENTITY_ACTIONS.check_identity,
  select_portfolio: IDENTITY_ACTIONS.select_portfolio,
  record_third_party: IDENTITY_ACTIONS.record_third_party,

  async compute_offers(req, ports) {
    const got = await offersFor(req, ports);
    if (!got) return { outcome: 'none' };
    const { offers, policy } = got;
    const today = ports.today();
    const current = str(req.scope.fecha_primer_pago);
    const limit = addDays(today, policy.maxFirstDueDays);
    const set: Record<string, unknown> = {
      planes: offers.plans.map(storePlan),
      // Not shown as buttons: the lowest cash payment, for a last offer after a "no".
      _planes_extra: [storePlan(makePlan('contado', offers.minCash, 1, 'contado_especial'))],
      oferta_contado: offers.cash.total,
      // The floor and the policy's limits are internal: `_` keys never leave the engine.
      _oferta_minima: offers.minCash,
      descuento_pct: Math.round((1 - offers.cash.total / (figures(req.scope)?.saldoTotal || 1)) * 100),
      _cuotas_maximas: policy.maxInstallments,
      _cuota_minima: policy.minInstallment,
      plan_mas_largo: offers.longest.id,
      cuotas_plan_mas_largo: offers.longest.installments,
      valor_cuota_plan_mas_largo: offers.longest.installmentAmount,
      fecha_primer_pago: current && current >= today ? current : onBusinessDay(addDays(today, policy.firstDueDays)),
      // The latest first payment the policy allows, on a business day no later than the limit.
      fecha_aplazada: latestBusinessDay(limit, today),
      como_pagar: paymentInstructions(policy, {}),
      tiene_acuerdo: undefined,
      _acuerdo_id: undefined,
    };
    const active = req.binding.debtorId !== null ? await ports.activeAgreement(req.binding.debtorId) : undefined;
    if (active) return { outcome: 'vigente', set: { ...set, ...agreementVariables(active, policy, ports.paymentLink?.(active.reference)) } };
    // Paid in full: the paz y salvo is there to ask for.
    const paid = req.binding.debtorId !== null ? await ports.paidAgreement?.(req.binding.debtorId) : undefined;
    if (paid) Object.assign(set, { paz_y_salvo_codigo: paid.code, paz_y_salvo_enlace: paid.link ?? paid.code, acuerdo_pagado: paid.reference });
    return { outcome: 'ok', set };
  },

  async select_plan({ scope }) {
    const plans = [scope.planes, scope._planes_extra].flatMap((list) => (Array.isArray(list) ? (list as StoredPlan[]) : []));
    const wanted = str(scope.plan_elegido) ?? str(scope.button);
    const plan = plans.find((p) => p.id === wanted) ?? plans.find((p) => p.id === str(scope.button));
    if (!plan) return { outcome: 'unknown' };
    return { outcome: 'ok', set: planVariables(plan) };
  },

  async evaluate_counteroffer(req, ports) {
    const got = await offersFor(req, ports);
    if (!got) return { outcome: 'missing' };
    const amount = num(req.scope.amount);
    const installments = num(req.scope.installments);
    // Installments are monthly: "30 mil quincenales" is 60 mil a month, and the debtor is told so.
    const perMonth = amount !== undefined && installments === undefined ? monthlyFactor(str(req.scope.text)) : undefined;
    const verdict = evaluateCounteroffer(
      { amount: perMonth ? (amount as number) * perMonth.factor : amount, installments, text: perMonth ? 'al mes' : str(req.scope.text) },
      got.offers,
      got.policy,
    );
    if (verdict.outcome === 'missing') return { outcome: 'missing' };
    const propuesta = [installments !== undefined ? `${installments} cuotas` : undefined, amount !== undefined ? formatMoney(amount) : undefined]
      .filter((x) => x !== undefined)
      .join(' de ');
    return {
      outcome: verdict.outcome,
      set: {
        ...planVariables(storePlan(verdict.plan)),
        propuesta,
        propuesta_monto: perMonth ? (amount as number) * perMonth.factor : amount,
        propuesta_cuotas: installments,
        propuesta_periodo: perMonth?.word,
        propuesta_original: perMonth ? amount : undefined,
        motivo_contraoferta: verdict.outcome === 'countered' ? verdict.reason : undefined,
        cuotas_necesarias: verdict.outcome === 'countered' ? verdict.needed : undefined,
        _cuotas_maximas: got.policy.maxInstallments,
        _cuota_minima: got.policy.minInstallment,
        // "a 3 cuotas y la primera el 30": the date the debtor gave in the same message is honoured too, or refused with the reason.
        ...firstDueFrom(str(req.scope.date), ports.today(), got.policy),
      },
    };
  },

  async set_due_date(req, ports) {
    const date = str(req.scope.date) ?? str(req.scope.fecha_pedida);
    if (!date) return { outcome: 'missing' };
    const today = ports.today();
    const policy = await ports.policyFor(req.binding.portfolioId);
    const limit = latestBusinessDay(addDays(today, policy.maxFirstDueDays), today);
    const base = { fecha_limite: limit, fecha_pedida: undefined, fecha_movida: undefined, motivo_fecha: undefined };
    if (daysBetween(today, date) < 0) return { outcome: 'in_past', set: { ...base, motivo_fecha: 'pasada' } };
    const due = onBusinessDay(date);
    if (due > limit) return { outcome: 'too_late', set: { ...base, motivo_fecha: due === date ? 'lejana' : 'lejana_habil' } };
    return { outcome: 'ok', set: { ...base, fecha_primer_pago: due, fecha_movida: due !== date ? date : undefined } };
  },

  async record_agreement({ scope, binding }, ports) {
    const total = num(scope.plan_total);
    const installments = num(scope.plan_cuotas);
    const installmentAmount = num(scope.plan_valor_cuota);
    const kind = scope.plan_tipo === 'contado' ? 'contado' : scope.plan_tipo === 'cuotas' ? 'cuotas' : undefined;
    if (!kind || total === undefined || installments === undefined || installmentAmount === undefined || binding.debtorId === null || binding.portfolioId === null) {
      return { outcome: 'missing_plan' };
    }
    const policy = await ports.policyFor(binding.portfolioId);
    // Never a second vigente agreement on one debt: replace it (when the flow says so and the policy allows) or say so.
    const active = await ports.activeAgreement(binding.debtorId);
    let replaces: number | undefined;
    if (active) {
      if (!scope.reemplazar_acuerdo || scope.reemplazar_acuerdo === 'false' || !policy.agreementChanges) {
        return { outcome: 'existing', set: agreementVariables(active, policy) };
      }
      replaces = active.id;
    }
    let firstDueDate = str(scope.fecha_primer_pago);
    if (!firstDueDate || firstDueDate < ports.today()) firstDueDate = addDays(ports.today(), policy.firstDueDays);
    firstDueDate = onBusinessDay(firstDueDate);
    const reference = ports.newReference();
    const recorded: ActiveAgreement = { id: 0, reference, kind, total, installments, installmentAmount, firstDueDate };
    return {
      outcome: 'ok',
      set: {
        ...agreementVariables(recorded, policy, ports.paymentLink?.(reference)),
        como_pagar: paymentInstructions(policy, { reference, amountDue: installmentAmount, dueDate: firstDueDate, ...(ports.paymentLink?.(reference) ? { paymentLink: ports.paymentLink(reference) } : {}) }),
        _acuerdo_id: undefined,
        reemplazar_acuerdo: undefined,
        acuerdo_reemplazado: active?.reference,
      },
      effects: [
        {
          kind: 'record_agreement',
          reference,
          debtorId: binding.debtorId,
          portfolioId: binding.portfolioId,
          planKind: kind,
          total,
          installments,
          installmentAmount,
          firstDueDate,
          ...(replaces !== undefined ? { replaces } : {}),
        },
      ],
    };
  },

  async cancel_agreement({ binding }, ports) {
    if (binding.debtorId === null) return { outcome: 'none' };
    const active = await ports.activeAgreement(binding.debtorId);
    if (!active) return { outcome: 'none', set: { tiene_acuerdo: undefined, _acuerdo_id: undefined } };
    const policy = await ports.policyFor(binding.portfolioId);
    if (!policy.agreementChanges) return { outcome: 'not_allowed' };
    return {
      outcome: 'ok',
      set: { tiene_acuerdo: undefined, _acuerdo_id: undefined },
      effects: [{ kind: 'cancel_agreement', agreementId: active.id, reference: active.reference }],
    };
  },

  async record_dispute({ scope, binding }, ports) {
    const dueDate = addBusinessDays(ports.today(), 15);
    return {
      outcome: 'ok',
      set: { fecha_respuesta: dueDate },
      effects: [
        { kind: 'record_event', event: 'disputa', details: { text: str(scope.text) ?? null, due_date: dueDate } },
        ...(binding.debtorId !== null ? [{ kind: 'record_dispute' as const, debtorId: binding.debtorId, dueDate, message: str(scope.text) }] : []),
      ],
    };
  },

  async data_request({ scope }, ports) {
    const dueDate = addBusinessDays(ports.today(), 15);
    return { outcome: 'ok', set: { fecha_respuesta: dueDate }, effects: [{ kind: 'data_request', dueDate, message: str(scope.text) }] };
  },

  async handoff({ scope, trigger }) {
    const reason =
      trigger === 'fallback'
        ? 'fallback_limit'
        : trigger === 'limit'
          ? 'message_limit'
          : (str(scope.motivo_asesor) ?? (scope.intent === 'solicitar_asesor' ? 'solicitar_asesor' : 'flujo'));
    // What the person needs to pick up: a payment the debtor reports, with its date and receipt.
    const details = str(scope.pago_reportado) ? { pago_reportado: str(scope.pago_reportado) } : undefined;
    return { outcome: 'ok', set: { motivo_asesor: undefined, pago_reportado: undefined }, effects: [{ kind: 'handoff', reason, ...(details ? { details } : {}) }] };
  },

  async opt_out({ scope }) {
    return { outcome: 'ok', effects: [{ kind: 'opt_out', message: str(scope.text) }, { kind: 'close', reason: 'no_contactar' }] };
  },

  async close_conversation() {
    return { outcome: 'ok', effects: [{ kind: 'close', reason: 'cerrada_por_flujo' }] };
  },
};

/** "quincenal", "cada 15 días", "semanal": how many of those make a month (installments are monthly). */
function monthlyFactor(text: string | undefined): { factor: number; word: string } | undefined {
  const t = (text ?? '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  if (/\b(?:quincena|quincenal|quincenales|cada quince dias|cada 15 dias)\b/.test(t)) return { factor: 2, word: 'quincena' };
  if (/\b(?:semana|semanal|semanales|cada ocho dias|cada 8 dias)\b/.test(t)) return { factor: 4, word: 'semana' };
  return undefined;
}

/** The first due date a message asked for, within the policy and on a business day; nothing when it named no date. */
function firstDueFrom(date: string | undefined, today: string, policy: Policy): Record<string, unknown> {
  if (!date) return { motivo_fecha: undefined, fecha_movida: undefined };
  const limit = latestBusinessDay(addDays(today, policy.maxFirstDueDays), today);
  if (date < today) return { motivo_fecha: 'pasada', fecha_limite: limit, fecha_movida: undefined };
  const due = onBusinessDay(date);
  if (due > limit) return { motivo_fecha: 'lejana', fecha_limite: limit, fecha_movida: undefined };
  return { fecha_primer_pago: due, fecha_movida: due !== date ? date : undefined, motivo_fecha: undefined, fecha_limite: limit };
}

/** The latest business day on or before `isoDate`, not before `floor`. */
function latestBusinessDay(isoDate: string, floor: string): string {
  let d = isoDate;
  for (let i = 0; i < 30 && d > floor && !isBusinessDay(d); i++) d = addDays(d, -1);
  return d;
}

export function runAction(name: ActionName, req: ActionRequest, ports: ActionPorts): Promise<ActionResult> {
  return ACTION_IMPLEMENTATIONS[name](req, ports);
}
