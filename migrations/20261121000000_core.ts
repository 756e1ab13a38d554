import type { Knex } from 'knex';

/**
 * The core schema: portfolios and debtors (the seed system's spreadsheet columns),
 * conversations and their messages, agreements, the outbox, the AI audit, the
 * compliance tables, settings and trained NLU models.
 *
 * Money is COP in whole pesos (bigint). Timestamps are timestamptz.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('portfolios', (t) => {
    t.increments('id').primary();
    t.text('name').notNullable().unique();
    t.jsonb('policy').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('debtors', (t) => {
    t.bigIncrements('id').primary();
    t.integer('portfolio_id').notNullable().references('portfolios.id').onDelete('CASCADE');
    t.text('cedula').notNullable();
    t.text('nombre_del_cliente').notNullable();
    t.bigInteger('saldo_total').notNullable();
    t.text('banco').notNullable();
    t.bigInteger('oferta_1');
    t.bigInteger('oferta_2');
    t.bigInteger('hasta_3_cuotas');
    t.bigInteger('hasta_6_cuotas');
    t.bigInteger('hasta_12_cuotas');
    t.text('phone');
    t.text('tier').notNullable().defaultTo('default');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['portfolio_id', 'cedula']);
    t.index(['cedula'], 'debtors_cedula_idx');
    t.index(['phone'], 'debtors_phone_idx');
  });
  await knex.raw(`alter table debtors add constraint debtors_tier_check check (tier in ('default','premium','vip'))`);
  await knex.raw(`alter table debtors add constraint debtors_cedula_digits check (cedula ~ '^[0-9]{6,10}$')`);
  await knex.raw(`alter table debtors add constraint debtors_saldo_nonneg check (saldo_total >= 0)`);

  await knex.schema.createTable('conversations', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('channel').notNullable();
    t.text('user_id').notNullable();
    t.bigInteger('debtor_id').references('debtors.id').onDelete('SET NULL');
    t.integer('portfolio_id').references('portfolios.id').onDelete('SET NULL');
    t.text('flow').notNullable().defaultTo('negociacion');
    t.text('state').notNullable();
    t.jsonb('context').notNullable().defaultTo('{}');
    /** open | handoff | closed | archived */
    t.text('status').notNullable().defaultTo('open');
    t.text('tier').notNullable().defaultTo('default');
    t.integer('message_count').notNullable().defaultTo(0);
    t.text('close_reason');
    /** Channel-specific address data (chat id, Bot Framework conversation reference…). */
    t.jsonb('channel_ref');
    t.timestamp('opened_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_activity_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('warned_at', { useTz: true });
    t.timestamp('handoff_at', { useTz: true });
    t.timestamp('closed_at', { useTz: true });
    t.index(['debtor_id']);
    t.index(['status', 'last_activity_at']);
  });
  await knex.raw(
    `alter table conversations add constraint conversations_status_check check (status in ('open','handoff','closed','archived'))`,
  );
  // At most one live conversation per (channel, user): the engine's lookup and its guard.
  await knex.raw(
    `create unique index conversations_live_by_user on conversations (channel, user_id) where status in ('open','handoff')`,
  );

  await knex.schema.createTable('messages', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('conversation_id').notNullable().references('conversations.id').onDelete('CASCADE');
    /** in | out */
    t.text('direction').notNullable();
    /** debtor | bot | agent | system */
    t.text('author').notNullable();
    t.text('channel').notNullable();
    /** The transport's message id, for deduplication of inbound deliveries. */
    t.text('external_id');
    t.text('text');
    t.text('button_id');
    t.jsonb('buttons');
    t.text('media_kind');
    t.text('intent');
    t.float('confidence');
    t.text('nlu_source');
    t.jsonb('entities');
    t.text('previous_state');
    t.text('next_state');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['conversation_id', 'id']);
    t.index(['created_at']);
  });
  await knex.raw(
    `create unique index messages_dedup on messages (channel, external_id) where direction = 'in' and external_id is not null`,
  );

  await knex.schema.createTable('agreements', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('conversation_id').references('conversations.id').onDelete('SET NULL');
    t.bigInteger('debtor_id').notNullable().references('debtors.id').onDelete('CASCADE');
    t.integer('portfolio_id').notNullable().references('portfolios.id').onDelete('CASCADE');
    /** contado | cuotas */
    t.text('kind').notNullable();
    t.bigInteger('total').notNullable();
    t.integer('installments').notNullable().defaultTo(1);
    t.bigInteger('installment_amount').notNullable();
    t.date('first_due_date').notNullable();
    t.text('channel').notNullable();
    t.text('status').notNullable().defaultTo('active');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['portfolio_id', 'created_at']);
    t.index(['debtor_id']);
  });
  await knex.raw(`alter table agreements add constraint agreements_kind_check check (kind in ('contado','cuotas'))`);

  await knex.schema.createTable('outbox', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('conversation_id').references('conversations.id').onDelete('SET NULL');
    t.text('channel').notNullable();
    t.text('recipient').notNullable();
    /** reply | campaign | warning | agent | system */
    t.text('kind').notNullable().defaultTo('reply');
    /** The replies to send: [{ text, buttons? }] or a template. */
    t.jsonb('payload').notNullable();
    /** pending | sending | sent | delivered | read | failed | deferred */
    t.text('status').notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('last_error');
    /** The provider's id for the sent message (e.g. a WhatsApp wamid), for status callbacks. */
    t.text('external_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('sent_at', { useTz: true });
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['external_id']);
    t.index(['conversation_id']);
  });
  await knex.raw(
    `create index outbox_due on outbox (next_attempt_at) where status in ('pending','sending','deferred')`,
  );

  await knex.schema.createTable('llm_calls', (t) => {
    t.bigIncrements('id').primary();
    t.text('provider').notNullable().defaultTo('openai');
    t.text('model').notNullable();
    t.text('purpose').notNullable().defaultTo('intent');
    t.integer('tokens_in').notNullable().defaultTo(0);
    t.integer('tokens_out').notNullable().defaultTo(0);
    t.integer('latency_ms').notNullable();
    /** ok | error | timeout | malformed | circuit_open */
    t.text('status').notNullable();
    t.text('error');
    t.decimal('cost_usd', 12, 6).notNullable().defaultTo(0);
    t.uuid('conversation_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['created_at']);
  });

  await knex.schema.createTable('contact_log', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('debtor_id').references('debtors.id').onDelete('CASCADE');
    t.text('channel').notNullable();
    t.text('recipient').notNullable();
    /** campaign | reminder | warning */
    t.text('kind').notNullable();
    t.bigInteger('outbox_id').references('outbox.id').onDelete('SET NULL');
    t.timestamp('contacted_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['debtor_id', 'contacted_at']);
  });

  await knex.schema.createTable('opt_outs', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('debtor_id').references('debtors.id').onDelete('SET NULL');
    t.text('channel').notNullable();
    t.text('user_id').notNullable();
    /** no_contactar (revokes the channel) | borrar_datos (Ley 1581 request for a person) */
    t.text('kind').notNullable();
    t.text('message');
    /** open | done (data requests are handled by a person) */
    t.text('status').notNullable().defaultTo('open');
    t.date('due_date');
    t.uuid('conversation_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['channel', 'user_id']);
    t.index(['debtor_id']);
  });

  await knex.schema.createTable('settings', (t) => {
    t.text('key').primary();
    t.jsonb('value').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('nlu_models', (t) => {
    t.increments('id').primary();
    t.text('name').notNullable();
    t.jsonb('model').notNullable();
    t.jsonb('metrics');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['name', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'nlu_models',
    'settings',
    'opt_outs',
    'contact_log',
    'llm_calls',
    'outbox',
    'agreements',
    'messages',
    'conversations',
    'debtors',
    'portfolios',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
