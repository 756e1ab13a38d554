import type { Knex } from 'knex';

/**
 * What the conversation engine adds to the core schema:
 * - conversations.fallback_count: misunderstandings in a row in the current state;
 * - agreements.reference: the code the debtor quotes when paying or calling;
 * - conversation_events: facts for a person to review (disputes, handoffs…);
 * - an index for the outbox's per-recipient ordering;
 * - conversations.version, bumped by a trigger on every update by anyone, so that the
 *   engine's cached copy of a conversation is known stale after any other writer
 *   (an agent, the scheduler, another process) touched the row.
 *
 * conversations.handoff_reason, which the engine fills, comes with 20261121050000_ops.ts.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('conversations', (t) => {
    t.integer('fallback_count').notNullable().defaultTo(0);
    t.bigInteger('version').notNullable().defaultTo(0);
  });
  await knex.raw(`
    create function conversations_bump_version() returns trigger language plpgsql as $$
    begin
      new.version := old.version + 1;
      return new;
    end $$`);
  await knex.raw(`create trigger conversations_version before update on conversations for each row execute function conversations_bump_version()`);
  await knex.schema.alterTable('agreements', (t) => {
    t.text('reference').unique();
  });
  await knex.schema.createTable('conversation_events', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('conversation_id').references('conversations.id').onDelete('CASCADE');
    t.bigInteger('debtor_id').references('debtors.id').onDelete('SET NULL');
    /** disputa | handoff | … */
    t.text('kind').notNullable();
    t.jsonb('details').notNullable().defaultTo('{}');
    /** open | done: disputes are reviewed by a person */
    t.text('status').notNullable().defaultTo('open');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['kind', 'status', 'created_at']);
    t.index(['conversation_id']);
  });
  // A reply waits for earlier unsent replies to the same recipient (messages stay in order).
  await knex.raw(
    `create index outbox_unsent_by_recipient on outbox (channel, recipient, id) where status in ('pending','sending','deferred')`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists outbox_unsent_by_recipient');
  await knex.schema.dropTableIfExists('conversation_events');
  await knex.schema.alterTable('agreements', (t) => {
    t.dropColumn('reference');
  });
  await knex.raw('drop trigger if exists conversations_version on conversations');
  await knex.raw('drop function if exists conversations_bump_version()');
  await knex.schema.alterTable('conversations', (t) => {
    t.dropColumn('fallback_count');
    t.dropColumn('version');
  });
}
