/**
 * What a flow may name: the actions the engine implements (with the outcomes each can
 * return and the context values each sets), the entities and the variables. The
 * validator checks flows against this catalog; the engine implements every action
 * listed here (its table is typed by ActionName, so the two cannot drift).
 */
import { INTENTS, type Intent } from '../nlu/types.js';

export { INTENTS, type Intent };

export const ENTITY_NAMES = ['cedula', 'amount', 'installments', 'date'] as const;
export type EntityName = (typeof ENTITY_NAMES)[number];

/** Values of the current message, available in every condition and message. */
export const TURN_VARIABLES = [
  'intent',
  'confidence',
  'text',
  'button',
  ...ENTITY_NAMES,
] as const;

/** The seed system's spreadsheet columns, set once the cédula matches a debtor. */
export const DEBTOR_VARIABLES = [
  'Nombre_del_cliente',
  'nombre',
  'saldo_total',
  'banco',
  'oferta_1',
  'oferta_2',
  'hasta_3_cuotas',
  'hasta_6_cuotas',
  'hasta_12_cuotas',
  'cartera',
] as const;

/** The plan under discussion, set by select_plan and evaluate_counteroffer. */
export const PLAN_VARIABLES = ['plan_elegido', 'plan_tipo', 'plan_total', 'plan_cuotas', 'plan_valor_cuota', 'plan_descripcion'] as const;

/** Money values, written as $123.456 in messages without needing a filter. */
export const MONEY_VARIABLES: ReadonlySet<string> = new Set([
  'saldo_total',
  'oferta_1',
  'oferta_2',
  'hasta_3_cuotas',
  'hasta_6_cuotas',
  'hasta_12_cuotas',
  'amount',
  'oferta_contado',
  'oferta_minima',
  'cuota_minima',
  'valor_cuota_plan_mas_largo',
  'plan_total',
  'plan_valor_cuota',
  'acuerdo_total',
  'acuerdo_valor_cuota',
]);

/**
 * Values that reveal a debt. Ley 2300 art. 4: never shown before the cédula matches;
 * the validator rejects a message using them in a state the debtor can reach
 * unidentified, unless the message is guarded by a condition on `identificado`.
 */
export const DEBT_DETAIL_VARIABLES: ReadonlySet<string> = new Set([
  ...DEBTOR_VARIABLES,
  'oferta_contado',
  'oferta_minima',
  'planes',
  'plan_mas_largo',
  'valor_cuota_plan_mas_largo',
  'cuotas_plan_mas_largo',
  ...PLAN_VARIABLES.filter((v) => v !== 'plan_elegido'),
  'acuerdo_total',
  'acuerdo_cuotas',
  'acuerdo_valor_cuota',
]);

export interface ActionSpec {
  /** One line for the docs and `flows validate`. */
  readonly description: string;
  readonly outcomes: readonly string[];
  /** Context values the action may set. */
  readonly sets: readonly string[];
  /** The conversation leaves the bot after this action: to a person, or closed. */
  readonly ends?: 'handoff' | 'closed';
}

export const ACTIONS = {
  find_debtor: {
    description: 'Finds the debtor by the cédula given (or the one in the context) and binds them to the conversation.',
    outcomes: ['found', 'several', 'not_found', 'missing'],
    sets: ['identificado', 'cedula', 'intentos_documento', 'carteras', ...DEBTOR_VARIABLES],
  },
  select_portfolio: {
    description: 'Binds the obligation the debtor picked among several (buttons from `carteras`).',
    outcomes: ['found', 'invalid'],
    sets: ['identificado', ...DEBTOR_VARIABLES],
  },
  compute_offers: {
    description: "Computes the payment options from the debtor's columns or else the portfolio's policy.",
    outcomes: ['ok', 'none'],
    sets: [
      'planes',
      'planes_extra',
      'oferta_contado',
      'oferta_minima',
      'descuento_pct',
      'cuotas_maximas',
      'cuota_minima',
      'plan_mas_largo',
      'cuotas_plan_mas_largo',
      'valor_cuota_plan_mas_largo',
      'fecha_primer_pago',
      'fecha_aplazada',
      'como_pagar',
    ],
  },
  select_plan: {
    description: 'Takes the plan the debtor picked (`plan_elegido`, else the button pressed) as the plan under discussion.',
    outcomes: ['ok', 'unknown'],
    sets: [...PLAN_VARIABLES],
  },
  evaluate_counteroffer: {
    description:
      'Judges an amount or number of installments the debtor proposed: accepted within the policy, else countered with the closest allowed plan.',
    outcomes: ['accepted', 'countered', 'missing'],
    sets: [...PLAN_VARIABLES, 'propuesta'],
  },
  set_due_date: {
    description: 'Moves the first due date to the date the debtor gave, within the policy.',
    outcomes: ['ok', 'too_late', 'in_past', 'missing'],
    sets: ['fecha_primer_pago', 'fecha_limite'],
  },
  record_agreement: {
    description: 'Records the payment agreement for the plan under discussion.',
    outcomes: ['ok', 'missing_plan'],
    sets: ['acuerdo_referencia', 'acuerdo_total', 'acuerdo_cuotas', 'acuerdo_valor_cuota', 'acuerdo_primer_pago'],
  },
  record_dispute: {
    description: 'Records that the debtor disputes the debt, for a person to review.',
    outcomes: ['ok'],
    sets: [],
  },
  data_request: {
    description: 'Records a personal-data request (Ley 1581) for a person; sets the legal answer date.',
    outcomes: ['ok'],
    sets: ['fecha_respuesta'],
  },
  handoff: {
    description: 'Hands the conversation to a person (reason: `motivo_asesor` if set): the bot stops answering it.',
    outcomes: ['ok'],
    sets: ['motivo_asesor'],
    ends: 'handoff',
  },
  opt_out: {
    description: 'Registers that the debtor revoked this channel (no_contactar) and closes the conversation.',
    outcomes: ['ok'],
    sets: [],
    ends: 'closed',
  },
  close_conversation: {
    description: 'Closes the conversation.',
    outcomes: ['ok'],
    sets: [],
    ends: 'closed',
  },
} as const satisfies Record<string, ActionSpec>;

export type ActionName = keyof typeof ACTIONS;

/** An action's spec, typed as the common shape. */
export function actionSpec(name: ActionName): ActionSpec {
  return ACTIONS[name];
}

export function isActionName(name: string): name is ActionName {
  return Object.prototype.hasOwnProperty.call(ACTIONS, name);
}

export function isIntent(name: string): name is Intent {
  return (INTENTS as readonly string[]).includes(name);
}

export function isEntityName(name: string): name is EntityName {
  return (ENTITY_NAMES as readonly string[]).includes(name);
}

/** Values only the timeout warning has: the hours left before the conversation closes. */
export const WARNING_VARIABLES = ['horas_restantes'] as const;

/** What a campaign's opening may say: only the first name (the number may not be the debtor's). */
export const CAMPAIGN_VARIABLES: readonly string[] = ['nombre'];

/** Every variable the engine itself may put in scope. */
export const BUILTIN_VARIABLES: ReadonlySet<string> = new Set<string>([
  ...TURN_VARIABLES,
  ...WARNING_VARIABLES,
  ...Object.values(ACTIONS).flatMap((a: ActionSpec) => a.sets),
]);
