/**
 * Retrieval over the active chunks a conversation may see (its portfolio's and the
 * unscoped ones). Always PostgreSQL full-text: the question's Spanish lexemes (accents
 * folded) OR-ed, ranked by the rarity-weighted share of them a chunk holds, then ts_rank. With an
 * embedder, also cosine similarity (pgvector's <=> when the column is a vector, computed
 * here over the real[] otherwise), and the two fused by adding the chunk's full-text
 * coverage (0–1) and its cosine (0–1): a chunk found by one side only gets that side's
 * score. (Reciprocal-rank fusion was tried first: with a few dozen chunks the ranks sit
 * too close together, and a middling chunk that both sides place second beat the one
 * full-text placed first by far.)
 */
import { maskForExternal } from '../nlu/index.js';
import type { Knex } from '../store/index.js';
import { embeddingColumnKind, vectorLiteral } from './documents.js';
import type { Embedder } from './openai.js';

export interface SearchHit {
  chunkId: number;
  documentId: number;
  title: string;
  heading: string;
  text: string;
  /** Share of the question's content lexemes this chunk holds (0–1), each weighted by its rarity in the documents. */
  coverage: number;
  /** PostgreSQL's ts_rank. */
  rank: number;
  /** Cosine similarity with the question, when embeddings took part. */
  cosine?: number;
  /** The fused score the hits are ordered by. */
  score: number;
}

export interface SearchOptions {
  /** The conversation's portfolio: its documents and the unscoped ones. Undefined: only unscoped ones... or all when `allPortfolios`. */
  portfolioId?: number | null;
  /** Search every active document whatever its portfolio (the eval command). */
  allPortfolios?: boolean;
  limit?: number;
  embedder?: Embedder;
}

/**
 * Words of a debtor's question that say how they ask, not what — greetings, courtesy and
 * the generic verbs of asking ("¿cómo saco…?", "¿cuánto se demora…?") — left out of the
 * query so a passage is found for "quisiera saber dónde queda la oficina" as for
 * "dirección oficina", and a passage is not judged off-topic for lacking them.
 */
const QUESTION_FILLER = new Set(
  `hola buenas buenos dias tardes noches gracias favor porfa porfavor quiero quisiera queria necesito saber puedo pueden podria podrian
   me dice diga digame decirme dicen informa informar informacion explica explicar explicame pregunta preguntar consulta usted ustedes
   senor senora senorita tengo tiene tienen hacer hago hace ser estar esta estan hay alguien algo alguna algun cosa bien entonces pues
   oiga disculpe perdon ayuda ayudar ayudeme ayudarme mismo claro vale ok quiere
   aparece aparecer hago saco sacar pongo poner doy dar darle pido pedir demora demoran demorar tarda tardan tardar
   responden responder trabajan trabajar funciona sirve significa significado definicion`
    .split(/\s+/)
    .filter(Boolean),
);

/** Lowercase, accents folded, filler out: the words the full-text query is made of. */
export function queryWords(question: string): string[] {
  return question
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .split(' ')
    // A long number is a cédula, a phone or an account: personal, never what the question is about.
    .filter((w) => w && !QUESTION_FILLER.has(w) && !/^\d{5,}$/.test(w));
}

function scopeWhere(q: Knex.QueryBuilder, options: SearchOptions): void {
  q.where('d.active', true).andWhere('d.processed', true);
  if (!options.allPortfolios) {
    q.andWhere((w) => {
      w.whereNull('d.portfolio_id');
      if (options.portfolioId !== undefined && options.portfolioId !== null) w.orWhere('d.portfolio_id', options.portfolioId);
    });
  }
}

/** How many active chunks hold each lexeme (PostgreSQL's ts_stat over the index). */
async function documentFrequencies(knex: Knex, lexemes: string[]): Promise<{ total: number; df: Map<string, number> }> {
  const [{ total }] = (await knex('document_chunks as c').join('documents as d', 'd.id', 'c.document_id').where('d.active', true).count({ total: '*' })) as unknown as [{ total: string }];
  const { rows } = (await knex.raw(
    `select word, ndoc from ts_stat('select c.tsv from document_chunks c join documents d on d.id = c.document_id where d.active') where word = any(?)`,
    [lexemes],
  )) as { rows: { word: string; ndoc: number }[] };
  return { total: Number(total), df: new Map(rows.map((r) => [r.word, Number(r.ndoc)])) };
}

async function fullText(knex: Knex, words: string[], options: SearchOptions, limit: number): Promise<SearchHit[]> {
  if (!words.length) return [];
  const q = knex('document_chunks as c')
    .join('documents as d', 'd.id', 'c.document_id')
    .crossJoin(
      knex.raw(
        `(select array_agg(distinct l) as lex, to_tsquery('simple', string_agg(distinct quote_literal(l), ' | ')) as q
            from unnest(tsvector_to_array(to_tsvector('spanish', unaccent(?)))) l) as query`,
        [words.join(' ')],
      ),
    )
    .select(
      'c.id as chunkId',
      'c.document_id as documentId',
      'd.title',
      'c.heading',
      'c.text',
      'query.lex as lexemes',
      knex.raw(`array(select x from unnest(tsvector_to_array(c.tsv)) x where x = any(query.lex)) as matched`),
      knex.raw(`ts_rank(c.tsv, query.q) as rank`),
    )
    .whereNotNull('query.q')
    .whereRaw('c.tsv @@ query.q');
  scopeWhere(q, options);
  const rows = (await q) as (Omit<SearchHit, 'score' | 'coverage'> & { lexemes: string[]; matched: string[] })[];
  if (!rows.length) return [];
  // A word few passages hold says more than one most of them hold; a word none holds
  // (the question is about something the documents do not cover) weighs the most.
  const { total, df } = await documentFrequencies(knex, rows[0]!.lexemes);
  const weight = (lexeme: string) => Math.log((total + 1) / ((df.get(lexeme) ?? 0) + 0.5));
  const all = rows[0]!.lexemes.reduce((sum, l) => sum + weight(l), 0) || 1;
  return rows
    .map(({ lexemes: _lexemes, matched, ...r }) => ({ ...r, rank: Number(r.rank), coverage: matched.reduce((sum, l) => sum + weight(l), 0) / all, score: 0 }))
    .sort((a, b) => b.coverage - a.coverage || b.rank - a.rank || a.chunkId - b.chunkId)
    .slice(0, limit);
}

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length && i < b.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

async function bySimilarity(knex: Knex, embedder: Embedder, question: string, options: SearchOptions, limit: number): Promise<SearchHit[]> {
  // The debtor's words leave masked.
  const [vector] = await embedder.embed([maskForExternal(question)]);
  if (!vector) return [];
  const kind = await embeddingColumnKind(knex);
  const q = knex('document_chunks as c')
    .join('documents as d', 'd.id', 'c.document_id')
    .where('c.embedding_model', embedder.model)
    .andWhere('c.embedding_dimensions', vector.length)
    .select('c.id as chunkId', 'c.document_id as documentId', 'd.title', 'c.heading', 'c.text');
  scopeWhere(q, options);
  if (kind === 'vector') {
    q.select(knex.raw('1 - (c.embedding <=> ?::vector) as cosine', [vectorLiteral(vector)])).orderBy('cosine', 'desc').limit(limit);
    const rows = (await q) as (Omit<SearchHit, 'score' | 'coverage' | 'rank'> & { cosine: number })[];
    return rows.map((r) => ({ ...r, cosine: Number(r.cosine), coverage: 0, rank: 0, score: 0 }));
  }
  q.select('c.embedding');
  const rows = (await q) as (Omit<SearchHit, 'score' | 'coverage' | 'rank' | 'cosine'> & { embedding: number[] })[];
  return rows
    .map(({ embedding, ...r }) => ({ ...r, cosine: cosine(vector, embedding), coverage: 0, rank: 0, score: 0 }))
    .sort((a, b) => b.cosine - a.cosine || a.chunkId - b.chunkId)
    .slice(0, limit);
}

/** The best chunks for a question, best first. */
export async function searchChunks(knex: Knex, question: string, options: SearchOptions = {}): Promise<SearchHit[]> {
  const limit = options.limit ?? 5;
  const words = queryWords(question);
  const text = await fullText(knex, words, options, Math.max(limit, 20));
  if (!options.embedder) return text.slice(0, limit).map((h) => ({ ...h, score: h.coverage }));
  const similar = await bySimilarity(knex, options.embedder, question, options, Math.max(limit, 20));
  const fused = new Map<number, SearchHit>();
  for (const h of text) fused.set(h.chunkId, { ...h, score: h.coverage });
  for (const h of similar) {
    const seen = fused.get(h.chunkId);
    const cosine = Math.max(0, h.cosine ?? 0);
    fused.set(h.chunkId, seen ? { ...seen, cosine: h.cosine, score: seen.score + cosine } : { ...h, score: cosine });
  }
  return [...fused.values()].sort((a, b) => b.score - a.score || b.rank - a.rank || a.chunkId - b.chunkId).slice(0, limit);
}
