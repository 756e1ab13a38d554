import type { Knex } from 'knex';

/**
 * Agencies own their data, and PostgreSQL enforces it (row-level security).
 *
 * Runs after every other migration of its day so it covers every table they created:
 * each table of the schema that is not global (below) gets `agency_id` (existing rows:
 * the default agency, 1; new rows: the connection's agency) and the policy
 * agency_isolation: a row is seen, changed and written only when its agency_id is the
 * connection's `acuerdo.agency_id`. A connection without the setting sees nothing.
 * FORCE ROW LEVEL SECURITY holds the tables' owner to it too; superusers are never held,
 * so the role acuerdo_app (no login, not an owner) is created when the migrating role
 * may create roles, and agency connections of a superuser switch to it (src/store/agency.ts).
 *
 * Global, not per agency: the migrations' own tables, agencies, runtime settings and
 * secrets, scheduler runs, metrics and alerts, the NLU models and dictionary, and the
 * sign-in directory (users, user_sessions, api_tokens, user_portfolios: they carry
 * agency_id and the admin API filters them by it, but sign-in must find a user before
 * their agency is known).
 */
const GLOBAL_TABLES = [
  'knex_migrations',
  'knex_migrations_lock',
  'agencies',
  'settings',
  'scheduler_runs',
  'turn_stats',
  'daily_metrics',
  'alerts',
  'llm_calls',
  'nlu_models',
  'learning_state',
  'semantic_dictionary',
  'semantic_dictionary_versions',
  'fine_tuning_jobs',
  'users',
  'user_sessions',
  'api_tokens',
  'user_portfolios',
];

const APP_ROLE = 'acuerdo_app';

async function tenantTables(knex: Knex): Promise<{ name: string; hasAgency: boolean }[]> {
  const { rows } = (await knex.raw(
    `select t.tablename as name,
            exists (select 1 from information_schema.columns c
                     where c.table_schema = t.schemaname and c.table_name = t.tablename and c.column_name = 'agency_id') as "hasAgency"
       from pg_tables t
      where t.schemaname = current_schema() and not (t.tablename = any(?))
      order by t.tablename`,
    [GLOBAL_TABLES],
  )) as { rows: { name: string; hasAgency: boolean }[] };
  return rows;
}

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create function acuerdo_current_agency() returns bigint language sql stable as $$
      select nullif(current_setting('acuerdo.agency_id', true), '')::bigint
    $$`);
  await knex.schema.alterTable('agencies', (t) => {
    t.jsonb('channel_addresses').notNullable().defaultTo('[]');
  });
  await knex.raw(`comment on column agencies.channel_addresses is 'Where inbound messages reach this agency: [{"channel": "telegram", "address": "<bot username or receiving number>"}]'`);

  for (const { name, hasAgency } of await tenantTables(knex)) {
    if (hasAgency) {
      await knex.raw(`alter table ?? alter column agency_id set default coalesce(acuerdo_current_agency(), 1)`, [name]);
    } else {
      // Existing rows take the default: the default agency.
      await knex.raw(`alter table ?? add column agency_id bigint not null default coalesce(acuerdo_current_agency(), 1) references agencies (id)`, [name]);
    }
    await knex.raw(`alter table ?? enable row level security`, [name]);
    await knex.raw(`alter table ?? force row level security`, [name]);
    await knex.raw(
      `create policy agency_isolation on ?? using (agency_id = acuerdo_current_agency()) with check (agency_id = acuerdo_current_agency())`,
      [name],
    );
  }
  await knex.raw(`create index portfolios_agency on portfolios (agency_id)`);

  // The application role that row security holds, where we may create it.
  const { rows } = (await knex.raw(
    `select r.rolsuper or r.rolcreaterole as can_create, exists (select 1 from pg_roles where rolname = ?) as exists_
       from pg_roles r where r.rolname = current_user`,
    [APP_ROLE],
  )) as { rows: { can_create: boolean; exists_: boolean }[] };
  const { can_create: canCreate, exists_: exists } = rows[0]!;
  if (!exists && canCreate) {
    // Roles belong to the whole server: another database may have created it meanwhile.
    await knex.raw(`do $$ begin create role ${APP_ROLE} nologin; exception when duplicate_object then null; end $$`);
  }
  if (exists || canCreate) {
    await knex.raw(`grant usage on schema ${'public'} to ${APP_ROLE}`);
    await knex.raw(`grant select, insert, update, delete on all tables in schema public to ${APP_ROLE}`);
    await knex.raw(`revoke update, delete on audit_log from ${APP_ROLE}`);
    await knex.raw(`grant usage, select, update on all sequences in schema public to ${APP_ROLE}`);
    await knex.raw(`alter default privileges in schema public grant select, insert, update, delete on tables to ${APP_ROLE}`);
    await knex.raw(`alter default privileges in schema public grant usage, select, update on sequences to ${APP_ROLE}`);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const { name, hasAgency } of await tenantTables(knex)) {
    if (!hasAgency) continue;
    await knex.raw(`drop policy if exists agency_isolation on ??`, [name]);
    await knex.raw(`alter table ?? no force row level security`, [name]);
    await knex.raw(`alter table ?? disable row level security`, [name]);
    if (name === 'audit_log') await knex.raw(`alter table audit_log alter column agency_id drop default`);
    else await knex.raw(`alter table ?? drop column agency_id`, [name]);
  }
  await knex.schema.alterTable('agencies', (t) => {
    t.dropColumn('channel_addresses');
  });
  await knex.raw('drop function if exists acuerdo_current_agency()');
  const { rows } = (await knex.raw(`select 1 from pg_roles where rolname = ?`, [APP_ROLE])) as { rows: unknown[] };
  if (rows.length) {
    await knex.raw(`alter default privileges in schema public revoke all on tables from ${APP_ROLE}`);
    await knex.raw(`alter default privileges in schema public revoke all on sequences from ${APP_ROLE}`);
    await knex.raw(`revoke all on all tables in schema public from ${APP_ROLE}`);
    await knex.raw(`revoke all on all sequences in schema public from ${APP_ROLE}`);
    await knex.raw(`revoke usage on schema public from ${APP_ROLE}`);
  }
}
