/**
 * The documents table and its chunks: add (extract → chunk → store, in one transaction),
 * list, activate or deactivate, delete, and keep the chunks' embeddings current.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Clock } from '../core/index.js';
import { AcuerdoError } from '../core/index.js';
import type { Knex } from '../store/index.js';
import { chunkText } from './chunk.js';
import { extractText, type DocumentType } from './extract.js';
import type { Embedder } from './openai.js';

export interface DocumentRow {
  id: number;
  title: string;
  file_name: string;
  type: DocumentType;
  size_bytes: number;
  processed: boolean;
  active: boolean;
  portfolio_id: number | null;
  portfolio: string | null;
  chunks: number;
  created_at: Date;
  updated_at: Date;
}

/** A document id that does not exist. */
export class DocumentNotFoundError extends AcuerdoError {
  override name = 'DocumentNotFoundError';
}

/** A document scoped to a portfolio name that does not exist. */
export class UnknownPortfolioError extends AcuerdoError {
  override name = 'UnknownPortfolioError';
}

/** The accent-folded Spanish full-text vector of a chunk: its heading weighs more (A) than its text (B). */
export const CHUNK_TSV_SQL = `setweight(to_tsvector('spanish', unaccent(coalesce(?, ''))), 'A') || setweight(to_tsvector('spanish', unaccent(?)), 'B')`;

/** "guia-del-deudor_2026.pdf" → "guia del deudor 2026". */
function titleFrom(fileName: string): string {
  return path.basename(fileName, path.extname(fileName)).replace(/[_-]+/g, ' ').replace(/\s+/g, ' ').trim() || fileName;
}

async function portfolioId(knex: Knex, name: string | undefined): Promise<number | null> {
  if (!name) return null;
  const row = (await knex('portfolios').where({ name }).first('id')) as { id: number } | undefined;
  if (!row) throw new UnknownPortfolioError(`no portfolio named '${name}'`);
  return row.id;
}

export interface AddDocumentInput {
  fileName: string;
  data: Buffer;
  /** The portfolio's name; absent: the document speaks for every portfolio. */
  portfolio?: string;
  title?: string;
}

/**
 * Reads, chunks and stores one file. Extraction happens before anything is written; the
 * document and every chunk are written in one transaction, so a failure stores nothing.
 */
export async function addDocument(knex: Knex, clock: Clock, input: AddDocumentInput): Promise<DocumentRow> {
  const fileName = path.basename(input.fileName);
  const { type, text } = await extractText(fileName, input.data);
  const chunks = chunkText(text);
  const scope = await portfolioId(knex, input.portfolio);
  const now = clock.now();
  const id = await knex.transaction(async (trx) => {
    const [row] = (await trx('documents')
      .insert({
        title: input.title?.trim() || titleFrom(fileName),
        file_name: fileName,
        type,
        size_bytes: input.data.length,
        sha256: createHash('sha256').update(input.data).digest('hex'),
        extracted_text: text,
        processed: false,
        active: true,
        portfolio_id: scope,
        created_at: now,
        updated_at: now,
      })
      .returning('id')) as { id: number }[];
    const documentId = row!.id;
    for (const [index, chunk] of chunks.entries()) {
      await trx.raw(`insert into document_chunks (document_id, chunk_index, heading, text, tsv) values (?, ?, ?, ?, ${CHUNK_TSV_SQL})`, [
        documentId,
        index,
        chunk.heading,
        chunk.text,
        chunk.heading,
        chunk.text,
      ]);
    }
    await trx('documents').where({ id: documentId }).update({ processed: true, updated_at: now });
    return documentId;
  });
  return getDocument(knex, id);
}

function listQuery(knex: Knex) {
  return knex('documents as d')
    .leftJoin('portfolios as p', 'p.id', 'd.portfolio_id')
    .select(
      'd.id',
      'd.title',
      'd.file_name',
      'd.type',
      'd.size_bytes',
      'd.processed',
      'd.active',
      'd.portfolio_id',
      'p.name as portfolio',
      'd.created_at',
      'd.updated_at',
      knex.raw('(select count(*)::int from document_chunks c where c.document_id = d.id) as chunks'),
    );
}

export async function getDocument(knex: Knex, id: number): Promise<DocumentRow> {
  const row = (await listQuery(knex).where('d.id', id).first()) as DocumentRow | undefined;
  if (!row) throw new DocumentNotFoundError(`no document ${id}`);
  return row;
}

export async function listDocuments(knex: Knex): Promise<DocumentRow[]> {
  return (await listQuery(knex).orderBy('d.id')) as DocumentRow[];
}

/** Turns a document on or off for answers (its chunks stay). */
export async function setDocumentActive(knex: Knex, clock: Clock, id: number, active: boolean): Promise<DocumentRow> {
  const n = await knex('documents').where({ id }).update({ active, updated_at: clock.now() });
  if (!n) throw new DocumentNotFoundError(`no document ${id}`);
  return getDocument(knex, id);
}

/** Deletes a document and its chunks; the questions it answered keep its title. */
export async function deleteDocument(knex: Knex, id: number): Promise<void> {
  const n = await knex('documents').where({ id }).del();
  if (!n) throw new DocumentNotFoundError(`no document ${id}`);
}

/** How the chunks' embedding column is stored on this server: pgvector or a plain array. */
export async function embeddingColumnKind(knex: Knex): Promise<'vector' | 'array'> {
  const { rows } = (await knex.raw(
    `select format_type(atttypid, atttypmod) as type from pg_attribute where attrelid = 'document_chunks'::regclass and attname = 'embedding'`,
  )) as { rows: { type: string }[] };
  return rows[0]?.type.startsWith('vector') ? 'vector' : 'array';
}

/** A vector as pgvector's text form. */
export function vectorLiteral(v: readonly number[]): string {
  return `[${v.join(',')}]`;
}

/**
 * Embeds every chunk that has no embedding from `embedder.model` yet (new chunks, or all of
 * them after the model changed). Returns how many chunks were embedded.
 */
export async function ensureEmbeddings(knex: Knex, embedder: Embedder): Promise<number> {
  const kind = await embeddingColumnKind(knex);
  const pending = (await knex('document_chunks')
    .where((q) => q.whereNull('embedding_model').orWhereNot('embedding_model', embedder.model).orWhereNull('embedding'))
    .orderBy('id')
    .select('id', 'heading', 'text')) as { id: number; heading: string; text: string }[];
  for (let i = 0; i < pending.length; i += 96) {
    const batch = pending.slice(i, i + 96);
    const vectors = await embedder.embed(batch.map((c) => (c.heading ? `${c.heading}\n${c.text}` : c.text)));
    await knex.transaction(async (trx) => {
      for (const [j, chunk] of batch.entries()) {
        const v = vectors[j];
        if (!v) continue;
        await trx('document_chunks')
          .where({ id: chunk.id })
          .update({
            embedding_model: embedder.model,
            embedding_dimensions: v.length,
            embedding: kind === 'vector' ? trx.raw('?::vector', [vectorLiteral(v)]) : trx.raw('?::real[]', [v]),
          });
      }
    });
  }
  return pending.length;
}
