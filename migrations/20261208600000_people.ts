import type { Knex } from 'knex';

/**
 * People in the back office:
 * - agencies: the tenants; agency 1 is the default one every existing row belongs to
 *   (its name null: the service shows AGENCY_NAME). reply_signature, when set, signs an
 *   agent's replies ("Le escribe {nombre}, {cargo} de {agencia}.");
 * - users: named people with a role (admin, supervisor, agent), a bcrypt password hash,
 *   the failed-login count and the lockout's end; e-mail unique across agencies (login
 *   asks only for it);
 * - user_portfolios: the portfolios an agent works on (none: every portfolio of the agency);
 * - user_sessions: dashboard sessions, the cookie's SHA-256 and the CSRF token;
 * - api_tokens: per-user tokens for scripts, stored as SHA-256, revocable;
 * - audit_log: who did what, when and from where. Append-only: a trigger refuses every
 *   UPDATE, DELETE and TRUNCATE, whoever runs them.
 * No time has a database default: the service writes its clock's reading.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('agencies', (t) => {
    t.bigIncrements('id').primary();
    t.text('slug').notNullable().unique();
    t.text('name');
    t.text('reply_signature');
    t.timestamp('created_at', { useTz: true });
    t.timestamp('updated_at', { useTz: true });
  });
  await knex('agencies').insert({ id: 1, slug: 'default', name: null });
  await knex.raw(`select setval(pg_get_serial_sequence('agencies', 'id'), 1)`);

  await knex.schema.createTable('users', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('agency_id').notNullable().references('agencies.id');
    t.text('email').notNullable();
    t.text('name').notNullable();
    t.text('role').notNullable();
    t.text('job_title');
    t.text('password_hash');
    t.integer('failed_logins').notNullable().defaultTo(0);
    t.timestamp('locked_until', { useTz: true });
    t.timestamp('last_login_at', { useTz: true });
    t.timestamp('disabled_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
  });
  await knex.raw(`alter table users add constraint users_role_check check (role in ('admin', 'supervisor', 'agent'))`);
  await knex.raw(`create unique index users_email_unique on users (lower(email))`);
  await knex.raw(`create index users_agency on users (agency_id)`);

  await knex.schema.createTable('user_portfolios', (t) => {
    t.bigInteger('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.integer('portfolio_id').notNullable().references('portfolios.id').onDelete('CASCADE');
    t.bigInteger('agency_id').notNullable().references('agencies.id');
    t.primary(['user_id', 'portfolio_id']);
  });

  await knex.schema.createTable('user_sessions', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.bigInteger('agency_id').notNullable().references('agencies.id');
    t.text('token_hash').notNullable().unique();
    t.text('csrf_token').notNullable();
    t.text('ip');
    t.text('user_agent');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('last_seen_at', { useTz: true }).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('revoked_at', { useTz: true });
  });

  await knex.schema.createTable('api_tokens', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.bigInteger('agency_id').notNullable().references('agencies.id');
    t.text('name').notNullable();
    t.text('token_hash').notNullable().unique();
    /** The token's first characters, to tell tokens apart in a list. */
    t.text('prefix').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
  });

  await knex.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('agency_id').notNullable().references('agencies.id');
    t.timestamp('at', { useTz: true }).notNullable();
    t.bigInteger('actor_user_id');
    t.text('actor').notNullable();
    t.text('actor_role');
    t.text('via').notNullable();
    t.text('action').notNullable();
    t.text('target');
    t.jsonb('details').notNullable().defaultTo('{}');
    t.text('ip');
    t.text('user_agent');
  });
  await knex.raw(`create index audit_log_agency_at on audit_log (agency_id, at desc)`);
  await knex.raw(`
    create function acuerdo_audit_log_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_log is append-only: % is not allowed', tg_op using errcode = 'insufficient_privilege';
    end $$`);
  await knex.raw(`create trigger audit_log_no_update before update or delete on audit_log for each row execute function acuerdo_audit_log_append_only()`);
  await knex.raw(`create trigger audit_log_no_truncate before truncate on audit_log for each statement execute function acuerdo_audit_log_append_only()`);
  await knex.raw(`revoke update, delete, truncate on audit_log from public`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_log');
  await knex.raw('drop function if exists acuerdo_audit_log_append_only()');
  await knex.schema.dropTable('api_tokens');
  await knex.schema.dropTable('user_sessions');
  await knex.schema.dropTable('user_portfolios');
  await knex.schema.dropTable('users');
  await knex.schema.dropTable('agencies');
}
