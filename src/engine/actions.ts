/**
 * The actions a flow can run. Each reads what it needs through narrow ports (reads
 * only) and returns its outcome, the context values it sets and the effects the
 * engine must apply. None of them writes.
 */
import type { ActionName } from '../flows/catalog.js';
import type { Scope } from '../flows/expression.js';
import { firstName } from '../flows/format.js';
import type { Policy } from '../flows/policies.js';
import { addBusinessDays, addDays, daysBetween } from './dates.js';
import type { Effect } from './effects.js';
import { computeOffers, evaluateCounteroffer, makePlan, type DebtorFigures, type Offers, type Plan } from './offers.js';

/** A debtor as the actions see them. */
export interface DebtorRecord {
  id: number;
  portfolioId: number;
  portfolioName: string;
  cedula: string;
  nombreDelCliente: string;
  saldoTotal: number;
  banco: string;
  oferta1: number | null;
  oferta2: number | null;
  hasta3: number | null;
  hasta6: number | null;
  hasta12: number | null;
  tier: string;
}

/** What actions may read. The engine implements it over the turn's transaction. */
export interface ActionPorts {
  findDebtors(cedula: string): Promise<DebtorRecord[]>;
  debtorById(id: number): Promise<DebtorRecord | undefined>;
  policyFor(portfolioId: number | null): Promise<Policy>;
  /** Today in Bogotá, YYYY-MM-DD. */
  today(): string;
  /** A fresh agreement reference the debtor can quote. */
  newReference(): string;
}

export interface ActionRequest {
  scope: Scope;
  /** The debtor bound to the conversation so far (including earlier in this turn). */
  binding: { debtorId: number | null; portfolioId: number | null };
  /** How the state running the action was reached: a rule, the fallback limit, or the message limit. */
  trigger: 'rule' | 'fallback' | 'limit';
}

export interface ActionResult {
  outcome: string;
  set?: Record<string, unknown>;
  effects?: Effect[];
}

type ActionImpl = (req: ActionRequest, ports: ActionPorts) => Promise<ActionResult>;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() ? v.trim() : typeof v === 'number' ? String(v) : undefined;
}
function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v)) return Number(v);
  return undefined;
}

/** The context values of an identified debtor: the seed's variables. */
export function debtorVariables(d: DebtorRecord): Record<string, unknown> {
  return {
    identificado: true,
    cedula: d.cedula,
    Nombre_del_cliente: d.nombreDelCliente,
    nombre: firstName(d.nombreDelCliente),
    saldo_total: d.saldoTotal,
    banco: d.banco,
    oferta_1: d.oferta1,
    oferta_2: d.oferta2,
    hasta_3_cuotas: d.hasta3,
    hasta_6_cuotas: d.hasta6,
    hasta_12_cuotas: d.hasta12,
    cartera: d.portfolioName,
  };
}

function bind(d: DebtorRecord): ActionResult {
  return {
    outcome: 'found',
    set: { ...debtorVariables(d), carteras: undefined },
    effects: [{ kind: 'bind_debtor', debtorId: d.id, portfolioId: d.portfolioId, tier: d.tier }],
  };
}

function figures(scope: Scope): DebtorFigures | undefined {
  const saldo = num(scope.saldo_total);
  if (scope.identificado !== true || saldo === undefined) return undefined;
  return {
    saldoTotal: saldo,
    oferta1: num(scope.oferta_1) ?? null,
    oferta2: num(scope.oferta_2) ?? null,
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
    plan_descripcion: p.descripcion,
  };
}

async function offersFor(req: ActionRequest, ports: ActionPorts): Promise<{ offers: Offers; policy: Policy } | undefined> {
  const f = figures(req.scope);
  if (!f) return undefined;
  const policy = await ports.policyFor(req.binding.portfolioId);
  return { offers: computeOffers(f, policy), policy };
}

export const ACTION_IMPLEMENTATIONS: Record<ActionName, ActionImpl> = {
  async find_debtor({ scope }, ports) {
    const cedula = str(scope.cedula)?.replace(/\D/g, '');
    if (!cedula) return { outcome: 'missing' };
    const found = await ports.findDebtors(cedula);
    if (found.length === 0) {
      return { outcome: 'not_found', set: { intentos_documento: (num(scope.intentos_documento) ?? 0) + 1 } };
    }
    if (found.length === 1) return bind(found[0] as DebtorRecord);
    // The cédula matched: the debtor may see which obligations are theirs, to pick one.
    const sameBank = new Set(found.map((d) => d.banco)).size < found.length;
    return {
      outcome: 'several',
      set: {
        cedula,
        carteras: found.map((d) => ({ id: `cartera_${d.id}`, text: sameBank ? `${d.banco} (${d.portfolioName})` : d.banco })),
      },
    };
  },

  async select_portfolio({ scope }, ports) {
    const choices = Array.isArray(scope.carteras) ? (scope.carteras as { id?: unknown }[]) : [];
    const chosen = str(scope.button);
    if (!chosen || !choices.some((c) => String(c.id) === chosen)) return { outcome: 'invalid' };
    const debtor = await ports.debtorById(Number(chosen.replace(/^cartera_/, '')));
    // Only an obligation of the cédula that matched, whatever a client sends as button id.
    if (!debtor || debtor.cedula !== str(scope.cedula)) return { outcome: 'invalid' };
    return bind(debtor);
  },

  async compute_offers(req, ports) {
    const got = await offersFor(req, ports);
    if (!got) return { outcome: 'none' };
    const { offers, policy } = got;
    const today = ports.today();
    const current = str(req.scope.fecha_primer_pago);
    return {
      outcome: 'ok',
      set: {
        planes: offers.plans.map(storePlan),
        // Not shown as buttons: the lowest cash payment, for a last offer after a "no".
        planes_extra: [storePlan(makePlan('contado', offers.minCash, 1, 'contado_especial'))],
        oferta_contado: offers.cash.total,
        oferta_minima: offers.minCash,
        descuento_pct: Math.round((1 - offers.cash.total / (figures(req.scope)?.saldoTotal || 1)) * 100),
        cuotas_maximas: policy.maxInstallments,
        cuota_minima: policy.minInstallment,
        plan_mas_largo: offers.longest.id,
        cuotas_plan_mas_largo: offers.longest.installments,
        valor_cuota_plan_mas_largo: offers.longest.installmentAmount,
        fecha_primer_pago: current && current >= today ? current : addDays(today, policy.firstDueDays),
        fecha_aplazada: addDays(today, policy.maxFirstDueDays),
        como_pagar: policy.paymentInstructions,
      },
    };
  },

  async select_plan({ scope }) {
    const plans = [scope.planes, scope.planes_extra].flatMap((list) => (Array.isArray(list) ? (list as StoredPlan[]) : []));
    const wanted = str(scope.plan_elegido) ?? str(scope.button);
    const plan = plans.find((p) => p.id === wanted) ?? plans.find((p) => p.id === str(scope.button));
    if (!plan) return { outcome: 'unknown' };
    return { outcome: 'ok', set: planVariables(plan) };
  },

  async evaluate_counteroffer(req, ports) {
    const got = await offersFor(req, ports);
    if (!got) return { outcome: 'missing' };
    const verdict = evaluateCounteroffer(
      { amount: num(req.scope.amount), installments: num(req.scope.installments), text: str(req.scope.text) },
      got.offers,
      got.policy,
    );
    if (verdict.outcome === 'missing') return { outcome: 'missing' };
    const propuesta = [num(req.scope.installments) !== undefined ? `${num(req.scope.installments)} cuotas` : undefined, num(req.scope.amount)]
      .filter((x) => x !== undefined)
      .join(' / ');
    return { outcome: verdict.outcome, set: { ...planVariables(storePlan(verdict.plan)), propuesta } };
  },

  async set_due_date(req, ports) {
    const date = str(req.scope.date);
    if (!date) return { outcome: 'missing' };
    const today = ports.today();
    const policy = await ports.policyFor(req.binding.portfolioId);
    const limit = addDays(today, policy.maxFirstDueDays);
    if (daysBetween(today, date) < 0) return { outcome: 'in_past', set: { fecha_limite: limit } };
    if (date > limit) return { outcome: 'too_late', set: { fecha_limite: limit } };
    return { outcome: 'ok', set: { fecha_primer_pago: date, fecha_limite: limit } };
  },

  async record_agreement({ scope, binding }, ports) {
    const total = num(scope.plan_total);
    const installments = num(scope.plan_cuotas);
    const installmentAmount = num(scope.plan_valor_cuota);
    const kind = scope.plan_tipo === 'contado' ? 'contado' : scope.plan_tipo === 'cuotas' ? 'cuotas' : undefined;
    if (!kind || total === undefined || installments === undefined || installmentAmount === undefined || binding.debtorId === null || binding.portfolioId === null) {
      return { outcome: 'missing_plan' };
    }
    let firstDueDate = str(scope.fecha_primer_pago);
    if (!firstDueDate || firstDueDate < ports.today()) {
      const policy = await ports.policyFor(binding.portfolioId);
      firstDueDate = addDays(ports.today(), policy.firstDueDays);
    }
    const reference = ports.newReference();
    return {
      outcome: 'ok',
      set: {
        acuerdo_referencia: reference,
        acuerdo_total: total,
        acuerdo_cuotas: installments,
        acuerdo_valor_cuota: installmentAmount,
        acuerdo_primer_pago: firstDueDate,
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
        },
      ],
    };
  },

  async record_dispute({ scope }) {
    return { outcome: 'ok', effects: [{ kind: 'record_event', event: 'disputa', details: { text: str(scope.text) ?? null } }] };
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
    return { outcome: 'ok', set: { motivo_asesor: undefined }, effects: [{ kind: 'handoff', reason }] };
  },

  async opt_out({ scope }) {
    return { outcome: 'ok', effects: [{ kind: 'opt_out', message: str(scope.text) }, { kind: 'close', reason: 'no_contactar' }] };
  },

  async close_conversation() {
    return { outcome: 'ok', effects: [{ kind: 'close', reason: 'cerrada_por_flujo' }] };
  },
};

export function runAction(name: ActionName, req: ActionRequest, ports: ActionPorts): Promise<ActionResult> {
  return ACTION_IMPLEMENTATIONS[name](req, ports);
}
