/**
 * Everything about one debt in one place: the debtor's conversations (each with the
 * agreement it produced, its rating, its review items and its OpenAI calls) and the
 * debtor's agreements, for a supervisor to follow the debt across channels.
 */
import type { Knex } from '../store/index.js';

export interface DebtView {
  debtor: { id: number; portfolio: string; tier: string; cedula_last4: string };
  agreements: { id: number; reference: string | null; kind: string; total: number; installments: number; status: string; channel: string; conversation_id: string | null; created_at: Date }[];
  conversations: {
    id: string;
    channel: string;
    state: string;
    status: string;
    opened_at: Date;
    closed_at: Date | null;
    messages: number;
    agreement_ids: number[];
    rating: number | null;
    rating_comment: string | null;
    review_items: { id: number; status: string; reasons: string; predicted_intent: string | null; reviewed_intent: string | null }[];
    llm_calls: { model: string; status: string; tokens_in: number; tokens_out: number; cost_usd: string; created_at: Date }[];
  }[];
}

export async function debtView(knex: Knex, debtorId: number): Promise<DebtView | undefined> {
  const debtor = (await knex('debtors as d').join('portfolios as p', 'p.id', 'd.portfolio_id').where('d.id', debtorId).first('d.id', 'p.name as portfolio', 'd.tier', 'd.cedula')) as
    | { id: number; portfolio: string; tier: string; cedula: string }
    | undefined;
  if (!debtor) return undefined;
  const agreements = (await knex('agreements')
    .where({ debtor_id: debtorId })
    .orderBy('id')
    .select('id', 'reference', 'kind', 'total', 'installments', 'status', 'channel', 'conversation_id', 'created_at')) as DebtView['agreements'];
  const conversations = (await knex('conversations').where({ debtor_id: debtorId }).orderBy('opened_at').select('id', 'channel', 'state', 'status', 'opened_at', 'closed_at')) as {
    id: string;
    channel: string;
    state: string;
    status: string;
    opened_at: Date;
    closed_at: Date | null;
  }[];
  const ids = conversations.map((c) => c.id);
  const [counts, ratings, reviews, calls] = await Promise.all([
    knex('messages').whereIn('conversation_id', ids).groupBy('conversation_id').select('conversation_id').count('* as n') as Promise<{ conversation_id: string; n: string }[]>,
    knex('ratings').whereIn('conversation_id', ids).select('conversation_id', 'rating', 'comment') as Promise<{ conversation_id: string; rating: number | null; comment: string | null }[]>,
    knex('review_items').whereIn('conversation_id', ids).orderBy('id').select('id', 'conversation_id', 'status', 'reasons', 'predicted_intent', 'reviewed_intent') as Promise<
      { id: number; conversation_id: string; status: string; reasons: string; predicted_intent: string | null; reviewed_intent: string | null }[]
    >,
    knex('llm_calls').whereIn('conversation_id', ids).orderBy('id').select('conversation_id', 'model', 'status', 'tokens_in', 'tokens_out', 'cost_usd', 'created_at') as Promise<
      ({ conversation_id: string } & DebtView['conversations'][number]['llm_calls'][number])[]
    >,
  ]);
  return {
    debtor: { id: Number(debtor.id), portfolio: debtor.portfolio, tier: debtor.tier, cedula_last4: debtor.cedula.slice(-4) },
    agreements: agreements.map((a) => ({ ...a, id: Number(a.id), total: Number(a.total) })),
    conversations: conversations.map((c) => {
      const rating = ratings.find((r) => r.conversation_id === c.id);
      return {
        ...c,
        messages: Number(counts.find((n) => n.conversation_id === c.id)?.n ?? 0),
        agreement_ids: agreements.filter((a) => a.conversation_id === c.id).map((a) => Number(a.id)),
        rating: rating?.rating ?? null,
        rating_comment: rating?.comment ?? null,
        review_items: reviews.filter((r) => r.conversation_id === c.id).map(({ conversation_id: _, ...r }) => ({ ...r, id: Number(r.id) })),
        llm_calls: calls.filter((l) => l.conversation_id === c.id).map(({ conversation_id: _, ...l }) => l),
      };
    }),
  };
}
