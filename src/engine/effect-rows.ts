import { buildSchedule } from '../agreements/index.js';
import { requestRow } from '../compliance/index.js';
import type { InboundMessage } from '../core/index.js';
import type { ConversationRow, TurnRow } from './conversations.js';
import type { Effect } from './effects.js';

/**
 * What a turn's effects do: the changes to the conversation (a bound debtor, a handoff,
 * a close) are made on `conv`; the rows they add are returned, written in the turn's one
 * statement. No I/O.
 */
export function effectRows(conv: ConversationRow, effects: Effect[], now: Date, message: InboundMessage): TurnRow[] {
  const rows: TurnRow[] = [];
  for (const e of effects) {
    switch (e.kind) {
      case 'bind_debtor':
        conv.debtor_id = e.debtorId;
        conv.portfolio_id = e.portfolioId;
        conv.tier = e.tier;
        break;
      case 'record_agreement':
        rows.push(...agreementRows(conv, e, now));
        break;
      case 'cancel_agreement':
        rows.push({ table: 'agreements', where: { id: e.agreementId, status: 'vigente' }, values: { status: 'cancelado', status_changed_at: now } });
        rows.push({
          table: 'conversation_events',
          values: { conversation_id: conv.id, debtor_id: conv.debtor_id, kind: 'acuerdo_cancelado', details: { reference: e.reference }, created_at: now },
        });
        break;
      case 'record_dispute':
        rows.push({
          table: 'disputes',
          values: {
            debtor_id: e.debtorId,
            conversation_id: conv.id,
            channel: conv.channel,
            message: e.message ?? null,
            status: 'abierta',
            due_date: e.dueDate,
            created_at: now,
          },
        });
        break;
      case 'record_event':
        rows.push({
          table: 'conversation_events',
          values: { conversation_id: conv.id, debtor_id: conv.debtor_id, kind: e.event, details: e.details, created_at: now },
        });
        break;
      case 'data_request':
      case 'opt_out':
        rows.push({
          table: 'opt_outs',
          // The row as the compliance module writes it; after commit its revokeChannel cancels queued contacts.
          values: requestRow(
            e.kind === 'opt_out' ? 'no_contactar' : 'borrar_datos',
            { channel: conv.channel, userId: message.from, debtorId: conv.debtor_id, conversationId: conv.id, message: e.message ?? null, at: now },
            e.kind === 'data_request' ? e.dueDate : undefined,
          ),
        });
        break;
      case 'handoff':
        conv.status = 'handoff';
        conv.handoff_at = now;
        conv.handoff_reason = e.reason;
        rows.push({
          table: 'conversation_events',
          values: { conversation_id: conv.id, debtor_id: conv.debtor_id, kind: 'handoff', details: { reason: e.reason, ...e.details }, created_at: now },
        });
        break;
      case 'close':
        conv.status = 'closed';
        conv.closed_at = now;
        conv.close_reason = e.reason;
        break;
      case 'identity_attempt':
        rows.push({
          table: 'identity_attempts',
          values: { conversation_id: conv.id, channel: conv.channel, user_id: message.from, debtor_id: e.debtorId, method: e.method, outcome: e.outcome, created_at: now },
        });
        break;
      case 'third_party':
        rows.push({
          table: 'third_party_contacts',
          values: { conversation_id: conv.id, channel: conv.channel, user_id: message.from, debtor_id: e.debtorId, relation: e.relation, created_at: now },
        });
        break;
    }
  }
  return rows;
}

/**
 * A new agreement: the replaced one steps aside first (the unique index allows one
 * vigente agreement per debt) and then points at the new one; the schedule is written
 * in the same statement, amounts summing to the total, due dates on business days.
 */
function agreementRows(conv: ConversationRow, e: Extract<Effect, { kind: 'record_agreement' }>, now: Date): TurnRow[] {
  const rows: TurnRow[] = [];
  if (e.replaces !== undefined) {
    rows.push({ table: 'agreements', where: { id: e.replaces, status: 'vigente' }, values: { status: 'reemplazado', status_changed_at: now } });
  }
  rows.push({
    table: 'agreements',
    values: {
      conversation_id: conv.id,
      debtor_id: e.debtorId,
      portfolio_id: e.portfolioId,
      kind: e.planKind,
      total: e.total,
      installments: e.installments,
      installment_amount: e.installmentAmount,
      first_due_date: e.firstDueDate,
      channel: conv.channel,
      reference: e.reference,
      status: 'vigente',
      status_changed_at: now,
      created_at: now,
    },
  });
  if (e.replaces !== undefined) {
    rows.push({ table: 'agreements', where: { id: e.replaces }, values: {}, parent: { column: 'replaced_by', reference: e.reference } });
  }
  // The schedule, in the same transaction: amounts sum to the total, due dates on business days.
  for (const i of buildSchedule({ total: e.total, installments: e.installments, installmentAmount: e.installmentAmount, firstDueDate: e.firstDueDate })) {
    rows.push({
      table: 'agreement_installments',
      parent: { column: 'agreement_id', reference: e.reference },
      values: { number: i.number, due_date: i.dueDate, amount: i.amount, paid_amount: 0, status: 'pendiente', created_at: now, updated_at: now },
    });
  }
  return rows;
}
