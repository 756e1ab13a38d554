/**
 * Agencies (tenants) and PostgreSQL row-level security. Tenant-owned tables carry
 * agency_id and a policy that shows and accepts only the rows of the agency named by
 * the connection's setting `acuerdo.agency_id` (migration 20261208900000_agencies): a
 * connection without it sees nothing.
 *
 * Every connection sets its agency when it is created, so no query can forget it:
 * - the base pool (the service's own work: the turn path, the outbox, the scheduler,
 *   migrations) is the default agency's;
 * - inside `runInAgency(id, fn)` (an admin request, once the person is known) every query
 *   of the same knex goes to that agency's own pool. Its connections also drop to the
 *   non-owner role acuerdo_app when the login role would bypass row security (a superuser,
 *   as with the embedded server); a table owner (CI's `acuerdo`) is held by FORCE ROW
 *   LEVEL SECURITY. Where neither holds, the agency pool refuses to connect.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Knex } from 'knex';

export const AGENCY_SETTING = 'acuerdo.agency_id';
/** The role an agency pool runs as when the login role bypasses row security. */
export const APP_ROLE = 'acuerdo_app';
export const DEFAULT_AGENCY_ID = 1;

const agencyContext = new AsyncLocalStorage<number>();

/** Runs `fn` (and everything it awaits) with the database as agency `agencyId` sees it. */
export function runInAgency<T>(agencyId: number, fn: () => T): T {
  return agencyContext.run(agencyId, fn);
}

/** The agency of the running context; undefined outside runInAgency. */
export function currentAgency(): number | undefined {
  return agencyContext.getStore();
}

interface PgConnection {
  query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/**
 * Prepares a new connection: sets its agency and, for an agency pool (`enforce`), makes
 * sure row security applies to it (switching to acuerdo_app when needed, or failing).
 */
export async function prepareConnection(conn: PgConnection, agencyId: number, enforce: boolean): Promise<void> {
  await conn.query('select set_config($1, $2, false)', [AGENCY_SETTING, String(agencyId)]);
  if (!enforce) return;
  const { rows } = await conn.query(
    `select r.rolsuper or r.rolbypassrls as bypasses, exists (select 1 from pg_roles where rolname = $1) as has_app_role
       from pg_roles r where r.rolname = current_user`,
    [APP_ROLE],
  );
  const row = rows[0] ?? {};
  if (!row.bypasses) return;
  if (!row.has_app_role) {
    throw new Error(`row-level security cannot hold for this login role: it bypasses it and the role ${APP_ROLE} does not exist (run the migrations as a role that can create roles, or connect as a non-superuser)`);
  }
  await conn.query(`set role ${APP_ROLE}`);
}

/**
 * A knex that sends each query to the pool of the running context's agency: the base
 * pool outside runInAgency, that agency's pool (made by `poolFor` on first use) inside.
 * destroy() closes every pool.
 */
export function withAgencyPools(base: Knex, poolFor: (agencyId: number) => Knex): Knex {
  const pools = new Map<number, Knex>();
  const target = (): Knex => {
    const agency = currentAgency();
    if (agency === undefined) return base;
    let pool = pools.get(agency);
    if (!pool) {
      pool = poolFor(agency);
      pools.set(agency, pool);
    }
    return pool;
  };
  const destroy = async (callback?: (err?: unknown) => void) => {
    try {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((p) => p.destroy()));
      await base.destroy();
      callback?.();
    } catch (err) {
      if (callback) callback(err);
      else throw err;
    }
  };
  return new Proxy(base, {
    apply: (_t, _this, args: unknown[]) => (target() as unknown as (...a: unknown[]) => unknown)(...args),
    get: (_t, prop) => {
      if (prop === 'destroy') return destroy;
      const k = target();
      const value = Reflect.get(k, prop, k) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(k) : value;
    },
  });
}

/**
 * The agency that owns a channel's receiving address (agencies.channel_addresses), read
 * at most every `ttlMs` (agencies change rarely; a message must not wait on a query).
 * Unmapped addresses belong to the default agency.
 */
export function agencyRouter(knex: Knex, now: () => Date, ttlMs = 30_000): (channel: string, address: string | undefined) => Promise<number> {
  let map = new Map<string, number>();
  let loadedAt = -Infinity;
  return async (channel, address) => {
    if (!address) return DEFAULT_AGENCY_ID;
    if (now().getTime() - loadedAt > ttlMs || now().getTime() < loadedAt) {
      const rows = (await knex('agencies').select('id', 'channel_addresses')) as { id: number; channel_addresses: { channel?: string; address?: string }[] }[];
      map = new Map(rows.flatMap((r) => (r.channel_addresses ?? []).map((a) => [`${a.channel}\u0000${a.address}`, r.id] as [string, number])));
      loadedAt = now().getTime();
    }
    return map.get(`${channel}\u0000${address}`) ?? DEFAULT_AGENCY_ID;
  };
}
