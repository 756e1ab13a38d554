import type { Knex } from 'knex';

/**
 * messages is append-only and written in time order (created_at is the turn's time), and
 * every turn adds several rows. A B-tree on created_at cost every one of them an index
 * insert for the few queries that read messages by time range (the dashboard's reports);
 * a BRIN index keeps one summary per block range, answers those range scans, and costs
 * an insert almost nothing. Lookups by conversation keep their own B-tree.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists messages_created_at_index');
  await knex.raw('create index messages_created_at_brin on messages using brin (created_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists messages_created_at_brin');
  await knex.raw('create index messages_created_at_index on messages (created_at)');
}
