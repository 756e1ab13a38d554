import type { Knex } from 'knex';

/**
 * The learning loop's tables (src/learning):
 * - learning_state: one row; its revision rises on every activation, rollback, dictionary
 *   change or fallback-model change, so every instance polling it swaps at once;
 * - nlu_models (from the core schema) gains a version number, a status, the gate's
 *   verdict and who activated it;
 * - review_items: turns the bot was unsure about, for a supervisor to confirm or correct;
 * - ratings: the 1–5 rating asked at the end of a conversation, and its comment;
 * - semantic_dictionary (+ its versions): slang and misspellings, rewritten before the model;
 * - fine_tuning_jobs: OpenAI fine-tuning jobs (the seed's fields);
 * - agreement_id beside debtor_id where a row is about a debt (links).
 * Every time column is written from the service's clock; none has a database default.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('learning_state', (t) => {
    t.integer('id').primary();
    t.bigInteger('revision').notNullable().defaultTo(1);
    t.integer('active_model_id').references('nlu_models.id').onDelete('SET NULL');
    t.integer('dictionary_version').notNullable().defaultTo(0);
    /** The OpenAI model the fallback uses instead of OPENAI_MODEL (a fine-tuned one); null: the configured one. */
    t.text('fallback_model');
    t.text('updated_by');
    t.timestamp('updated_at', { useTz: true });
  });

  await knex.schema.alterTable('nlu_models', (t) => {
    t.integer('version');
    /** candidate (kept, not in use) | active | retired (was active before) | failed (training error) */
    t.text('status').notNullable().defaultTo('candidate');
    t.jsonb('gate');
    t.boolean('forced').notNullable().defaultTo(false);
    t.integer('corpus_examples');
    t.integer('reviewed_examples');
    t.integer('dictionary_version');
    t.text('trained_by');
    t.text('activated_by');
    t.timestamp('activated_at', { useTz: true });
    t.text('error');
    t.unique(['version']);
  });

  await knex.schema.createTable('review_items', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('conversation_id').references('conversations.id').onDelete('CASCADE');
    t.bigInteger('message_id').references('messages.id').onDelete('SET NULL');
    t.text('channel').notNullable();
    t.bigInteger('debtor_id').references('debtors.id').onDelete('SET NULL');
    t.bigInteger('agreement_id').references('agreements.id').onDelete('SET NULL');
    t.integer('portfolio_id').references('portfolios.id').onDelete('SET NULL');
    /** The debtor's words with personal data replaced (digits, e-mail addresses). */
    t.text('text_masked').notNullable();
    t.text('predicted_intent');
    t.float('confidence');
    t.text('source');
    /** Why it is here: low_confidence | openai | rules | flow_fallback | handoff (comma-separated when several). */
    t.text('reasons').notNullable();
    t.text('state');
    /** open | confirmed | corrected | not_useful */
    t.text('status').notNullable().defaultTo('open');
    t.text('reviewed_intent');
    t.text('reviewed_by');
    t.timestamp('reviewed_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.unique(['message_id']);
    t.index(['status', 'created_at']);
    t.index(['debtor_id']);
  });

  await knex.schema.createTable('ratings', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('conversation_id').notNullable().references('conversations.id').onDelete('CASCADE');
    t.text('channel').notNullable();
    t.text('user_id').notNullable();
    t.bigInteger('debtor_id').references('debtors.id').onDelete('SET NULL');
    t.bigInteger('agreement_id').references('agreements.id').onDelete('SET NULL');
    t.integer('portfolio_id').references('portfolios.id').onDelete('SET NULL');
    /** asked | rated (a comment may follow) | done | skipped */
    t.text('status').notNullable();
    t.integer('rating');
    t.text('comment');
    t.timestamp('asked_at', { useTz: true }).notNullable();
    t.timestamp('rated_at', { useTz: true });
    t.timestamp('commented_at', { useTz: true });
    t.unique(['conversation_id']);
    t.index(['channel', 'user_id', 'status']);
  });
  await knex.raw('alter table ratings add constraint ratings_rating_range check (rating is null or rating between 1 and 5)');

  await knex.schema.createTable('semantic_dictionary', (t) => {
    t.increments('id').primary();
    /** The word or expression as debtors write it ("luca", "xq", "de una"). */
    t.text('term').notNullable();
    t.text('canonical').notNullable();
    /** jerga | regionalismo | error_ortografico | abreviatura | otro */
    t.text('category').notNullable();
    t.jsonb('synonyms').notNullable().defaultTo('[]');
    t.jsonb('examples').notNullable().defaultTo('[]');
    t.boolean('active').notNullable().defaultTo(true);
    t.integer('version').notNullable();
    t.text('updated_by');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
  });
  await knex.raw('create unique index semantic_dictionary_term on semantic_dictionary (lower(term))');
  await knex.schema.createTable('semantic_dictionary_versions', (t) => {
    t.increments('version').primary();
    t.integer('entry_id');
    /** create | update | delete */
    t.text('change').notNullable();
    t.jsonb('before');
    t.jsonb('after');
    t.text('changed_by');
    t.timestamp('changed_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('fine_tuning_jobs', (t) => {
    t.increments('id').primary();
    t.text('openai_job_id').unique();
    /** preparing | validating_files | queued | running | succeeded | failed | cancelled */
    t.text('status').notNullable();
    t.text('base_model').notNullable();
    t.text('resulting_model');
    t.text('training_file');
    t.integer('conversations_used').notNullable().defaultTo(0);
    t.integer('examples').notNullable().defaultTo(0);
    /** 0–100, from the job's trained steps when OpenAI reports them. */
    t.float('progress').notNullable().defaultTo(0);
    t.text('error');
    t.integer('epochs');
    t.float('learning_rate_multiplier');
    t.jsonb('filters');
    t.jsonb('report');
    t.text('created_by');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.timestamp('finished_at', { useTz: true });
    t.index(['status']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['fine_tuning_jobs', 'semantic_dictionary_versions', 'semantic_dictionary', 'ratings', 'review_items', 'learning_state']) {
    await knex.schema.dropTableIfExists(table);
  }
  await knex.schema.alterTable('nlu_models', (t) => {
    t.dropUnique(['version']);
    for (const c of ['version', 'status', 'gate', 'forced', 'corpus_examples', 'reviewed_examples', 'dictionary_version', 'trained_by', 'activated_by', 'activated_at', 'error']) t.dropColumn(c);
  });
}
