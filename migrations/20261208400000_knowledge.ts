import type { Knex } from 'knex';

/**
 * The agency's own documents (src/knowledge), split into chunks the conversation answers
 * general questions from.
 *
 * - documents: one uploaded file (PDF, TXT, DOCX or Markdown), its extracted text, whether
 *   it was processed (chunked) and is active, and the portfolio it is for (null: every
 *   portfolio).
 * - document_chunks: a heading- and paragraph-aligned piece of a document. `tsv` is the
 *   full-text vector with the `spanish` configuration over accent-folded text (unaccent);
 *   `embedding` holds the chunk's embedding — a pgvector `vector` when the server has the
 *   extension, a plain real[] otherwise — with the model and dimensions that made it, so
 *   a chunk is embedded once and again only when the model changes.
 * - document_questions: each general question a debtor asked (masked), whether the
 *   documents answered it and from which document: the dashboard's lists.
 * Every timestamp comes from the service's clock; no column defaults to now().
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('create extension if not exists unaccent');
  // pgvector when this server has it and we may create it (it is a trusted extension;
  // a superuser may create any); otherwise embeddings are a plain real[].
  const vector = await knex.raw(
    `select 1 from pg_available_extension_versions v
      where v.name = 'vector' and (v.trusted or not v.superuser or (select rolsuper from pg_roles where rolname = current_user))
      limit 1`,
  );
  const hasVector = (vector.rows as unknown[]).length > 0;
  if (hasVector) await knex.raw('create extension if not exists vector');

  await knex.schema.createTable('documents', (t) => {
    t.bigIncrements('id').primary();
    t.text('title').notNullable();
    t.text('file_name').notNullable();
    /** pdf | txt | docx | md */
    t.text('type').notNullable();
    t.integer('size_bytes').notNullable();
    t.text('sha256').notNullable();
    t.text('extracted_text').notNullable();
    t.boolean('processed').notNullable().defaultTo(false);
    t.boolean('active').notNullable().defaultTo(true);
    /** The portfolio the document speaks for; null: every portfolio. */
    t.integer('portfolio_id').references('portfolios.id').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.index(['active', 'portfolio_id']);
  });
  await knex.raw(`alter table documents add constraint documents_type_check check (type in ('pdf','txt','docx','md'))`);

  await knex.schema.createTable('document_chunks', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('document_id').notNullable().references('documents.id').onDelete('CASCADE');
    t.integer('chunk_index').notNullable();
    /** The heading the chunk sits under (empty when the document has none there). */
    t.text('heading').notNullable().defaultTo('');
    t.text('text').notNullable();
    t.specificType('tsv', 'tsvector').notNullable();
    t.text('embedding_model');
    t.integer('embedding_dimensions');
    t.specificType('embedding', hasVector ? 'vector' : 'real[]');
    t.unique(['document_id', 'chunk_index']);
  });
  await knex.raw('create index document_chunks_tsv on document_chunks using gin (tsv)');

  await knex.schema.createTable('document_questions', (t) => {
    t.bigIncrements('id').primary();
    t.timestamp('asked_at', { useTz: true }).notNullable();
    t.text('channel').notNullable();
    /** The question as the debtor wrote it, with personal data masked. */
    t.text('question').notNullable();
    t.boolean('answered').notNullable();
    t.bigInteger('document_id').references('documents.id').onDelete('SET NULL');
    /** Kept when the document is later deleted. */
    t.text('document_title');
    t.bigInteger('chunk_id').references('document_chunks.id').onDelete('SET NULL');
    /** fulltext | hybrid */
    t.text('retrieval').notNullable();
    /** Whether OpenAI wrote the answer from the passages (otherwise the passage itself). */
    t.boolean('generated').notNullable().defaultTo(false);
    t.integer('portfolio_id').references('portfolios.id').onDelete('SET NULL');
    t.index(['asked_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('document_questions');
  await knex.schema.dropTableIfExists('document_chunks');
  await knex.schema.dropTableIfExists('documents');
}
