/**
 * The understanding layer's contract, shared by the engine and every channel.
 * Implementations live beside this file; src/nlu/index.ts is the public surface.
 */

/** Exactly the 13 intents of the negotiation domain. */
export const INTENTS = [
  'saludo',
  'despedida',
  'identificacion',
  'consulta_deuda',
  'intencion_pago',
  'solicitud_plan',
  'confirmacion',
  'rechazo',
  'sin_capacidad_pago',
  'disputa',
  'solicitar_asesor',
  'no_contactar',
  'fuera_de_tema',
] as const;

export type Intent = (typeof INTENTS)[number];

/** Which layer produced the intent. */
export type NluSource = 'cedula' | 'model' | 'openai' | 'rules';

export interface Entities {
  /** Digits only, 6–10 of them. */
  cedula?: string;
  /** COP, whole pesos. */
  amount?: number;
  /** A number of installments (cuotas). */
  installments?: number;
  /** A calendar date, YYYY-MM-DD, resolved in America/Bogota. */
  date?: string;
}

export interface NluResult {
  /** The text as understood (normalized whitespace, cut to the configured maximum). */
  text: string;
  intent: Intent;
  /** A probability in [0, 1]. */
  confidence: number;
  source: NluSource;
  entities: Entities;
}

/** Settings read on every call, so that an operator's change applies without a restart. */
export interface NluSettings {
  confidenceThreshold: number;
  openaiEnabled: boolean;
  maxChars: number;
}

export interface UnderstandOptions {
  /** Never call OpenAI (the CLI's --local, benchmarks). */
  local?: boolean;
  /**
   * For the audit row of an OpenAI call: the id, or a promise of it when the conversation
   * is created by this very turn (the row is written once the turn commits).
   */
  conversationId?: string | PromiseLike<string | undefined>;
  /** The debtor's names as the agency knows them: masked before anything goes to OpenAI. */
  knownNames?: readonly string[];
  /** "Now" by the caller's clock, for resolving relative dates ("el viernes", "la otra quincena"). */
  now: Date;
}

export interface Understander {
  understand(text: string, options: UnderstandOptions): Promise<NluResult>;
}

/** One OpenAI (or compatible) call, as recorded in the llm_calls audit table. */
export interface LlmCallRecord {
  model: string;
  purpose: string;
  tokensIn: number;
  tokensOut: number;
  latencyMs: number;
  status: 'ok' | 'error' | 'timeout' | 'malformed' | 'circuit_open';
  error?: string;
  costUsd: number;
  conversationId?: string;
}

export interface LlmCallRecorder {
  record(call: LlmCallRecord): Promise<void>;
}
