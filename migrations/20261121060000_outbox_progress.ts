import type { Knex } from 'knex';

/**
 * Durable send progress for multi-message outbox rows.
 *
 * - outbox.sent_count: how many of the row's payload replies the channel has delivered.
 *   A retry sends only payload[sent_count:], so a row that failed at reply k never
 *   repeats replies 0..k-1, whichever process retries it.
 * - outbox_messages: one row per message the channel reported an id for, in send
 *   order, with that message's own delivery status. Status callbacks find their
 *   outbox row by any of its messages (not just the last), and the row's status is
 *   derived from its messages: failed if any failed, else its last message's status.
 *
 * A table rather than an external_ids text[] column: each message needs its own
 * status that only moves forward, and a row's status depends on all of them; with
 * parallel arrays every callback would rewrite the row's arrays, and the lookup by
 * id is a plain btree here. outbox.external_id stays (the last message's id).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbox', (t) => {
    t.integer('sent_count').notNullable().defaultTo(0);
  });

  await knex.schema.createTable('outbox_messages', (t) => {
    t.bigInteger('outbox_id').notNullable().references('outbox.id').onDelete('CASCADE');
    /** 0-based order of the message within its outbox row, across attempts. */
    t.integer('position').notNullable();
    /** The provider's message id (a WhatsApp wamid, a Telegram message_id…). */
    t.text('external_id').notNullable();
    /** sent | delivered | read | failed — only moves forward (failed never undoes a delivery). */
    t.text('status').notNullable().defaultTo('sent');
    t.text('error');
    t.timestamp('status_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['outbox_id', 'position']);
    t.index(['external_id']);
  });

  // Rows sent before this migration: their one known id is their last message.
  await knex.raw(
    `insert into outbox_messages (outbox_id, position, external_id, status, status_at)
     select id, 0, external_id, case when status in ('delivered', 'read', 'failed') then status else 'sent' end, updated_at
       from outbox where external_id is not null`,
  );
  await knex.raw(
    `update outbox set sent_count = jsonb_array_length(payload)
      where jsonb_typeof(payload) = 'array' and (status in ('sent', 'delivered', 'read') or external_id is not null)`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('outbox_messages');
  await knex.schema.alterTable('outbox', (t) => {
    t.dropColumn('sent_count');
  });
}
