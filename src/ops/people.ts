/**
 * The back office's people: named users with a role, their passwords (bcrypt), dashboard
 * sessions, lockout after repeated failed logins, and per-user API tokens. Session and
 * API tokens are random and stored only as their SHA-256; passwords only as bcrypt hashes.
 * Every time comes from the service's clock.
 */
import { createHash, randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { z } from 'zod';
import { AcuerdoError, type Clock } from '../core/index.js';
import type { Knex } from '../store/index.js';

export const USER_ROLES = ['agent', 'supervisor', 'admin'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/** The default agency: every row of a single-agency install belongs to it. */
export const DEFAULT_AGENCY = 1;

export interface User {
  id: number;
  agency_id: number;
  email: string;
  name: string;
  role: UserRole;
  job_title: string | null;
  failed_logins: number;
  locked_until: Date | null;
  last_login_at: Date | null;
  disabled_at: Date | null;
  created_at: Date;
  /** The portfolios an agent works on; empty: every portfolio of the agency. */
  portfolio_ids: number[];
}

export const PASSWORD_MIN_LENGTH = 10;

export const newUserSchema = z.strictObject({
  email: z.email().max(254),
  name: z.string().trim().min(1).max(120),
  role: z.enum(USER_ROLES),
  password: z.string().min(PASSWORD_MIN_LENGTH).max(200).optional(),
  job_title: z.string().trim().min(1).max(60).optional(),
  agency_id: z.number().int().positive().optional(),
  portfolio_ids: z.array(z.number().int().positive()).max(500).optional(),
});
export type NewUser = z.input<typeof newUserSchema>;

/** A user operation that cannot be done: bad input, a taken e-mail, no such user. */
export class PeopleError extends AcuerdoError {
  override name = 'PeopleError';
  constructor(
    message: string,
    readonly code: 'invalid' | 'email_taken' | 'not_found' | 'last_admin',
  ) {
    super(message);
  }
}

export type LoginOutcome =
  | { ok: true; user: User; session: { token: string; csrfToken: string; expiresAt: Date } }
  | { ok: false; reason: 'invalid' | 'locked'; lockedUntil?: Date; user?: User };

export interface SessionInfo {
  user: User;
  sessionId: number;
  csrfToken: string;
  expiresAt: Date;
}

export interface PeopleOptions {
  knex: Knex;
  clock: Clock;
  /** bcrypt cost (2^cost rounds). Default 11. */
  passwordCost?: number;
  /** Failed logins in a row that lock the account. Default 5. */
  maxFailedLogins?: number;
  /** How long a lockout lasts. Default 15 minutes. */
  lockoutMs?: number;
  /** A dashboard session's life. Default 12 hours. */
  sessionMs?: number;
}

export const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');
const randomToken = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/** The prefix of every user API token, so secret scanners and people recognise one. */
export const API_TOKEN_PREFIX = 'acu_';

const USER_COLUMNS = ['id', 'agency_id', 'email', 'name', 'role', 'job_title', 'failed_logins', 'locked_until', 'last_login_at', 'disabled_at', 'created_at'];

export class PeopleStore {
  private readonly knex: Knex;
  private readonly cost: number;
  readonly maxFailedLogins: number;
  readonly lockoutMs: number;
  readonly sessionMs: number;
  /** Compared against when the e-mail is unknown, so both answers take as long. */
  private dummyHash?: string;

  constructor(private readonly options: PeopleOptions) {
    this.knex = options.knex;
    this.cost = options.passwordCost ?? 11;
    this.maxFailedLogins = options.maxFailedLogins ?? 5;
    this.lockoutMs = options.lockoutMs ?? 15 * 60_000;
    this.sessionMs = options.sessionMs ?? 12 * 3600_000;
  }

  private now(): Date {
    return this.options.clock.now();
  }

  hashPassword(password: string): Promise<string> {
    return bcrypt.hash(password, this.cost);
  }

  private async withPortfolios(rows: Omit<User, 'portfolio_ids'>[]): Promise<User[]> {
    if (rows.length === 0) return [];
    const links = (await this.knex('user_portfolios')
      .whereIn(
        'user_id',
        rows.map((r) => r.id),
      )
      .orderBy('portfolio_id')
      .select('user_id', 'portfolio_id')) as { user_id: number; portfolio_id: number }[];
    return rows.map((r) => ({ ...r, portfolio_ids: links.filter((l) => l.user_id === r.id).map((l) => l.portfolio_id) }));
  }

  async addUser(input: NewUser): Promise<User> {
    const parsed = newUserSchema.safeParse(input);
    if (!parsed.success) throw new PeopleError(parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; '), 'invalid');
    const u = parsed.data;
    if (await this.findByEmail(u.email)) throw new PeopleError(`a user with the e-mail ${u.email} exists`, 'email_taken');
    const now = this.now();
    const agencyId = u.agency_id ?? DEFAULT_AGENCY;
    const id = await this.knex.transaction(async (trx) => {
      const [row] = (await trx('users')
        .insert({
          agency_id: agencyId,
          email: u.email.toLowerCase(),
          name: u.name,
          role: u.role,
          job_title: u.job_title ?? null,
          password_hash: u.password ? await this.hashPassword(u.password) : null,
          created_at: now,
          updated_at: now,
        })
        .returning('id')) as { id: number }[];
      if (u.portfolio_ids?.length) {
        const owned = (await trx('portfolios').whereIn('id', u.portfolio_ids).select('id')) as { id: number }[];
        if (owned.length !== new Set(u.portfolio_ids).size) throw new PeopleError('portfolio_ids: some portfolio does not exist', 'invalid');
        await trx('user_portfolios').insert([...new Set(u.portfolio_ids)].map((p) => ({ user_id: row!.id, portfolio_id: p, agency_id: agencyId })));
      }
      return row!.id;
    });
    return (await this.get(id))!;
  }

  async get(id: number): Promise<User | undefined> {
    const row = (await this.knex('users').where({ id }).first(USER_COLUMNS)) as Omit<User, 'portfolio_ids'> | undefined;
    return row ? (await this.withPortfolios([row]))[0] : undefined;
  }

  async findByEmail(email: string): Promise<User | undefined> {
    const row = (await this.knex('users').whereRaw('lower(email) = lower(?)', [email.trim()]).first(USER_COLUMNS)) as Omit<User, 'portfolio_ids'> | undefined;
    return row ? (await this.withPortfolios([row]))[0] : undefined;
  }

  async list(filter: { agencyId?: number } = {}): Promise<User[]> {
    const q = this.knex('users').orderBy('id');
    if (filter.agencyId !== undefined) q.where({ agency_id: filter.agencyId });
    return this.withPortfolios((await q.select(USER_COLUMNS)) as Omit<User, 'portfolio_ids'>[]);
  }

  /**
   * Creates the first admin from ADMIN_EMAIL and ADMIN_PASSWORD while there is no user
   * at all; returns it, or undefined when there was nothing to do.
   */
  async bootstrapAdmin(env: { email?: string; password?: string; name: string }): Promise<User | undefined> {
    if (!env.email || !env.password) return undefined;
    const [row] = (await this.knex('users').count({ n: '*' })) as { n: string | number }[];
    if (Number(row?.n ?? 0) > 0) return undefined;
    try {
      return await this.addUser({ email: env.email, password: env.password, name: env.name, role: 'admin' });
    } catch (err) {
      // Another instance starting at the same time created it.
      if (err instanceof PeopleError && err.code === 'email_taken') return undefined;
      throw err;
    }
  }

  async count(): Promise<number> {
    const [row] = (await this.knex('users').whereNull('disabled_at').count({ n: '*' })) as { n: string | number }[];
    return Number(row?.n ?? 0);
  }

  private async mustFind(email: string): Promise<User> {
    const user = await this.findByEmail(email);
    if (!user) throw new PeopleError(`no user with the e-mail ${email}`, 'not_found');
    return user;
  }

  /** Disables the user: no login, and every session and API token of theirs stops working. */
  async disable(email: string): Promise<User> {
    const user = await this.mustFind(email);
    const now = this.now();
    await this.knex.transaction(async (trx) => {
      if (user.role === 'admin' && !user.disabled_at) {
        const [other] = (await trx('users').where({ role: 'admin', agency_id: user.agency_id }).whereNull('disabled_at').whereNot({ id: user.id }).count({ n: '*' })) as { n: string | number }[];
        // ADMIN_TOKEN stays, but an agency's users should keep someone who can manage them.
        if (Number(other?.n ?? 0) === 0) throw new PeopleError('this is the agency’s last active admin; add another admin first', 'last_admin');
      }
      await trx('users').where({ id: user.id }).update({ disabled_at: user.disabled_at ?? now, updated_at: now });
      await trx('user_sessions').where({ user_id: user.id }).whereNull('revoked_at').update({ revoked_at: now });
      await trx('api_tokens').where({ user_id: user.id }).whereNull('revoked_at').update({ revoked_at: now });
    });
    return (await this.get(user.id))!;
  }

  async enable(email: string): Promise<User> {
    const user = await this.mustFind(email);
    await this.knex('users').where({ id: user.id }).update({ disabled_at: null, failed_logins: 0, locked_until: null, updated_at: this.now() });
    return (await this.get(user.id))!;
  }

  /** Sets a new password, lifts a lockout and ends the user's sessions. */
  async resetPassword(email: string, password: string): Promise<User> {
    if (password.length < PASSWORD_MIN_LENGTH) throw new PeopleError(`password: at least ${PASSWORD_MIN_LENGTH} characters`, 'invalid');
    const user = await this.mustFind(email);
    const now = this.now();
    const hash = await this.hashPassword(password);
    await this.knex.transaction(async (trx) => {
      await trx('users').where({ id: user.id }).update({ password_hash: hash, failed_logins: 0, locked_until: null, updated_at: now });
      await trx('user_sessions').where({ user_id: user.id }).whereNull('revoked_at').update({ revoked_at: now });
    });
    return (await this.get(user.id))!;
  }

  /** A user changes their own password, proving the current one. False when it is wrong. */
  async changeOwnPassword(userId: number, current: string, next: string): Promise<boolean> {
    const row = (await this.knex('users').where({ id: userId }).whereNull('disabled_at').first('email', 'password_hash')) as { email: string; password_hash: string | null } | undefined;
    if (!row?.password_hash || !(await bcrypt.compare(current, row.password_hash))) return false;
    await this.resetPassword(row.email, next);
    return true;
  }

  /**
   * Checks e-mail and password. After `maxFailedLogins` failures in a row the account is
   * locked for `lockoutMs` (the right password is refused too until then). Success
   * resets the count and opens a session.
   */
  async login(email: string, password: string, meta: { ip?: string; userAgent?: string } = {}): Promise<LoginOutcome> {
    const row = (await this.knex('users').whereRaw('lower(email) = lower(?)', [email.trim()]).first([...USER_COLUMNS, 'password_hash'])) as
      | (Omit<User, 'portfolio_ids'> & { password_hash: string | null })
      | undefined;
    const now = this.now();
    if (!row || !row.password_hash || row.disabled_at) {
      this.dummyHash ??= await this.hashPassword(randomToken());
      await bcrypt.compare(password, this.dummyHash);
      return { ok: false, reason: 'invalid' };
    }
    const user = (await this.withPortfolios([row]))[0]!;
    if (row.locked_until && row.locked_until > now) return { ok: false, reason: 'locked', lockedUntil: row.locked_until, user };
    const right = await bcrypt.compare(password, row.password_hash);
    if (!right) {
      // A lockout that ended starts the count over.
      const failures = (row.locked_until ? 0 : row.failed_logins) + 1;
      const locked = failures >= this.maxFailedLogins ? new Date(now.getTime() + this.lockoutMs) : null;
      await this.knex('users').where({ id: row.id }).update({ failed_logins: locked ? 0 : failures, locked_until: locked, updated_at: now });
      return locked ? { ok: false, reason: 'locked', lockedUntil: locked, user } : { ok: false, reason: 'invalid', user };
    }
    const token = randomToken();
    const csrfToken = randomToken(24);
    const expiresAt = new Date(now.getTime() + this.sessionMs);
    await this.knex.transaction(async (trx) => {
      await trx('users').where({ id: row.id }).update({ failed_logins: 0, locked_until: null, last_login_at: now, updated_at: now });
      await trx('user_sessions').insert({
        user_id: row.id,
        agency_id: row.agency_id,
        token_hash: sha256(token),
        csrf_token: csrfToken,
        ip: meta.ip ?? null,
        user_agent: meta.userAgent?.slice(0, 300) ?? null,
        created_at: now,
        last_seen_at: now,
        expires_at: expiresAt,
      });
    });
    return { ok: true, user, session: { token, csrfToken, expiresAt } };
  }

  /** The user behind a session cookie's token, if the session is live and the user active. */
  async session(token: string): Promise<SessionInfo | undefined> {
    if (!token) return undefined;
    const now = this.now();
    const s = (await this.knex('user_sessions as s')
      .join('users as u', 'u.id', 's.user_id')
      .where('s.token_hash', sha256(token))
      .whereNull('s.revoked_at')
      .whereNull('u.disabled_at')
      .where('s.expires_at', '>', now)
      .first('s.id', 's.user_id', 's.csrf_token', 's.expires_at')) as { id: number; user_id: number; csrf_token: string; expires_at: Date } | undefined;
    if (!s) return undefined;
    const user = await this.get(s.user_id);
    if (!user) return undefined;
    await this.knex('user_sessions').where({ id: s.id }).update({ last_seen_at: now });
    return { user, sessionId: s.id, csrfToken: s.csrf_token, expiresAt: s.expires_at };
  }

  async logout(token: string): Promise<void> {
    await this.knex('user_sessions').where({ token_hash: sha256(token) }).whereNull('revoked_at').update({ revoked_at: this.now() });
  }

  /** A new API token for the user. The token is shown once; only its hash is kept. */
  async createApiToken(userId: number, name: string): Promise<{ id: number; token: string; prefix: string; name: string }> {
    const user = await this.get(userId);
    if (!user || user.disabled_at) throw new PeopleError(`no active user ${userId}`, 'not_found');
    const token = `${API_TOKEN_PREFIX}${randomToken()}`;
    const prefix = token.slice(0, API_TOKEN_PREFIX.length + 6);
    const [row] = (await this.knex('api_tokens')
      .insert({ user_id: userId, agency_id: user.agency_id, name: name.slice(0, 100), token_hash: sha256(token), prefix, created_at: this.now() })
      .returning('id')) as { id: number }[];
    return { id: row!.id, token, prefix, name };
  }

  async listApiTokens(userId: number): Promise<{ id: number; name: string; prefix: string; created_at: Date; last_used_at: Date | null; revoked_at: Date | null }[]> {
    return this.knex('api_tokens').where({ user_id: userId }).orderBy('id').select('id', 'name', 'prefix', 'created_at', 'last_used_at', 'revoked_at');
  }

  /** Revokes one of the user's tokens; false when they have no such live token. */
  async revokeApiToken(userId: number, tokenId: number): Promise<boolean> {
    const n = await this.knex('api_tokens').where({ id: tokenId, user_id: userId }).whereNull('revoked_at').update({ revoked_at: this.now() });
    return n > 0;
  }

  /** The active user behind an API token. */
  async apiTokenUser(token: string): Promise<User | undefined> {
    if (!token.startsWith(API_TOKEN_PREFIX)) return undefined;
    const row = (await this.knex('api_tokens as t')
      .join('users as u', 'u.id', 't.user_id')
      .where('t.token_hash', sha256(token))
      .whereNull('t.revoked_at')
      .whereNull('u.disabled_at')
      .first('t.id', 't.user_id')) as { id: number; user_id: number } | undefined;
    if (!row) return undefined;
    await this.knex('api_tokens').where({ id: row.id }).update({ last_used_at: this.now() });
    return this.get(row.user_id);
  }
}
