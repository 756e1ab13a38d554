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
    }
  /** A fact for a person to review: a dispute, a handoff… */
  | { kind: 'record_event'; event: 'disputa'; details: Record<string, unknown> }
  /** Ley 1581: a personal-data request, answered by a person by `dueDate`. */
  | { kind: 'data_request'; dueDate: string; message?: string }
  /** Ley 2300 art. 2: the debtor revoked this channel. */
  | { kind: 'opt_out'; message?: string }
  | { kind: 'handoff'; reason: string }
  | { kind: 'close'; reason: string };
