/**
 * The actions between the cédula and the disclosure (Ley 2300 de 2023, art. 4):
 * find_debtor (the cédula matched → verified already, or ask the second fact),
 * check_identity (judge the answer or the channel's proof), select_portfolio (only
 * among a verified cédula's obligations) and record_third_party. Like every action they
 * only read (through the ports) and return data; the engine records the attempts.
 *
 * Until the person is verified the context holds nothing of the debtor: no name, no
 * bank, no amount — the pending verification is under the engine-private `_identidad`.
 */
import { firstName, type Scope } from '../flows/index.js';
import type { ActionPorts, ActionRequest, ActionResult, DebtorRecord } from './action-ports.js';
import type { Effect } from './effects.js';
import {
  IDENTITY_KEY,
  identityOf,
  judgeAnswer,
  LOCKOUT_WINDOW_MS,
  MAX_FAILED_ATTEMPTS,
  methodToAsk,
  phoneMatches,
  type AttemptMethod,
  type IdentityState,
} from './identity.js';

export { LOCKOUT_WINDOW_MS };
export type { IdentityPorts } from './action-ports.js';

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
    hasta_3_cuotas: d.hasta3,
    hasta_6_cuotas: d.hasta6,
    hasta_12_cuotas: d.hasta12,
    // Internal: the portfolio's label and the bank's lowest cash amount never reach the debtor.
    _cartera: d.portfolioName,
    _oferta_2: d.oferta2,
  };
}


/** The context keys of an identified debtor (debtorVariables' keys). */
const DEBTOR_KEYS: readonly string[] = Object.keys(
  debtorVariables({
    id: 0, portfolioId: 0, portfolioName: '', cedula: '', nombreDelCliente: '', saldoTotal: 0, banco: '', oferta1: null, oferta2: null,
    hasta3: null, hasta6: null, hasta12: null, tier: 'default', phone: null, fechaExpedicion: null, numeroObligacion: null,
  }),
);

/** What a third party's conversation keeps of its context: bookkeeping, nothing of the debt. */
const KEPT_FOR_THIRD_PARTY: ReadonlySet<string> = new Set([IDENTITY_KEY, 'intentos_documento', '_aviso_asesor', 'motivo_asesor']);

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() ? v.trim() : typeof v === 'number' ? String(v) : undefined;
}

/** Context values a pending verification shows the flow (nothing of the debtor). */
const PENDING_VARIABLES = ['metodo_verificacion', 'compartir_contacto'] as const;

/** The debtor values a context may hold only once verified; cleared when another cédula starts over. */
function forgetDebtor(scope: Scope): Record<string, unknown> {
  const out: Record<string, unknown> = { identificado: undefined, carteras: undefined };
  if (scope.identificado === true) for (const k of DEBTOR_KEYS) out[k] = undefined;
  return out;
}

function clearPending(): Record<string, unknown> {
  return Object.fromEntries(PENDING_VARIABLES.map((k) => [k, undefined]));
}

function attempt(debtorId: number | null, method: AttemptMethod, outcome: 'verificado' | 'fallido' | 'bloqueado'): Effect {
  return { kind: 'identity_attempt', debtorId, method, outcome };
}

/** Verified: one obligation is bound and disclosed; several are offered to choose from. */
function disclose(found: DebtorRecord[], state: IdentityState, effects: Effect[]): ActionResult {
  const identity: IdentityState = { ...state, estado: 'verificado', candidatos: found.map((d) => d.id) };
  if (found.length === 1) {
    const d = found[0] as DebtorRecord;
    return {
      outcome: 'found',
      set: { ...debtorVariables(d), carteras: undefined, ...clearPending(), [IDENTITY_KEY]: identity },
      effects: [...effects, { kind: 'bind_debtor', debtorId: d.id, portfolioId: d.portfolioId, tier: d.tier }],
    };
  }
  const sameBank = new Set(found.map((d) => d.banco)).size < found.length;
  return {
    outcome: 'several',
    set: {
      ...clearPending(),
      cedula: state.cedula,
      [IDENTITY_KEY]: identity,
      // Never the portfolio's internal label: two obligations with one bank are told apart by their order.
      carteras: found.map((d, i) => ({ id: `cartera_${d.id}`, text: sameBank ? `${d.banco} (obligación ${i + 1})` : d.banco })),
    },
    effects,
  };
}

function locked(state: IdentityState, effects: Effect[]): ActionResult {
  return {
    outcome: 'locked',
    set: { ...clearPending(), [IDENTITY_KEY]: { ...state, estado: 'bloqueado' } satisfies IdentityState, motivo_asesor: 'verificacion_fallida' },
    effects,
  };
}

/** A third party gave a cédula: recorded once per debtor, nothing disclosed. */
function thirdParty(state: IdentityState, found: DebtorRecord[]): ActionResult {
  const already = new Set(state.registrados ?? []);
  const fresh = found.filter((d) => !already.has(d.id));
  return {
    outcome: 'third_party',
    set: { [IDENTITY_KEY]: { ...state, registrados: [...already, ...fresh.map((d) => d.id)] } satisfies IdentityState },
    effects: fresh.map((d) => ({ kind: 'third_party', debtorId: d.id, relation: state.relacion ?? null })),
  };
}

async function failures(ports: ActionPorts, found: DebtorRecord[]): Promise<number> {
  const f = await ports.identity.recentFailures(found.map((d) => d.id));
  return Math.max(f.debtor, f.user);
}

/**
 * The cédula matched `found`. Verified already (this conversation, for this cédula), by
 * a portfolio that asks nothing, or by the channel → disclose; locked → stop; else ask.
 */
async function startVerification(scope: Scope, cedula: string, found: DebtorRecord[], ports: ActionPorts): Promise<ActionResult> {
  const previous = identityOf(scope);
  if (previous?.estado === 'verificado' && previous.cedula === cedula) return disclose(found, previous, []);
  const base: IdentityState = { estado: 'pendiente', cedula, candidatos: found.map((d) => d.id), fallidos: previous?.cedula === cedula ? previous.fallidos : 0 };
  const first = found[0] as DebtorRecord;
  const startOver = { ...forgetDebtor(scope) };

  const policies = await Promise.all(found.map((d) => ports.policyFor(d.portfolioId)));
  if (policies.every((p) => p.verification === 'ninguna')) {
    return disclose(found, { ...base, metodo: 'ninguna' }, [attempt(first.id, 'ninguna', 'verificado')]);
  }
  const proved = await ports.identity.channelPhone();
  const owner = found.find((d) => phoneMatches(proved, d));
  if (owner) return disclose(found, { ...base, metodo: 'canal' }, [attempt(owner.id, 'canal', 'verificado')]);

  const preferred = policies.find((p) => p.verification !== 'ninguna')?.verification;
  const method = preferred && preferred !== 'ninguna' ? methodToAsk(preferred, found) : undefined;
  // The platform's proof stands for the answer; otherwise, after 3 failures in 24 h, no more questions.
  if ((await failures(ports, found)) >= MAX_FAILED_ATTEMPTS) {
    const r = locked(base, [attempt(first.id, method ?? 'telefono', 'bloqueado')]);
    return { ...r, set: { ...startOver, ...r.set } };
  }
  if (!method) return { outcome: 'no_data', set: { ...startOver, ...clearPending(), motivo_asesor: 'verificacion_sin_datos' } };
  return {
    outcome: 'verify',
    set: {
      ...startOver,
      [IDENTITY_KEY]: { ...base, metodo: method } satisfies IdentityState,
      metodo_verificacion: method,
      compartir_contacto: ports.identity.channel === 'telegram' ? true : undefined,
    },
  };
}

export const IDENTITY_ACTIONS = {
  async find_debtor({ scope }: ActionRequest, ports: ActionPorts): Promise<ActionResult> {
    const cedula = str(scope.cedula)?.replace(/\D/g, '');
    if (!cedula) return { outcome: 'missing' };
    const found = await ports.findDebtors(cedula);
    const state = identityOf(scope);
    if (state?.estado === 'tercero') return thirdParty(state, found);
    if (found.length === 0) {
      const n = typeof scope.intentos_documento === 'number' ? scope.intentos_documento : 0;
      return { outcome: 'not_found', set: { intentos_documento: n + 1 } };
    }
    return startVerification(scope, cedula, found, ports);
  },

  async check_identity({ scope }: ActionRequest, ports: ActionPorts): Promise<ActionResult> {
    const state = identityOf(scope);
    if (!state) return { outcome: 'missing' };
    const rows = (await Promise.all((state.candidatos ?? []).map((id) => ports.debtorById(id)))).filter((d): d is DebtorRecord => d !== undefined);
    if (state.estado === 'tercero') return thirdParty(state, rows);
    if (!rows.length || !state.cedula) return { outcome: 'missing' };
    if (state.estado === 'verificado') return disclose(rows, state, []);
    if (state.estado === 'bloqueado') return locked(state, []);
    const first = rows[0] as DebtorRecord;

    // A cédula in the message is not an answer: another one starts over, the same one is asked again.
    const typedCedula = str(scope.cedula)?.replace(/\D/g, '');
    let verdict: 'ok' | 'wrong' | 'unreadable' = 'unreadable';
    let method: AttemptMethod = state.metodo ?? 'telefono';
    let owner: DebtorRecord | undefined;
    if (ports.identity.sharedContact) {
      // Only the sender's own card proves anything; someone else's number proves nothing.
      const proved = ports.identity.sharedContact === 'own' ? await ports.identity.channelPhone() : undefined;
      owner = rows.find((d) => phoneMatches(proved, d));
      verdict = owner ? 'ok' : 'wrong';
      method = owner ? 'canal' : ports.identity.sharedContact === 'own' ? 'contacto' : 'contacto_ajeno';
    } else if (typedCedula && typedCedula !== state.cedula) {
      return { outcome: 'cedula' };
    } else if (!typedCedula && (method === 'telefono' || method === 'fecha_expedicion' || method === 'obligacion')) {
      const text = str(scope.text) ?? '';
      const verdicts = rows.map((d) => ({ d, v: judgeAnswer(method as 'telefono', d, text, ports.today()) }));
      owner = verdicts.find((x) => x.v === 'ok')?.d;
      verdict = owner ? 'ok' : verdicts.some((x) => x.v === 'wrong') ? 'wrong' : 'unreadable';
    }
    if (verdict === 'unreadable') return { outcome: 'unanswered' };
    if (verdict === 'ok') return disclose(rows, { ...state, metodo: method }, [attempt((owner ?? first).id, method, 'verificado')]);

    // Wrong: recorded (never the answer); the third failure in the window stops the questions.
    const before = await failures(ports, rows);
    const effects = [attempt(first.id, method, 'fallido')];
    const next: IdentityState = { ...state, fallidos: (state.fallidos ?? 0) + 1 };
    if (before + 1 >= MAX_FAILED_ATTEMPTS) return locked(next, effects);
    return { outcome: 'wrong', set: { [IDENTITY_KEY]: next }, effects };
  },

  async select_portfolio({ scope }: ActionRequest, ports: ActionPorts): Promise<ActionResult> {
    const state = identityOf(scope);
    const choices = Array.isArray(scope.carteras) ? (scope.carteras as { id?: unknown }[]) : [];
    const chosen = str(scope.button);
    if (state?.estado !== 'verificado' || !chosen || !choices.some((c) => String(c.id) === chosen)) return { outcome: 'invalid' };
    const debtor = await ports.debtorById(Number(chosen.replace(/^cartera_/, '')));
    // Only an obligation of the verified cédula, whatever a client sends as button id.
    if (!debtor || debtor.cedula !== state.cedula) return { outcome: 'invalid' };
    return disclose([debtor], state, []);
  },

  /**
   * The writer said they are someone else: from now on this conversation discloses
   * nothing, even with the right cédula and answer. What was shown is taken out of the
   * context; the contact is recorded (no debt data).
   */
  async record_third_party({ scope, binding }: ActionRequest): Promise<ActionResult> {
    const state = identityOf(scope);
    const relation = str(scope.tercero) ?? state?.relacion ?? 'tercero';
    const known = binding.debtorId ?? state?.candidatos?.[0] ?? null;
    const recorded = new Set(state?.registrados ?? []);
    const first = state?.estado !== 'tercero';
    const fresh = known !== null && !recorded.has(known);
    const next: IdentityState = {
      estado: 'tercero',
      relacion: relation,
      cedula: state?.cedula,
      candidatos: state?.candidatos,
      registrados: fresh && known !== null ? [...recorded, known] : [...recorded],
    };
    // Everything the conversation learned about the debt goes: only its own bookkeeping stays.
    const forget = Object.fromEntries(Object.keys(scope).filter((k) => !KEPT_FOR_THIRD_PARTY.has(k)).map((k) => [k, undefined]));
    return {
      outcome: 'ok',
      set: { ...forget, ...clearPending(), [IDENTITY_KEY]: next },
      effects: first || fresh ? [{ kind: 'third_party', debtorId: fresh ? known : null, relation }] : [],
    };
  },
};
