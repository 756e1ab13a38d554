/**
 * What a flow may name: the actions the engine implements (with the outcomes each can
 * return and the context values each sets), the entities and the variables. The
 * validator checks flows against this catalog; the engine implements every action
 * listed here (its table is typed by ActionName, so the two cannot drift).
 */
import { INTENTS, type Intent } from '../nlu/index.js';

export { INTENTS, type Intent };

export const ENTITY_NAMES = ['cedula', 'amount', 'installments', 'date'] as const;
export type EntityName = (typeof ENTITY_NAMES)[number];

/**
 * What the message's words say beyond its intent (src/engine/signals.ts): set only when
 * true (or, for `pregunta`, naming the question), so `if: si_claro` reads naturally.
 */
export const SIGNAL_VARIABLES = [
  'pide_baja',
  'pide_borrar_datos',
  'si_claro',
  'con_condicion',
  'es_pregunta',
  'pregunta',
  'en_ingles',
  'solo_emojis',
  'sarcasmo',
  'ya_pague',
  'no_reconoce',
  'cambiar_acuerdo',
  'cancelar_acuerdo',
  'fuera_de_horario',
  'opcion_plan',
  // The agency's documents' reply to a general question (src/engine/knowledge-port.ts), with its source.
  'respuesta_documentos',
] as const;

/**
 * What the engine reads about who is writing (Ley 2300 art. 4): `tercero` names the
 * relation when the message says the writer is someone else ("soy la esposa de…");
 * `contacto` is true when the message is a shared contact card.
 */
export const IDENTITY_SIGNAL_VARIABLES = ['tercero', 'contacto'] as const;

/** Values of the current message, available in every condition and message. */
export const TURN_VARIABLES = [
  'intent',
  'confidence',
  'text',
  'button',
  ...ENTITY_NAMES,
  ...SIGNAL_VARIABLES,
  ...IDENTITY_SIGNAL_VARIABLES,
] as const;

/** The seed system's spreadsheet columns, set once the cédula matches a debtor. */
export const DEBTOR_VARIABLES = [
  'Nombre_del_cliente',
  'nombre',
  'saldo_total',
  'banco',
  'oferta_1',
  'hasta_3_cuotas',
  'hasta_6_cuotas',
  'hasta_12_cuotas',
] as const;

/**
 * The debtor's values the debtor must not see (internal labels, the negotiation floor):
 * kept under `_` names, which never leave the engine (publicContext).
 */
export const INTERNAL_DEBTOR_VARIABLES = ['_cartera', '_oferta_2'] as const;

/** The plan under discussion, set by select_plan and evaluate_counteroffer. */
export const PLAN_VARIABLES = ['plan_elegido', 'plan_tipo', 'plan_total', 'plan_cuotas', 'plan_valor_cuota', 'plan_ultima_cuota', 'plan_descripcion'] as const;

/** The debtor's active (vigente) agreement, set by compute_offers and record_agreement. */
export const AGREEMENT_VARIABLES = [
  'acuerdo_referencia',
  'acuerdo_total',
  'acuerdo_cuotas',
  'acuerdo_valor_cuota',
  'acuerdo_ultima_cuota',
  'acuerdo_primer_pago',
  'acuerdo_proximo_pago',
  'acuerdo_proximo_valor',
  'acuerdo_descripcion',
  'como_pagar_acuerdo',
] as const;

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
  '_oferta_minima',
  '_oferta_2',
  '_cuota_minima',
  'valor_cuota_plan_mas_largo',
  'plan_total',
  'plan_valor_cuota',
  'acuerdo_total',
  'acuerdo_valor_cuota',
  'acuerdo_ultima_cuota',
  'acuerdo_proximo_valor',
  'plan_ultima_cuota',
  'propuesta_monto',
  'propuesta_original',
]);

/**
 * Values that reveal a debt. Ley 2300 art. 4: never shown before the cédula matches;
 * the validator rejects a message using them in a state the debtor can reach
 * unidentified, unless the message is guarded by a condition on `identificado`.
 */
export const DEBT_DETAIL_VARIABLES: ReadonlySet<string> = new Set([
  ...DEBTOR_VARIABLES,
  ...INTERNAL_DEBTOR_VARIABLES,
  'oferta_contado',
  '_oferta_minima',
  'planes',
  'plan_mas_largo',
  'valor_cuota_plan_mas_largo',
  'cuotas_plan_mas_largo',
  ...PLAN_VARIABLES.filter((v) => v !== 'plan_elegido'),
  'acuerdo_total',
  'acuerdo_cuotas',
  'acuerdo_valor_cuota',
  'acuerdo_ultima_cuota',
  'acuerdo_proximo_valor',
  'acuerdo_proximo_pago',
  'acuerdo_referencia',
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
    description:
      "Looks the cédula up. A cédula is not a secret (Ley 2300 art. 4): `found`/`several` only when the person is already verified (this conversation, a verified channel, or a portfolio with verification: ninguna); else `verify` (ask the portfolio's second fact: `metodo_verificacion`), `locked` (3 failures in 24 h), `no_data` (the file holds no fact to ask), `third_party`.",
    outcomes: ['found', 'several', 'verify', 'locked', 'no_data', 'third_party', 'not_found', 'missing'],
    sets: [
      'identificado',
      'cedula',
      'intentos_documento',
      'carteras',
      'metodo_verificacion',
      'compartir_contacto',
      'motivo_asesor',
      '_identidad',
      ...DEBTOR_VARIABLES,
      ...INTERNAL_DEBTOR_VARIABLES,
    ],
  },
  check_identity: {
    description:
      "Judges the answer to the identity question (or a Telegram contact shared by its owner) against the bank's file, never keeping the answer: `found`/`several` (verified), `wrong`, `locked` (the 3rd failure in 24 h, per debtor and per channel user), `unanswered` (no answer in the message), `cedula` (another cédula), `third_party`.",
    outcomes: ['found', 'several', 'wrong', 'locked', 'unanswered', 'cedula', 'third_party', 'missing'],
    sets: ['identificado', 'cedula', 'carteras', 'metodo_verificacion', 'compartir_contacto', 'motivo_asesor', '_identidad', ...DEBTOR_VARIABLES, ...INTERNAL_DEBTOR_VARIABLES],
  },
  record_third_party: {
    description:
      'Someone wrote for the debtor (Ley 2300 art. 4): the conversation never discloses the debt from now on; what was shown leaves the context; the contact is recorded without debt data.',
    outcomes: ['ok'],
    sets: ['identificado', 'carteras', 'metodo_verificacion', 'compartir_contacto', '_identidad', ...DEBTOR_VARIABLES, ...INTERNAL_DEBTOR_VARIABLES],
  },
  select_portfolio: {
    description: "Binds the obligation the debtor picked among a verified cédula's (buttons from `carteras`).",
    outcomes: ['found', 'invalid'],
    sets: ['identificado', '_identidad', ...DEBTOR_VARIABLES, ...INTERNAL_DEBTOR_VARIABLES],
  },
  compute_offers: {
    description:
      "Computes the payment options from the debtor's columns or else the portfolio's policy, and looks up the debtor's vigente agreement on this debt (outcome vigente).",
    outcomes: ['ok', 'vigente', 'none'],
    sets: [
      'paz_y_salvo_codigo',
      'paz_y_salvo_enlace',
      'acuerdo_pagado',
      'planes',
      '_planes_extra',
      'oferta_contado',
      '_oferta_minima',
      'descuento_pct',
      '_cuotas_maximas',
      '_cuota_minima',
      'plan_mas_largo',
      'cuotas_plan_mas_largo',
      'valor_cuota_plan_mas_largo',
      'fecha_primer_pago',
      'fecha_aplazada',
      'como_pagar',
      'tiene_acuerdo',
      '_puede_cambiar_acuerdo',
      '_acuerdo_id',
      ...AGREEMENT_VARIABLES,
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
    sets: [
      ...PLAN_VARIABLES,
      'propuesta',
      'propuesta_monto',
      'propuesta_cuotas',
      'propuesta_periodo',
      'propuesta_original',
      'motivo_contraoferta',
      'cuotas_necesarias',
      'fecha_primer_pago',
      'fecha_movida',
      'fecha_limite',
      'motivo_fecha',
    ],
  },
  set_due_date: {
    description:
      'Moves the first due date to the date the debtor gave (or `fecha_pedida`), within the policy; a date that is not a business day moves to the next one (fecha_movida).',
    outcomes: ['ok', 'too_late', 'in_past', 'missing'],
    sets: ['fecha_primer_pago', 'fecha_limite', 'fecha_pedida', 'fecha_movida', 'motivo_fecha'],
  },
  record_agreement: {
    description:
      'Records the payment agreement for the plan under discussion; with `reemplazar_acuerdo` set, it replaces the vigente one (marked reemplazado). Outcome `existing` when the debt already has a vigente agreement.',
    outcomes: ['ok', 'missing_plan', 'existing'],
    sets: [...AGREEMENT_VARIABLES, 'como_pagar', 'tiene_acuerdo', 'reemplazar_acuerdo', 'acuerdo_reemplazado', '_acuerdo_id'],
  },
  cancel_agreement: {
    description: "Cancels the debtor's vigente agreement when the portfolio's policy lets the debtor do it (outcome not_allowed otherwise).",
    outcomes: ['ok', 'not_allowed', 'none'],
    sets: ['tiene_acuerdo', '_acuerdo_id'],
  },
  record_dispute: {
    description:
      'Records that the debtor disputes the debt, for a person to review; pauses campaigns and reminders for that debt; `fecha_respuesta` = 15 business days.',
    outcomes: ['ok'],
    sets: ['fecha_respuesta'],
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
