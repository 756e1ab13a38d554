import type { Knex } from 'knex';

/**
 * settings.revision: a counter each update of a row raises, so every instance tells
 * whether the stored settings changed since it read them. (updated_at did this job, from
 * the database's clock; it is now the service's clock's reading, which two instances
 * may share to the millisecond, so it only says when, not which came first.)
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('settings', (t) => {
    t.bigInteger('revision').notNullable().defaultTo(1);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('settings', (t) => {
    t.dropColumn('revision');
  });
}
