import type { Knex } from 'knex';

/**
 * Every turn updates its conversation row (state, context, counters, last_activity_at).
 * PostgreSQL can do that as a heap-only (HOT) update — no new entry in any index, the
 * old version pruned in place — only when no indexed column changes and the page has
 * room. Two changes make the ordinary turn's update HOT:
 *
 * - last_activity_at is no longer indexed. The index (status, last_activity_at) served
 *   the silence sweep, which now walks the open conversations by id through a partial
 *   index whose columns a turn never changes (status changes only when a conversation
 *   opens, hands off or closes); the dashboard's list counts its matches anyway.
 * - fillfactor 70 leaves room on each page for the row's next version. It applies to
 *   pages written from now on; `VACUUM FULL conversations` rewrites an existing table.
 *
 * Measured with `npm run bench` (docs/scaling.md).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists conversations_status_last_activity_at_index');
  await knex.raw(`create index conversations_open_by_id on conversations (id) where status = 'open'`);
  await knex.raw('alter table conversations set (fillfactor = 70)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table conversations reset (fillfactor)');
  await knex.raw('drop index if exists conversations_open_by_id');
  await knex.raw('create index conversations_status_last_activity_at_index on conversations (status, last_activity_at)');
}
