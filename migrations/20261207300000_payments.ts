import type { Knex } from 'knex';

/**
 * What follows an agreement (src/agreements): its schedule, the payments that settle it,
 * the reminders and follow-ups sent about it, and the paz y salvo once it is paid.
 *
 * - agreement_installments: one row per cuota; amounts sum to the agreement's total to
 *   the peso; due dates are Colombian business days. status pendiente | parcial |
 *   pagada | vencida (vencida: past its due date and not fully paid).
 * - payments: every peso received, from the gateway (Mercado Pago) or the bank's file;
 *   `idempotency_key` makes a redelivered notification or a re-imported file a no-op.
 *   A payment that matches no agreement stays `unmatched` for a person to place;
 *   `unapplied` is what is left after the last installment (an overpayment).
 * - payment_allocations: which installment each payment's pesos went to.
 * - payment_links: the gateway checkout (preference) per installment, reused while the
 *   amount due is the same.
 * - agreement_notices: one row per reminder / follow-up per installment (what was sent,
 *   or deferred, through the compliance guard), so a job run twice never repeats one.
 * - paz_y_salvo: the certificate of a fully paid agreement and its verification code.
 * Every timestamp comes from the service's clock; no column defaults to now().
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('agreement_installments', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('agreement_id').notNullable().references('agreements.id').onDelete('CASCADE');
    t.integer('number').notNullable();
    t.date('due_date').notNullable();
    t.bigInteger('amount').notNullable();
    t.bigInteger('paid_amount').notNullable().defaultTo(0);
    t.text('status').notNullable().defaultTo('pendiente');
    t.timestamp('paid_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.unique(['agreement_id', 'number']);
    t.index(['status', 'due_date']);
  });
  await knex.raw(
    `alter table agreement_installments add constraint agreement_installments_status_check check (status in ('pendiente','parcial','pagada','vencida'))`,
  );
  await knex.raw(`alter table agreement_installments add constraint agreement_installments_amounts_check check (amount > 0 and paid_amount >= 0 and paid_amount <= amount)`);

  await knex.schema.alterTable('agreements', (t) => {
    /** When the broken-promise follow-up went out (or was queued) for the current arrears. */
    t.timestamp('followed_up_at', { useTz: true });
  });

  await knex.schema.createTable('payment_imports', (t) => {
    t.bigIncrements('id').primary();
    t.text('file_name').notNullable();
    t.text('sha256').notNullable();
    t.integer('rows').notNullable();
    t.integer('applied').notNullable();
    t.integer('unmatched').notNullable();
    t.integer('duplicates').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('payments', (t) => {
    t.bigIncrements('id').primary();
    /** gateway | bank_file */
    t.text('source').notNullable();
    /** mercadopago, the bank file's Medio, … */
    t.text('provider');
    t.text('external_id');
    t.text('idempotency_key').notNullable().unique();
    t.bigInteger('agreement_id').references('agreements.id').onDelete('SET NULL');
    t.bigInteger('debtor_id').references('debtors.id').onDelete('SET NULL');
    t.text('cedula');
    t.text('reference');
    t.bigInteger('amount').notNullable();
    /** Pesos left after the agreement's last installment (overpayment), kept for a person. */
    t.bigInteger('unapplied').notNullable().defaultTo(0);
    t.date('paid_on').notNullable();
    t.text('method');
    /** applied | unmatched */
    t.text('status').notNullable();
    t.bigInteger('import_id').references('payment_imports.id').onDelete('SET NULL');
    t.integer('line');
    t.jsonb('details').notNullable().defaultTo('{}');
    t.timestamp('received_at', { useTz: true }).notNullable();
    t.index(['agreement_id']);
    t.index(['status', 'received_at']);
  });
  await knex.raw(`alter table payments add constraint payments_status_check check (status in ('applied','unmatched'))`);
  await knex.raw(`alter table payments add constraint payments_amount_check check (amount > 0 and unapplied >= 0)`);

  await knex.schema.createTable('payment_allocations', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('payment_id').notNullable().references('payments.id').onDelete('CASCADE');
    t.bigInteger('installment_id').notNullable().references('agreement_installments.id').onDelete('CASCADE');
    t.bigInteger('amount').notNullable();
    t.index(['installment_id']);
    t.index(['payment_id']);
  });

  await knex.schema.createTable('payment_links', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('installment_id').notNullable().references('agreement_installments.id').onDelete('CASCADE');
    t.text('provider').notNullable();
    t.text('preference_id').notNullable();
    t.text('url').notNullable();
    t.bigInteger('amount').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.index(['installment_id']);
  });

  await knex.schema.createTable('agreement_notices', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('agreement_id').notNullable().references('agreements.id').onDelete('CASCADE');
    t.bigInteger('installment_id').references('agreement_installments.id').onDelete('CASCADE');
    /** recordatorio_previo | recordatorio_vencimiento | seguimiento | paz_y_salvo */
    t.text('kind').notNullable();
    t.bigInteger('outbox_id').references('outbox.id').onDelete('SET NULL');
    /** queued | deferred | blocked | cancelled */
    t.text('status').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.unique(['installment_id', 'kind']);
    t.index(['agreement_id']);
  });

  await knex.schema.createTable('paz_y_salvo', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('agreement_id').notNullable().unique().references('agreements.id').onDelete('CASCADE');
    t.text('code').notNullable().unique();
    t.text('holder_name').notNullable();
    t.text('cedula_masked').notNullable();
    t.bigInteger('total_paid').notNullable();
    t.timestamp('issued_at', { useTz: true }).notNullable();
    t.timestamp('revoked_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('paz_y_salvo');
  await knex.schema.dropTableIfExists('agreement_notices');
  await knex.schema.dropTableIfExists('payment_links');
  await knex.schema.dropTableIfExists('payment_allocations');
  await knex.schema.dropTableIfExists('payments');
  await knex.schema.dropTableIfExists('payment_imports');
  await knex.schema.alterTable('agreements', (t) => {
    t.dropColumn('followed_up_at');
  });
  await knex.schema.dropTableIfExists('agreement_installments');
}
