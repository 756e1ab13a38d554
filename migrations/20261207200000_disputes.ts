import type { Knex } from 'knex';

/**
 * A debtor who does not recognize a debt ("no debo eso") opens a dispute: a person
 * answers it by `due_date` (15 business days), and until then no campaign or reminder
 * about that debt goes out (the compliance guard blocks them: disputa_abierta).
 * Every timestamp comes from the service's clock; no column defaults to now().
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('disputes', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('debtor_id').notNullable().references('debtors.id').onDelete('CASCADE');
    t.uuid('conversation_id').references('conversations.id').onDelete('SET NULL');
    t.text('channel');
    t.text('message');
    t.text('status').notNullable();
    t.date('due_date').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('resolved_at', { useTz: true });
  });
  await knex.raw(`alter table disputes add constraint disputes_status_check check (status in ('abierta','resuelta'))`);
  await knex.raw(`create index disputes_open_by_debtor on disputes (debtor_id) where status = 'abierta'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('disputes');
}
