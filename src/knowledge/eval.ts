/**
 * Retrieval quality on a question set: for each question, the passage that answers it
 * (a piece of text the right chunk contains); hit@1 and hit@3 say how often that chunk is
 * first, or among the first three. Lines whose passage is "-" are questions the
 * documents do not answer: they measure how often retrieval rightly finds nothing good.
 */
import { parse } from 'csv-parse/sync';
import { AcuerdoError } from '../core/index.js';
import type { Knex } from '../store/index.js';
import { MIN_COSINE, MIN_COVERAGE } from './answer.js';
import type { Embedder } from './openai.js';
import { searchChunks } from './search.js';

export interface EvalQuestion {
  line: number;
  question: string;
  /** Text the answering chunk contains; undefined: the documents do not answer it. */
  passage?: string;
}

export interface RetrievalReport {
  retrieval: 'fulltext' | 'hybrid';
  questions: number;
  hitAt1: number;
  hitAt3: number;
  /** Answerable questions judged answerable (best passage over the threshold). */
  answeredShare: number;
  unanswerable: number;
  /** Unanswerable questions rightly judged so. */
  abstainedShare: number;
  misses: { line: number; question: string; got?: string }[];
}

export class QuestionSetError extends AcuerdoError {
  override name = 'QuestionSetError';
}

const fold = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();

/** Reads "question<TAB>passage" lines (a header line "question\tpassage" is optional; # starts a comment). */
export function parseQuestionSet(tsv: string): EvalQuestion[] {
  const rows = parse(tsv, { delimiter: '\t', relax_column_count: true, skip_empty_lines: true, comment: '#', quote: false, info: true }) as unknown as { record: string[]; info: { lines: number } }[];
  const out: EvalQuestion[] = [];
  for (const { record, info } of rows) {
    const [question, passage] = record.map((c) => c.trim());
    if (!question || (question === 'question' && passage === 'passage')) continue;
    if (!passage) throw new QuestionSetError(`line ${info.lines}: expected "question<TAB>passage" (use "-" for a question the documents do not answer)`);
    out.push({ line: info.lines, question, passage: passage === '-' ? undefined : passage });
  }
  if (!out.length) throw new QuestionSetError('the question set is empty');
  return out;
}

export async function evaluateRetrieval(knex: Knex, questions: EvalQuestion[], embedder?: Embedder): Promise<RetrievalReport> {
  let hit1 = 0;
  let hit3 = 0;
  let answered = 0;
  let abstained = 0;
  const misses: RetrievalReport['misses'] = [];
  const answerable = questions.filter((q) => q.passage !== undefined);
  for (const q of questions) {
    const hits = await searchChunks(knex, q.question, { allPortfolios: true, limit: 3, embedder });
    const best = hits[0];
    const confident = best !== undefined && (best.coverage >= MIN_COVERAGE || (best.cosine ?? 0) >= MIN_COSINE);
    if (q.passage === undefined) {
      if (!confident) abstained += 1;
      continue;
    }
    if (confident) answered += 1;
    const want = fold(q.passage);
    const rank = hits.findIndex((h) => fold(`${h.heading} ${h.text}`).includes(want));
    if (rank === 0) hit1 += 1;
    if (rank >= 0 && rank < 3) hit3 += 1;
    else misses.push({ line: q.line, question: q.question, got: best ? `${best.heading}: ${best.text.slice(0, 80)}` : undefined });
  }
  const n = answerable.length || 1;
  const u = questions.length - answerable.length;
  return {
    retrieval: embedder ? 'hybrid' : 'fulltext',
    questions: answerable.length,
    hitAt1: hit1 / n,
    hitAt3: hit3 / n,
    answeredShare: answered / n,
    unanswerable: u,
    abstainedShare: u ? abstained / u : 1,
    misses,
  };
}

export function formatRetrievalReport(r: RetrievalReport): string {
  const pct = (x: number) => x.toFixed(3);
  const lines = [
    `${r.retrieval.padEnd(9)} hit@1 ${pct(r.hitAt1)}  hit@3 ${pct(r.hitAt3)}  (${r.questions} answerable questions; judged answerable ${pct(r.answeredShare)}; ${r.unanswerable} unanswerable, rightly declined ${pct(r.abstainedShare)})`,
  ];
  for (const m of r.misses) lines.push(`  miss line ${m.line}: ${m.question}  →  ${m.got ?? '(nothing)'}`);
  return lines.join('\n');
}
