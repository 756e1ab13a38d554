import type { Knex } from 'knex';

/**
 * Domain time comes from the service's one clock, never from the database server's:
 * an external PostgreSQL whose clock drifts from the app server's would otherwise stamp
 * rows the outbox and the scheduler compare with their own "now" (an agent's reply
 * could wait for a later worker pass). This drops every `default now()` on a timestamp
 * column of ours, so an insert that forgets its time fails loudly instead of taking the
 * server's. Later migrations add no such defaults.
 */
const COLUMNS_WITH_NOW = `
  select c.table_name, c.column_name
    from information_schema.columns c
   where c.table_schema = current_schema()
     and c.table_name not like 'knex_migrations%'
     and c.data_type like 'timestamp%'
     and (c.column_default ilike '%now()%' or c.column_default ilike '%current_timestamp%')
   order by c.table_name, c.column_name`;

export async function up(knex: Knex): Promise<void> {
  const { rows } = (await knex.raw(COLUMNS_WITH_NOW)) as { rows: { table_name: string; column_name: string }[] };
  for (const r of rows) await knex.raw('alter table ?? alter column ?? drop default', [r.table_name, r.column_name]);
}

export async function down(): Promise<void> {
  // The defaults are not restored: nothing of ours relies on them.
}
