/**
 * The audit trail: who did what, when and from where. Rows are only ever inserted; the
 * database refuses UPDATE, DELETE and TRUNCATE on audit_log (a trigger, see the
 * migration 20261208600000_people). Admins read it and export it as CSV.
 */
import type { Writable } from 'node:stream';
import type { Knex } from '../store/index.js';
import { csvLine } from './agreements.js';
import { DEFAULT_AGENCY } from './people.js';

export interface AuditEntry {
  agencyId?: number;
  actorUserId: number | null;
  /** The user's e-mail, 'ADMIN_TOKEN', or 'cli:<os user>'. */
  actor: string;
  actorRole: string | null;
  /** session, api_token, admin_token, cli, login. */
  via: string;
  /** What happened: login, login_failed, export, setting_change, takeover, reply, ... */
  action: string;
  /** What it was done to: a conversation id, an agreement, a user's e-mail. */
  target?: string | null;
  /** The request (method and route) and what changed; never a debtor's message text. */
  details?: Record<string, unknown>;
  ip?: string | null;
  userAgent?: string | null;
}

export interface AuditRow {
  id: number;
  agency_id: number;
  at: string;
  actor_user_id: number | null;
  actor: string;
  actor_role: string | null;
  via: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
  ip: string | null;
  user_agent: string | null;
}

export async function recordAudit(knex: Knex, entry: AuditEntry, at: Date): Promise<void> {
  await knex('audit_log').insert({
    agency_id: entry.agencyId ?? DEFAULT_AGENCY,
    at,
    actor_user_id: entry.actorUserId,
    actor: entry.actor,
    actor_role: entry.actorRole,
    via: entry.via,
    action: entry.action,
    target: entry.target ?? null,
    details: JSON.stringify(entry.details ?? {}),
    ip: entry.ip ?? null,
    user_agent: entry.userAgent?.slice(0, 300) ?? null,
  });
}

export interface AuditFilters {
  agencyId?: number;
  action?: string;
  actor?: string;
  from?: Date;
  to?: Date;
  limit: number;
  offset: number;
}

function filtered(knex: Knex, f: Omit<AuditFilters, 'limit' | 'offset'>): Knex.QueryBuilder {
  const q = knex('audit_log');
  if (f.agencyId !== undefined) q.where({ agency_id: f.agencyId });
  if (f.action) q.where({ action: f.action });
  if (f.actor) q.whereRaw('lower(actor) = lower(?)', [f.actor]);
  if (f.from) q.where('at', '>=', f.from);
  if (f.to) q.where('at', '<', f.to);
  return q;
}

const toRow = (r: Omit<AuditRow, 'at'> & { at: Date }): AuditRow => ({ ...r, at: r.at.toISOString() });

/** Newest first. */
export async function listAudit(knex: Knex, f: AuditFilters): Promise<{ total: number; items: AuditRow[] }> {
  const q = filtered(knex, f);
  const [count] = (await q.clone().count({ n: '*' })) as { n: string | number }[];
  const rows = (await q.orderBy('at', 'desc').orderBy('id', 'desc').limit(f.limit).offset(f.offset).select('*')) as (Omit<AuditRow, 'at'> & { at: Date })[];
  return { total: Number(count?.n ?? 0), items: rows.map(toRow) };
}

export const AUDIT_CSV_HEADER = ['id', 'at', 'actor', 'actor_role', 'via', 'action', 'target', 'ip', 'user_agent', 'details'] as const;

/** The trail as CSV (UTF-8 with a byte-order mark), oldest first, in batches. Returns the rows written. */
export async function writeAuditCsv(knex: Knex, f: Omit<AuditFilters, 'limit' | 'offset'>, out: Writable): Promise<number> {
  const write = (chunk: string) =>
    new Promise<void>((resolve) => {
      if (out.write(chunk)) resolve();
      else out.once('drain', resolve);
    });
  await write('\uFEFF' + csvLine(AUDIT_CSV_HEADER));
  let lastId = 0;
  let written = 0;
  for (;;) {
    const rows = (await filtered(knex, f).where('id', '>', lastId).orderBy('id').limit(1000).select('*')) as (Omit<AuditRow, 'at'> & { at: Date })[];
    if (rows.length === 0) break;
    for (const r of rows) {
      const row = toRow(r);
      await write(csvLine(AUDIT_CSV_HEADER.map((k) => (k === 'details' ? JSON.stringify(row.details) : row[k]))));
    }
    written += rows.length;
    lastId = rows[rows.length - 1]!.id;
  }
  return written;
}

export interface Agency {
  id: number;
  slug: string;
  name: string | null;
  reply_signature: string | null;
}

export async function getAgency(knex: Knex, id: number): Promise<Agency | undefined> {
  return (await knex('agencies').where({ id }).first('id', 'slug', 'name', 'reply_signature')) as Agency | undefined;
}

export async function listAgencies(knex: Knex): Promise<Agency[]> {
  return (await knex('agencies').orderBy('id').select('id', 'slug', 'name', 'reply_signature')) as Agency[];
}

export async function createAgency(knex: Knex, a: { slug: string; name: string; reply_signature?: string | null }, now: Date): Promise<Agency> {
  const [row] = (await knex('agencies')
    .insert({ slug: a.slug, name: a.name, reply_signature: a.reply_signature ?? null, created_at: now, updated_at: now })
    .returning(['id', 'slug', 'name', 'reply_signature'])) as Agency[];
  return row!;
}

export async function updateAgency(knex: Knex, id: number, change: { name?: string | null; reply_signature?: string | null }, now: Date): Promise<Agency | undefined> {
  await knex('agencies').where({ id }).update({ ...change, updated_at: now });
  return getAgency(knex, id);
}

/**
 * The line that signs an agent's reply when the agency's reply_signature is set:
 * {nombre} is the agent's first name, {cargo} their job title (asesor by default),
 * {agencia} the agency's name. Undefined when the agency does not sign.
 */
export function agentSignature(agency: Agency | undefined, agent: { name: string; job_title: string | null }, defaultAgencyName: string): string | undefined {
  if (!agency?.reply_signature) return undefined;
  const first = agent.name.trim().split(/\s+/)[0] ?? agent.name;
  return agency.reply_signature
    .replaceAll('{nombre}', first)
    .replaceAll('{cargo}', agent.job_title ?? 'asesor')
    .replaceAll('{agencia}', agency.name ?? defaultAgencyName);
}
