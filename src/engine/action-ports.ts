/**
 * What actions read and return: the ports the engine implements over the turn's
 * transaction, a request and a result. Kept apart from the actions so that every
 * action module (actions.ts, identity-actions.ts) depends on it and not on each other.
 */
import type { ChannelName } from '../core/index.js';
import type { Policy, Scope } from '../flows/index.js';
import type { Effect } from './effects.js';
import type { IdentityFacts } from './identity.js';

/** A debtor as the actions see them (with the facts that prove who they are: Ley 2300 art. 4). */
export interface DebtorRecord extends IdentityFacts {
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

/** A debt's vigente agreement, as the negotiation remembers it. */
export interface ActiveAgreement {
  id: number;
  reference: string;
  kind: 'contado' | 'cuotas';
  total: number;
  installments: number;
  installmentAmount: number;
  firstDueDate: string;
  /** The next installment not fully paid: its due date and what is left of it. */
  next?: { dueDate: string; amount: number };
}

/** What actions may read. The engine implements it over the turn's transaction. */
export interface ActionPorts {
  /** The debt's vigente agreement (at most one: a unique index says so). */
  activeAgreement(debtorId: number): Promise<ActiveAgreement | undefined>;
  findDebtors(cedula: string): Promise<DebtorRecord[]>;
  debtorById(id: number): Promise<DebtorRecord | undefined>;
  policyFor(portfolioId: number | null): Promise<Policy>;
  /** Today in Bogotá, YYYY-MM-DD. */
  today(): string;
  /** A fresh agreement reference the debtor can quote. */
  newReference(): string;
  /** Who is writing, as the channel proves it, and their recent failed identity answers. */
  identity: IdentityPorts;
  /** The online payment page of an agreement, when a payment gateway is configured (src/agreements). */
  paymentLink?(reference: string): string | undefined;
  /** The debt's fully paid agreement and its paz y salvo (code and a signed link), when there is one. */
  paidAgreement?(debtorId: number): Promise<{ reference: string; code: string; link?: string } | undefined>;
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

/** What the identity actions read about the person writing (Ley 2300 art. 4). */
export interface IdentityPorts {
  channel: ChannelName;
  /**
   * The mobile (10 digits) the channel proves for this user: the WhatsApp number the
   * message came from, or a Telegram contact its owner shared (now or before).
   */
  channelPhone(): Promise<string | undefined>;
  /** A contact card in this message: the sender's own ('own') or someone else's ('other'). */
  sharedContact?: 'own' | 'other';
  /** Failed answers in the lockout window since the last success: for these debtor rows, and for this channel user. */
  recentFailures(debtorIds: number[]): Promise<{ debtor: number; user: number }>;
}
