import type { Knex } from 'knex';

/**
 * Identity before any debt detail (Ley 2300 de 2023, art. 4).
 *
 * - debtors.fecha_expedicion, debtors.numero_obligacion: the second facts a portfolio's
 *   policy may ask after the cédula matches (import columns Fecha_expedicion and
 *   Numero_obligacion; the mobile on file is debtors.phone).
 * - identity_attempts: every answer to the second question (who, channel, how, outcome;
 *   never the answer itself). The 24-hour lockout counts its failures.
 * - third_party_contacts: someone who said they write for the debtor. No debt data.
 * - channel_contacts: a phone a channel proved for one of its users (a Telegram contact
 *   shared by its owner), so a later conversation of that user counts as verified.
 *
 * No column defaults to the database's clock: every time comes from the service's Clock.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('debtors', (t) => {
    t.date('fecha_expedicion');
    t.text('numero_obligacion');
  });

  await knex.schema.createTable('identity_attempts', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('conversation_id').references('conversations.id').onDelete('SET NULL');
    t.text('channel').notNullable();
    t.text('user_id').notNullable();
    t.bigInteger('debtor_id').references('debtors.id').onDelete('CASCADE');
    /** telefono | fecha_expedicion | obligacion | canal | contacto */
    t.text('method').notNullable();
    /** verificado | fallido | bloqueado */
    t.text('outcome').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.index(['debtor_id', 'created_at'], 'identity_attempts_debtor_idx');
    t.index(['channel', 'user_id', 'created_at'], 'identity_attempts_user_idx');
    t.index(['conversation_id'], 'identity_attempts_conversation_idx');
  });
  await knex.raw(`alter table identity_attempts add constraint identity_attempts_outcome_check check (outcome in ('verificado','fallido','bloqueado'))`);

  await knex.schema.createTable('third_party_contacts', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('conversation_id').references('conversations.id').onDelete('SET NULL');
    t.text('channel').notNullable();
    t.text('user_id').notNullable();
    /** The debtor the cédula they gave belongs to, when it matched (nothing of the debt). */
    t.bigInteger('debtor_id').references('debtors.id').onDelete('CASCADE');
    /** What they said they are: esposa, hijo, mamá… */
    t.text('relation');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.index(['debtor_id'], 'third_party_contacts_debtor_idx');
    t.index(['conversation_id'], 'third_party_contacts_conversation_idx');
  });

  await knex.schema.createTable('channel_contacts', (t) => {
    t.bigIncrements('id').primary();
    t.text('channel').notNullable();
    t.text('user_id').notNullable();
    /** 57 + 10 digits. */
    t.text('phone').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.index(['channel', 'user_id', 'created_at'], 'channel_contacts_user_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('channel_contacts');
  await knex.schema.dropTable('third_party_contacts');
  await knex.schema.dropTable('identity_attempts');
  await knex.schema.alterTable('debtors', (t) => {
    t.dropColumn('fecha_expedicion');
    t.dropColumn('numero_obligacion');
  });
}
