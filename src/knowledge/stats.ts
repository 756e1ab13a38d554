/**
 * What the dashboard shows about documents: the questions debtors asked, the ones the
 * documents did not answer (to turn into new documents), and answers per document.
 */
import type { Knex } from '../store/index.js';

export interface AskedQuestion {
  id: number;
  asked_at: Date;
  channel: string;
  question: string;
  answered: boolean;
  document_title: string | null;
  retrieval: string;
  generated: boolean;
}

export interface DocumentQuestionStats {
  total: number;
  answered: number;
  unanswered: number;
  recent: AskedQuestion[];
  /** The latest questions the documents did not answer. */
  unansweredRecent: AskedQuestion[];
  perDocument: { document_id: number | null; title: string; answers: number }[];
}

export async function documentQuestionStats(knex: Knex, window: { from: Date; to: Date }, limit = 50): Promise<DocumentQuestionStats> {
  const inWindow = () => knex('document_questions').where('asked_at', '>=', window.from).andWhere('asked_at', '<=', window.to);
  const cols = ['id', 'asked_at', 'channel', 'question', 'answered', 'document_title', 'retrieval', 'generated'];
  const [counts] = (await inWindow().select(
    knex.raw('count(*)::int as total'),
    knex.raw('count(*) filter (where answered)::int as answered'),
  )) as { total: number; answered: number }[];
  const recent = (await inWindow().select(cols).orderBy('asked_at', 'desc').orderBy('id', 'desc').limit(limit)) as AskedQuestion[];
  const unansweredRecent = (await inWindow().where('answered', false).select(cols).orderBy('asked_at', 'desc').orderBy('id', 'desc').limit(limit)) as AskedQuestion[];
  const perDocument = (await inWindow()
    .where('answered', true)
    .select('document_id', knex.raw("coalesce(max(document_title), '') as title"), knex.raw('count(*)::int as answers'))
    .groupBy('document_id')
    .orderBy('answers', 'desc')) as DocumentQuestionStats['perDocument'];
  const total = counts?.total ?? 0;
  const answered = counts?.answered ?? 0;
  return { total, answered, unanswered: total - answered, recent, unansweredRecent, perDocument };
}
