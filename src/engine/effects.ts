/**
 * What a turn asks the engine to do, as data. Actions and the flow runner return
 * effects; only the engine applies them, inside the turn's transaction.
 */
import type { PlanKind } from './offers.js';

export type Effect =
  | { kind: 'bind_debtor'; debtorId: number; portfolioId: number; tier: string }
  | {
      kind: 'record_agreement';
      reference: string;
      debtorId: number;
      portfolioId: number;
      planKind: PlanKind;
      total: number;
      installments: number;
      installmentAmount: number;
      firstDueDate: string;
      /** The vigente agreement this one replaces (marked reemplazado, replaced_by the new one). */
      replaces?: number;
    }
  /** The debtor cancelled their vigente agreement within the portfolio's policy. */
  | { kind: 'cancel_agreement'; agreementId: number; reference: string }
  /** The debtor does not recognize the debt: campaigns and reminders pause until a person answers by `dueDate`. */
  | { kind: 'record_dispute'; debtorId: number; dueDate: string; message?: string }
  /** A fact for a person to review: a dispute, a handoff… */
  | { kind: 'record_event'; event: 'disputa'; details: Record<string, unknown> }
  /** Ley 1581: a personal-data request, answered by a person by `dueDate`. */
  | { kind: 'data_request'; dueDate: string; message?: string }
  /** Ley 2300 art. 2: the debtor revoked this channel. */
  | { kind: 'opt_out'; message?: string }
  | { kind: 'handoff'; reason: string; details?: Record<string, unknown> }
  | { kind: 'close'; reason: string }
  /**
   * Ley 2300 art. 4: one answer to the identity question (or a channel's proof), for the
   * supervisor and the 24-hour lockout. Never the answer itself.
   */
  | { kind: 'identity_attempt'; debtorId: number | null; method: string; outcome: 'verificado' | 'fallido' | 'bloqueado' }
  /** Someone wrote for the debtor (a relative…): recorded without any debt data. */
  | { kind: 'third_party'; debtorId: number | null; relation: string | null };
