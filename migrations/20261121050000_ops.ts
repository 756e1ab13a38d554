import type { Knex } from 'knex';

/**
 * Operations: who holds a handed-off conversation and why it was handed off, the
 * alerts log, and per-minute turn statistics (response time, errors, NLU source)
 * that every instance adds its counts to, so metrics and alerts see the whole fleet.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('conversations', (t) => {
    /** solicitar_asesor | fallback_limit | message_limit | disputa | … (what the engine said). */
    t.text('handoff_reason');
    /** The agent who took the conversation from the queue. */
    t.text('assigned_to');
    t.timestamp('assigned_at', { useTz: true });
  });
  await knex.raw(`create index conversations_handoff_queue on conversations (handoff_at) where status = 'handoff'`);

  await knex.schema.createTable('alerts', (t) => {
    t.bigIncrements('id').primary();
    /** response_time | error_rate | low_confidence | openai_failures */
    t.text('kind').notNullable();
    /** warning | critical */
    t.text('severity').notNullable().defaultTo('warning');
    t.text('message').notNullable();
    t.float('value').notNullable();
    t.float('threshold').notNullable();
    t.jsonb('details').notNullable().defaultTo('{}');
    t.timestamp('raised_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('resolved_at', { useTz: true });
    t.index(['raised_at']);
  });
  // One open alert per kind: a condition that lasts updates its row instead of adding rows.
  await knex.raw(`create unique index alerts_open_kind on alerts (kind) where resolved_at is null`);

  await knex.schema.createTable('turn_stats', (t) => {
    /** The start of the minute the turns ended in. */
    t.timestamp('minute', { useTz: true }).notNullable();
    t.text('channel').notNullable();
    /** The NLU layer that decided (cedula | model | openai | rules), or 'none' (media, buttons, errors). */
    t.text('source').notNullable();
    t.integer('turns').notNullable().defaultTo(0);
    t.integer('errors').notNullable().defaultTo(0);
    /** Turns whose NLU confidence was under the threshold in force at the time. */
    t.integer('low_confidence').notNullable().defaultTo(0);
    t.bigInteger('latency_ms_sum').notNullable().defaultTo(0);
    t.integer('latency_ms_max').notNullable().defaultTo(0);
    t.primary(['minute', 'channel', 'source']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('turn_stats');
  await knex.schema.dropTableIfExists('alerts');
  await knex.raw('drop index if exists conversations_handoff_queue');
  await knex.schema.alterTable('conversations', (t) => {
    t.dropColumn('assigned_at');
    t.dropColumn('assigned_to');
    t.dropColumn('handoff_reason');
  });
}
