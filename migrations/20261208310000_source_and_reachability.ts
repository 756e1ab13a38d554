import type { Knex } from 'knex';

/**
 * conversations.source: where the conversation came from, for campaign attribution — the
 * payload of a Telegram deep link (t.me/<bot>?start=<payload>) that opened it. The engine
 * keeps it in the conversation's context under `_source` (never shown to the debtor); this
 * generated column makes it a plain column for the dashboard and the metrics, so no
 * writer has to know about it.
 *
 * channel_reachability: channel users who cannot be written to now (a Telegram user who
 * blocked the bot). The outbox cancels messages to them; the row goes away when the
 * platform says they can be reached again (they unblocked the bot).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`alter table conversations add column source text generated always as (context->>'_source') stored`);
  await knex.raw(`create index conversations_source on conversations (source) where source is not null`);
  await knex.schema.createTable('channel_reachability', (t) => {
    t.text('channel').notNullable();
    t.text('user_id').notNullable();
    /** blocked (the user blocked the bot) */
    t.text('reason').notNullable();
    /** The platform's time for the change. */
    t.timestamp('since', { useTz: true }).notNullable();
    t.primary(['channel', 'user_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('channel_reachability');
  await knex.raw(`alter table conversations drop column source`);
}
