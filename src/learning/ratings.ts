/**
 * Ratings: when a conversation ends well — an agreement recorded, or a goodbye after the
 * debtor was identified — the bot asks once for a 1–5 rating (buttons; a numbered list
 * where the channel has none) and then, optionally, a comment. Never after an opt-out
 * (in that conversation or ever on that channel), a dispute or a handoff.
 *
 * The question goes after the conversation closed, as its own message; the debtor's
 * answer is read here, before the engine, while the question is open (24 hours for the
 * rating, 30 minutes for the comment). Anything else they write goes to the engine as usual.
 */
import type { Button, ChannelName, Clock, InboundMessage, Reply } from '../core/index.js';
import { matchButton } from '../engine/index.js';
import type { Knex } from '../store/index.js';
import { agreementOf } from './review.js';

export const RATING_QUESTION: Reply = {
  text: '¿Cómo le pareció la atención por este chat? Califíquela de 1 a 5 (1 = muy mala, 5 = excelente).',
  buttons: [1, 2, 3, 4, 5].map((n): Button => ({ id: `calificacion_${n}`, text: `${n} ${'⭐'.repeat(n)}` })),
};
export const RATING_THANKS = '¡Gracias por su calificación! 🙏 Si quiere, escríbanos en un mensaje un comentario sobre la atención; es opcional.';
export const COMMENT_THANKS = '¡Gracias por su comentario! Lo tendremos en cuenta para mejorar.';

const RATING_OPEN_MS = 24 * 3600_000;
const COMMENT_OPEN_MS = 30 * 60_000;
const NO_COMMENT = /^(no|nada|no gracias|ninguno|ningún comentario|ningun comentario|así está bien|asi esta bien|todo bien|ok|listo)[.! ]*$/i;

export interface PendingRating {
  id: number;
  conversation_id: string;
  status: 'asked' | 'rated';
  asked_at: Date;
  rated_at: Date | null;
}

/** The rating (1–5) a reply gives: a button, its number ("4", "la 4") or its text; undefined otherwise. */
export function ratingFrom(message: Pick<InboundMessage, 'text' | 'buttonId'>): number | undefined {
  const id = message.buttonId ?? matchButton(message.text, RATING_QUESTION.buttons)?.id;
  const m = /^calificacion_([1-5])$/.exec(id ?? '');
  return m ? Number(m[1]) : undefined;
}

/**
 * The open question for this channel user, if any. Asked only for a user with no live
 * conversation (the learning hook): a conversation opened since the question supersedes it.
 */
export async function pendingRating(knex: Knex, channel: ChannelName, userId: string, now: Date): Promise<PendingRating | undefined> {
  const row = (await knex('ratings')
    .where({ channel, user_id: userId })
    .whereIn('status', ['asked', 'rated'])
    .orderBy('id', 'desc')
    .first('id', 'conversation_id', 'status', 'asked_at', 'rated_at')) as PendingRating | undefined;
  if (!row) return undefined;
  const open = row.status === 'asked' ? now.getTime() - row.asked_at.getTime() < RATING_OPEN_MS : row.rated_at !== null && now.getTime() - row.rated_at.getTime() < COMMENT_OPEN_MS;
  if (open) return row;
  await knex('ratings').where({ id: row.id }).update({ status: row.status === 'asked' ? 'skipped' : 'done' });
  return undefined;
}

/**
 * Whether the conversation that just closed earns the question, and what it is about.
 * Undefined when it does not: not identified and no agreement, a handoff, a dispute, an
 * opt-out, or already asked.
 */
export async function ratingEligibility(
  knex: Knex,
  conversationId: string,
): Promise<{ channel: ChannelName; userId: string; debtorId: number | null; portfolioId: number | null; agreementId: number | null } | undefined> {
  const conv = (await knex('conversations').where({ id: conversationId }).first('id', 'channel', 'user_id', 'debtor_id', 'portfolio_id', 'status', 'handoff_at', 'context', 'close_reason')) as
    | { id: string; channel: ChannelName; user_id: string; debtor_id: number | null; portfolio_id: number | null; status: string; handoff_at: Date | null; context: Record<string, unknown>; close_reason: string | null }
    | undefined;
  if (!conv || conv.status !== 'closed' || conv.handoff_at !== null || conv.close_reason === 'reset') return undefined;
  const debtorId = conv.debtor_id === null ? null : Number(conv.debtor_id);
  const agreement = (await knex('agreements').where({ conversation_id: conv.id }).first('id')) as { id: number } | undefined;
  if (!agreement && conv.context.identificado !== true) return undefined;
  const [optOut, dispute, asked] = await Promise.all([
    knex('opt_outs')
      .where({ conversation_id: conv.id })
      .orWhere((q) => q.where({ channel: conv.channel, user_id: conv.user_id, kind: 'no_contactar' }))
      .first('id'),
    knex('conversation_events').where({ conversation_id: conv.id }).whereIn('kind', ['disputa', 'handoff']).first('id'),
    knex('ratings').where({ conversation_id: conv.id }).first('id'),
  ]);
  if (optOut || dispute || asked) return undefined;
  return {
    channel: conv.channel,
    userId: conv.user_id,
    debtorId,
    portfolioId: conv.portfolio_id === null ? null : Number(conv.portfolio_id),
    agreementId: agreement ? Number(agreement.id) : await agreementOf(knex, conv.id, debtorId),
  };
}

/** Records that the question was asked (once per conversation). False when it already was. */
export async function recordAsked(
  trx: Knex | Knex.Transaction,
  conversationId: string,
  who: { channel: ChannelName; userId: string; debtorId: number | null; portfolioId: number | null; agreementId: number | null },
  now: Date,
): Promise<boolean> {
  const rows = (await trx('ratings')
    .insert({
      conversation_id: conversationId,
      channel: who.channel,
      user_id: who.userId,
      debtor_id: who.debtorId,
      portfolio_id: who.portfolioId,
      agreement_id: who.agreementId,
      status: 'asked',
      asked_at: now,
    })
    .onConflict('conversation_id')
    .ignore()
    .returning('id')) as { id: number }[];
  return rows.length > 0;
}

export async function recordRating(trx: Knex | Knex.Transaction, id: number, rating: number, now: Date): Promise<void> {
  await trx('ratings').where({ id }).update({ status: 'rated', rating, rated_at: now });
}

export async function recordComment(trx: Knex | Knex.Transaction, id: number, comment: string | null, now: Date): Promise<void> {
  await trx('ratings').where({ id }).update({ status: 'done', comment, commented_at: comment === null ? null : now });
}

/** Whether a text after the rating is a "no, thanks" rather than a comment. */
export function declinesComment(text: string): boolean {
  return NO_COMMENT.test(text.trim());
}

export interface RatingReport {
  total: number;
  average: number | null;
  distribution: Record<string, number>;
  byPortfolio: { portfolio: string; rating: number; n: number }[];
  byChannel: { channel: string; rating: number; n: number }[];
  byWeek: { week: string; rating: number; n: number }[];
  comments: { id: number; rating: number; comment: string; channel: string; portfolio: string | null; at: Date; conversation_id: string }[];
}

/** The dashboard's view: the distribution by portfolio, channel and ISO week (Bogotá), and the comments. */
export async function ratingReport(knex: Knex, window: { from: Date; to: Date }): Promise<RatingReport> {
  const base = () =>
    knex('ratings as r')
      .leftJoin('portfolios as p', 'p.id', 'r.portfolio_id')
      .whereNotNull('r.rating')
      .where('r.rated_at', '>=', window.from)
      .where('r.rated_at', '<=', window.to);
  const count = <T extends { n: string | number }>(rows: T[]) => rows.map((r) => ({ ...r, n: Number(r.n) }));
  const all = (await base().select('r.rating').count('* as n').groupBy('r.rating')) as { rating: number; n: string }[];
  const distribution: Record<string, number> = { '1': 0, '2': 0, '3': 0, '4': 0, '5': 0 };
  let total = 0;
  let sum = 0;
  for (const r of all) {
    distribution[String(r.rating)] = Number(r.n);
    total += Number(r.n);
    sum += Number(r.n) * r.rating;
  }
  const byPortfolio = count((await base().select(knex.raw("coalesce(p.name, '(sin cartera)') as portfolio"), 'r.rating').count('* as n').groupByRaw('1, 2').orderByRaw('1, 2')) as { portfolio: string; rating: number; n: string }[]);
  const byChannel = count((await base().select('r.channel', 'r.rating').count('* as n').groupBy('r.channel', 'r.rating').orderBy(['r.channel', 'r.rating'])) as { channel: string; rating: number; n: string }[]);
  const byWeek = count(
    (await base()
      .select(knex.raw(`to_char(date_trunc('week', r.rated_at at time zone 'America/Bogota'), 'IYYY-"W"IW') as week`), 'r.rating')
      .count('* as n')
      .groupByRaw('1, 2')
      .orderByRaw('1, 2')) as { week: string; rating: number; n: string }[],
  );
  const comments = (await base()
    .whereNotNull('r.comment')
    .orderBy('r.commented_at', 'desc')
    .limit(100)
    .select('r.id', 'r.rating', 'r.comment', 'r.channel', 'p.name as portfolio', 'r.commented_at as at', 'r.conversation_id')) as RatingReport['comments'];
  return { total, average: total ? Math.round((sum / total) * 100) / 100 : null, distribution, byPortfolio, byChannel, byWeek, comments };
}
