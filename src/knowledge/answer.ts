/**
 * A debtor's general question answered from the agency's documents, for the engine's
 * knowledge port. The detector (detect.ts) says whether the message is such a question;
 * retrieval (search.ts) finds the passages; then either OpenAI writes a short answer
 * from those passages only, or — without OpenAI, or when it fails — the best passage
 * itself is given, trimmed to the sentences that match the question. Either way the reply
 * names its source document. A question the documents do not answer gets an honest
 * "no tengo esa información" and the offer of a person. Every question is recorded
 * (masked) for the dashboard.
 */
import type { Clock, Logger } from '../core/index.js';
import { maskForExternal } from '../nlu/index.js';
import type { Knex } from '../store/index.js';
import { classifyQuestion, type QuestionKind } from './detect.js';
import type { AnswerWriter, Embedder } from './openai.js';
import { queryWords, searchChunks, type SearchHit } from './search.js';

/** Below this share of the question's content words found in the best passage (full-text), the documents do not answer it. */
export const MIN_COVERAGE = 0.45;
/** With embeddings: a passage this similar answers even with fewer shared words. */
export const MIN_COSINE = 0.5;
/** The longest passage given as an answer without OpenAI (characters). */
export const PASSAGE_MAX_CHARS = 420;

export const NO_INFORMATION =
  'No tengo esa información en los documentos de la agencia 🙏 Si quiere, le paso con un asesor: escriba «asesor». O sigamos con lo suyo.';
export const SENSITIVE_REPLY =
  'Sobre reportes en centrales de riesgo o decisiones legales no puedo darle una respuesta ni prometerle nada por este chat. Si quiere, un asesor le explica su caso: escriba «asesor».';

/** Generated text that sounds like a promise about credit reports or legal outcomes is never sent. */
const PROMISE = /\b(?:datacr[eé]dito|centrales? de riesgo|report\w*|embarg\w*|demand\w*|prescri\w*|le garantizamos|garantiza\w*|le prometo|prometemos)\b/i;

export interface KnowledgeQuestion {
  text: string;
  intent?: string;
  confidence?: number;
  entities?: { cedula?: string; amount?: number; installments?: number; date?: string };
  channel: string;
  userId: string;
  /** The flow answers this message itself (one of its own questions, an opt-out, a cédula…). */
  flowHandles: boolean;
}

export interface KnowledgeReply {
  text: string;
  kind: QuestionKind;
  answered: boolean;
  documentTitle?: string;
}

export interface KnowledgeDeps {
  knex: Knex;
  clock: Clock;
  log: Logger;
  /** Live: OpenAI may be switched off at run time. Absent or returning undefined: full-text only, passages as answers. */
  openai?: () => { embedder: Embedder; writer: AnswerWriter } | undefined;
}

export interface Knowledge {
  consult(q: KnowledgeQuestion): Promise<KnowledgeReply | undefined>;
  /** The answer to a question in a portfolio's scope, without recording it (tests, the shell). */
  answer(question: string, portfolioId: number | null): Promise<{ reply: KnowledgeReply; hit?: SearchHit; retrieval: 'fulltext' | 'hybrid'; generated: boolean }>;
}

function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/**
 * The sentences of a passage that answer the question: those sharing more than half as
 * many of its words as the best one does, in the passage's order, within `max`
 * characters ("¿dónde queda la oficina de Medellín?" gets Medellín's address, not all
 * three). A passage none of whose sentences shares a word is cut at `max`.
 */
export function trimPassage(text: string, question: string, max = PASSAGE_MAX_CHARS): string {
  const clean = text.replace(/\s*\n\s*/g, ' ').trim();
  const stems = new Set(queryWords(question).map((w) => w.slice(0, 5)));
  // A sentence ends at . ! ? before a capital, a digit or an opening mark ("7 a. m. a 7 p. m." is one sentence).
  const sentences = clean.split(/(?<=[.!?])\s+(?=[\p{Lu}\d¿¡"«(])/u);
  const scored = sentences.map((s, i) => ({
    s,
    i,
    score: new Set(
      fold(s)
        .split(/[^\p{L}\p{N}]+/u)
        .filter((w) => w && stems.has(w.slice(0, 5)))
        .map((w) => w.slice(0, 5)),
    ).size,
  }));
  const top = Math.max(0, ...scored.map((c) => c.score));
  const chosen: typeof scored = [];
  let size = 0;
  for (const item of [...scored].filter((c) => top > 0 && c.score > top / 2).sort((a, b) => b.score - a.score || a.i - b.i)) {
    if (size + item.s.length + 1 > max) continue;
    chosen.push(item);
    size += item.s.length + 1;
  }
  if (!chosen.length) return clean.length <= max ? clean : `${clean.slice(0, max - 1).replace(/\s+\S*$/, '')}…`;
  return chosen
    .sort((a, b) => a.i - b.i)
    .map((c) => c.s)
    .join(' ');
}

function withSource(text: string, title: string): string {
  return `${text}\n\n📄 Fuente: «${title}».`;
}

export function createKnowledge(deps: KnowledgeDeps): Knowledge {
  const { knex, clock, log } = deps;

  async function answer(question: string, portfolioId: number | null) {
    const ai = deps.openai?.();
    let hits: SearchHit[];
    let retrieval: 'fulltext' | 'hybrid' = ai ? 'hybrid' : 'fulltext';
    try {
      hits = await searchChunks(knex, question, { portfolioId, limit: 3, embedder: ai?.embedder });
    } catch (err) {
      if (!ai) throw err;
      log.warn({ err }, 'embedding the question failed; full-text only');
      retrieval = 'fulltext';
      hits = await searchChunks(knex, question, { portfolioId, limit: 3 });
    }
    const best = hits[0];
    const answerable = best !== undefined && (best.coverage >= MIN_COVERAGE || (best.cosine ?? 0) >= MIN_COSINE);
    if (!best || !answerable) return { reply: { text: NO_INFORMATION, kind: 'general' as const, answered: false }, hit: best, retrieval, generated: false };
    if (ai) {
      try {
        const written = await ai.writer.write(question, hits.map((h) => ({ title: h.title, heading: h.heading, text: h.text })));
        const source = hits[written.source] ?? best;
        if (!written.answered) return { reply: { text: NO_INFORMATION, kind: 'general' as const, answered: false }, hit: best, retrieval, generated: true };
        if (!PROMISE.test(written.answer)) {
          return { reply: { text: withSource(written.answer, source.title), kind: 'general' as const, answered: true, documentTitle: source.title }, hit: source, retrieval, generated: true };
        }
        log.warn('the written answer mentions credit reports or legal outcomes; the passage is given instead');
      } catch (err) {
        log.warn({ err }, 'writing the answer with OpenAI failed; the passage is given instead');
      }
    }
    const text = withSource(trimPassage(best.text, question), best.title);
    return { reply: { text, kind: 'general' as const, answered: true, documentTitle: best.title }, hit: best, retrieval, generated: false };
  }

  return {
    answer,
    async consult(q) {
      if (q.flowHandles) return undefined;
      const kind = classifyQuestion({ text: q.text, intent: q.intent, confidence: q.confidence, entities: q.entities });
      if (kind === 'none' || kind === 'own_debt') return undefined;
      const conv = (await knex('conversations')
        .where({ channel: q.channel, user_id: q.userId })
        .whereIn('status', ['open', 'handoff'])
        .orderBy('opened_at', 'desc')
        .first('portfolio_id', 'status')) as { portfolio_id: number | null; status: string } | undefined;
      // A person has the conversation: they answer.
      if (conv?.status === 'handoff') return undefined;
      const portfolioId = conv?.portfolio_id ?? null;
      const record = (values: { answered: boolean; document_id?: number; document_title?: string; chunk_id?: number; retrieval: string; generated: boolean }) =>
        knex('document_questions')
          .insert({ asked_at: clock.now(), channel: q.channel, question: maskForExternal(q.text).slice(0, 500), portfolio_id: portfolioId, ...values })
          .catch((err: unknown) => log.warn({ err }, 'recording a document question failed'));
      if (kind === 'sensitive') return { text: SENSITIVE_REPLY, kind, answered: false };
      const result = await answer(q.text, portfolioId);
      await record({
        answered: result.reply.answered,
        document_id: result.reply.answered ? result.hit?.documentId : undefined,
        document_title: result.reply.answered ? result.reply.documentTitle : undefined,
        chunk_id: result.reply.answered ? result.hit?.chunkId : undefined,
        retrieval: result.retrieval,
        generated: result.generated,
      });
      return result.reply;
    },
  };
}
