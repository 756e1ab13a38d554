import type { Knex } from 'knex';

/**
 * An agreement's life, shared by the negotiation (which looks for the debtor's active
 * agreement before negotiating again) and what follows it (schedule, payments, paz y salvo).
 *
 * - agreements.status: vigente → cumplido | incumplido | cancelado | reemplazado
 *   (the Spanish words the agency's staff and exports use). 'active' rows become vigente.
 * - agreements.replaced_by: the agreement that replaced this one (status reemplazado).
 * - agreements.status_changed_at: when the status last moved (from the service's clock).
 * - At most one vigente agreement per debt: a debtor row is one obligation in one
 *   portfolio, so a partial unique index on debtor_id holds the rule in the database.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`alter table agreements alter column status drop default`);
  await knex.raw(`update agreements set status = 'vigente' where status = 'active'`);
  // Older data may hold several active agreements for one debt: keep the newest vigente.
  await knex.raw(`
    update agreements a set status = 'reemplazado'
     where a.status = 'vigente'
       and exists (select 1 from agreements b where b.debtor_id = a.debtor_id and b.status = 'vigente' and b.id > a.id)`);
  await knex.schema.alterTable('agreements', (t) => {
    t.bigInteger('replaced_by').references('agreements.id').onDelete('SET NULL');
    t.timestamp('status_changed_at', { useTz: true });
  });
  await knex.raw(`update agreements set status_changed_at = created_at`);
  await knex.raw(
    `alter table agreements add constraint agreements_status_check check (status in ('vigente','cumplido','incumplido','cancelado','reemplazado'))`,
  );
  await knex.raw(`create unique index agreements_one_vigente_per_debt on agreements (debtor_id) where status = 'vigente'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists agreements_one_vigente_per_debt');
  await knex.raw('alter table agreements drop constraint if exists agreements_status_check');
  await knex.schema.alterTable('agreements', (t) => {
    t.dropColumn('status_changed_at');
    t.dropColumn('replaced_by');
  });
  await knex.raw(`update agreements set status = 'active' where status = 'vigente'`);
  await knex.raw(`alter table agreements alter column status set default 'active'`);
}
