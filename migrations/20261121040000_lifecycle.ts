import type { Knex } from 'knex';

/**
 * Conversation lifecycle, scheduled jobs, outbound campaigns and the contact rules:
 *
 * - scheduler_runs: every run of a scheduled job (one row per job and cron tick, so
 *   N instances firing the same tick run it once), with duration and result;
 * - campaigns and campaign_targets: an outbound campaign and the debtors it reaches,
 *   one row per debtor (a debtor is never messaged twice by one campaign);
 * - contact_authorizations: a debtor's recorded express request to be contacted at
 *   other hours (Ley 2300, art. 3);
 * - daily_metrics: the 07:00 rollup per day, portfolio and channel;
 * - contact_log gains where the reservation came from (it also reserves future slots:
 *   contacted_at is when the message is due to go out).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('scheduler_runs', (t) => {
    t.bigIncrements('id').primary();
    t.text('job').notNullable();
    /** The cron tick this run belongs to; null for runs asked for by hand. */
    t.timestamp('slot', { useTz: true });
    /** schedule | manual */
    t.text('trigger').notNullable();
    /** Which process ran it (host:pid). */
    t.text('instance').notNullable();
    /** running | ok | error */
    t.text('status').notNullable();
    t.jsonb('result');
    t.text('error');
    t.timestamp('started_at', { useTz: true }).notNullable();
    t.timestamp('finished_at', { useTz: true });
    t.integer('duration_ms');
    t.index(['job', 'started_at']);
  });
  await knex.raw(`create unique index scheduler_runs_one_per_tick on scheduler_runs (job, slot) where slot is not null`);
  await knex.raw(
    `alter table scheduler_runs add constraint scheduler_runs_status_check check (status in ('running','ok','error'))`,
  );

  await knex.schema.createTable('campaigns', (t) => {
    t.increments('id').primary();
    t.integer('portfolio_id').notNullable().references('portfolios.id').onDelete('CASCADE');
    t.text('channel').notNullable();
    /** The flow message (text channels) or the approved WhatsApp template that opens the conversation. */
    t.text('template').notNullable();
    /** running (targets being queued) | queued (every target handled) | cancelled */
    t.text('status').notNullable().defaultTo('running');
    t.jsonb('options').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('queued_at', { useTz: true });
    t.timestamp('cancelled_at', { useTz: true });
  });
  await knex.raw(
    `alter table campaigns add constraint campaigns_status_check check (status in ('running','queued','cancelled'))`,
  );
  // `campaign start` on a portfolio and channel with an unfinished campaign resumes it.
  await knex.raw(`create unique index campaigns_one_running on campaigns (portfolio_id, channel) where status = 'running'`);

  await knex.schema.createTable('campaign_targets', (t) => {
    t.bigIncrements('id').primary();
    t.integer('campaign_id').notNullable().references('campaigns.id').onDelete('CASCADE');
    t.bigInteger('debtor_id').notNullable().references('debtors.id').onDelete('CASCADE');
    /** The address on the campaign's channel (phone, chat id); null when the debtor has none. */
    t.text('recipient');
    /** pending | queued | skipped */
    t.text('status').notNullable().defaultTo('pending');
    /** Why a target was skipped (sin_telefono, canal_revocado, acuerdo_vigente…). */
    t.text('reason');
    t.bigInteger('outbox_id').references('outbox.id').onDelete('SET NULL');
    t.timestamp('queued_at', { useTz: true });
    t.unique(['campaign_id', 'debtor_id']);
    t.index(['campaign_id', 'status']);
  });
  await knex.raw(
    `alter table campaign_targets add constraint campaign_targets_status_check check (status in ('pending','queued','skipped'))`,
  );

  await knex.schema.createTable('contact_authorizations', (t) => {
    t.increments('id').primary();
    t.bigInteger('debtor_id').notNullable().references('debtors.id').onDelete('CASCADE');
    /** ISO weekdays (1 = Monday … 7 = Sunday) the request covers. */
    t.specificType('days', 'smallint[]').notNullable();
    /** Local (America/Bogota) times, HH:MM; from < to. */
    t.text('from_time').notNullable();
    t.text('to_time').notNullable();
    /** Null: any channel. */
    t.text('channel');
    t.text('note');
    t.text('recorded_by');
    t.timestamp('valid_until', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('revoked_at', { useTz: true });
    t.index(['debtor_id']);
  });

  await knex.schema.createTable('daily_metrics', (t) => {
    t.date('day').notNullable();
    t.integer('portfolio_id').references('portfolios.id').onDelete('CASCADE');
    t.text('channel').notNullable();
    t.integer('conversations').notNullable();
    t.integer('identified').notNullable();
    t.integer('offered').notNullable();
    t.integer('agreements').notNullable();
    t.decimal('conversion_rate', 6, 4).notNullable();
    t.timestamp('computed_at', { useTz: true }).notNullable();
    t.index(['day']);
  });
  await knex.raw(`create unique index daily_metrics_key on daily_metrics (day, coalesce(portfolio_id, 0), channel)`);

  await knex.schema.alterTable('contact_log', (t) => {
    t.integer('campaign_id').references('campaigns.id').onDelete('SET NULL');
    t.uuid('conversation_id');
    t.index(['channel', 'recipient', 'contacted_at']);
  });
  await knex.raw(`create index opt_outs_kind_idx on opt_outs (kind, channel, user_id)`);
  await knex.raw(`create index outbox_campaign_pacing on outbox (channel, next_attempt_at) where kind = 'campaign'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists outbox_campaign_pacing');
  await knex.raw('drop index if exists opt_outs_kind_idx');
  await knex.schema.alterTable('contact_log', (t) => {
    t.dropIndex(['channel', 'recipient', 'contacted_at']);
    t.dropColumn('conversation_id');
    t.dropColumn('campaign_id');
  });
  for (const table of ['daily_metrics', 'contact_authorizations', 'campaign_targets', 'campaigns', 'scheduler_runs']) {
    await knex.schema.dropTableIfExists(table);
  }
}
