/**
 * How the back office recognises people: the ADMIN_TOKEN (the admin role, for bootstrap
 * and scripts), a user's API token (`Authorization: Bearer acu_…`), or a dashboard
 * session cookie (httpOnly, SameSite=Strict; state-changing requests must also carry the
 * session's CSRF token in the X-CSRF-Token header). Registered on the express app's
 * locals so every guard (src/http/admin-auth.ts) uses it, wherever its router is mounted.
 * Every authenticated change and export is written to the audit trail.
 */
import { parse as parseCookies } from 'cookie';
import express, { type Express, type Request, type Response } from 'express';
import { safeEqual, type Clock, type Config } from '../../core/index.js';
import type { Logger } from '../../log.js';
import { recordAudit, type AuditEntry, type PeopleStore, type User } from '../../ops/index.js';
import { runInAgency, type Knex } from '../../store/index.js';
import { AUTHENTICATOR_KEY, type Authenticator, type Principal } from '../admin-auth.js';

export const SESSION_COOKIE = 'acuerdo_session';
export const LOGIN_CSRF_COOKIE = 'acuerdo_login_csrf';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AuthenticatorDeps {
  knex: Knex;
  people: PeopleStore;
  config: Config;
  clock: Clock;
  log: Logger;
}

export function principalOfUser(user: User, via: Principal['via'], csrfToken?: string): Principal {
  return {
    via,
    role: user.role,
    userId: user.id,
    email: user.email,
    name: user.name,
    agencyId: user.agency_id,
    portfolioIds: user.role === 'agent' && user.portfolio_ids.length > 0 ? user.portfolio_ids : null,
    ...(csrfToken ? { csrfToken } : {}),
  };
}

export function cookiesOf(req: Request): Record<string, string | undefined> {
  return parseCookies(req.get('cookie') ?? '');
}

/** Whether cookies must be Secure: the request came over https, or the public URL is https. */
export function secureCookies(req: Request, config: Config): boolean {
  return req.secure || Boolean(config.PUBLIC_URL?.startsWith('https:'));
}

/** The address a request came from (behind a loopback proxy: the forwarded one). */
export const clientIp = (req: Request): string | null => req.ip ?? null;

/** Who did it, for the audit trail. */
export function auditActor(p: Principal): Pick<AuditEntry, 'agencyId' | 'actorUserId' | 'actor' | 'actorRole' | 'via'> {
  return { agencyId: p.agencyId, actorUserId: p.userId, actor: p.email ?? p.name, actorRole: p.role, via: p.via };
}

/**
 * What an admin request did, for the audit trail; undefined for reads that are not
 * exports. Paths are the full URL path (mount point included).
 */
export function auditAction(method: string, path: string): string | undefined {
  // Sign-in and sign-out are recorded by their own routes.
  if (path.startsWith('/api/v1/auth/')) return undefined;
  const write = !SAFE_METHODS.has(method);
  if (!write) return /\.(csv|jsonl)$|\/exports?(\/|$|\.)|\/download(\/|$)/.test(path) ? 'export' : undefined;
  const rules: [RegExp, string][] = [
    [/\/handoffs\/[^/]+\/take$/, 'takeover'],
    [/\/handoffs\/[^/]+\/reply$/, 'reply'],
    [/\/handoffs\/[^/]+\/release$/, 'return_to_bot'],
    [/\/handoffs\/[^/]+\/close$/, 'conversation_close'],
    [/\/(config|settings|agency|agencies)(\/|$)/, 'setting_change'],
    [/\/learning\/inbox\//, 'review'],
    [/\/learning\/(models|finetune|dictionary)(\/|$)/, 'training_change'],
    [/\/(agreements?|payments)(\/|$)/, 'agreement_change'],
    [/\/documents?(\/|$)/, method === 'POST' ? 'document_upload' : 'document_change'],
    [/\/me\/password$/, 'password_change'],
    [/\/users?(\/|$)/, 'user_change'],
    [/\/tokens?(\/|$)/, 'api_token_change'],
    [/\/campaigns?(\/|$)/, 'campaign_change'],
    [/\/channels?(\/|$)/, 'channel_change'],
  ];
  return rules.find(([re]) => re.test(path))?.[1] ?? 'change';
}

/** The ids in a path (numbers, uuids, references), joined: what the action was done to. */
function targetOf(path: string): string | null {
  const ids = path.split('/').filter((seg) => /^\d+$|^[0-9a-f]{8}-[0-9a-f-]{27}$|^[A-Z]{2,4}-[A-Z0-9-]{4,}$/i.test(seg));
  return ids.length ? ids.join('/') : null;
}

/** What of the request body the trail keeps: settings in full, elsewhere only the field names (never a message's text or a password). */
function bodyDetails(action: string, body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return {};
  if (action === 'setting_change') return { change: body };
  return { fields: Object.keys(body as object).filter((k) => k !== 'password') };
}

export function createAuthenticator(deps: AuthenticatorDeps): Authenticator {
  const { people, config, log } = deps;
  const record = (entry: AuditEntry) =>
    runInAgency(entry.agencyId ?? 1, () => recordAudit(deps.knex, entry, deps.clock.now())).catch((err: unknown) => log.error({ err, action: entry.action }, 'could not write the audit trail'));
  return {
    adminToken: () => config.ADMIN_TOKEN,
    async resolve(req: Request, res: Response) {
      // With neither an ADMIN_TOKEN nor a user the admin API is off.
      if (!config.ADMIN_TOKEN && (await people.count()) === 0) {
        res.status(404).json({ error: 'admin_api_disabled', details: 'set ADMIN_TOKEN or add a user (npx acuerdo users add) to enable the admin API' });
        return 'answered';
      }
      const bearer = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '')?.[1]?.trim();
      if (bearer) {
        const user = await people.apiTokenUser(bearer);
        return user ? principalOfUser(user, 'api_token') : undefined;
      }
      const cookie = cookiesOf(req)[SESSION_COOKIE];
      if (cookie) {
        const session = await people.session(cookie);
        if (session) {
          if (!SAFE_METHODS.has(req.method) && !safeEqual(req.get(CSRF_HEADER) ?? '', session.csrfToken)) {
            res.status(403).json({ error: 'csrf_failed', details: `a state-changing request needs the session's CSRF token in the ${CSRF_HEADER} header` });
            return 'answered';
          }
          return principalOfUser(session.user, 'session', session.csrfToken);
        }
      }
      return undefined;
    },
    audit(req: Request, res: Response, principal: Principal) {
      const path = req.originalUrl.split('?')[0] ?? '';
      const action = auditAction(req.method, path);
      if (!action) return;
      const body: unknown = req.body;
      res.once('finish', () => {
        const denied = res.statusCode === 403;
        if (!denied && (res.statusCode < 200 || res.statusCode >= 400)) return;
        void record({
          ...auditActor(principal),
          action: denied ? 'denied' : action,
          target: targetOf(path),
          details: {
            method: req.method,
            path,
            status: res.statusCode,
            ...(action === 'export' ? { query: req.query } : bodyDetails(action, body)),
            ...(denied ? { attempted: action } : {}),
          },
          ip: clientIp(req),
          userAgent: req.get('user-agent') ?? null,
        });
      });
    },
  };
}

/**
 * A do-nothing sub-app whose only job is, when mounted, to register the Authenticator
 * on the parent app's locals: every guard of that app (the admin API, the scheduler's
 * and the channels' admin routes) then knows users as well as the ADMIN_TOKEN.
 */
export function authenticatorRegistrar(authenticator: Authenticator): Express {
  const sub = express();
  sub.disable('x-powered-by');
  sub.on('mount', (parent: express.Application) => {
    parent.locals[AUTHENTICATOR_KEY] = authenticator;
  });
  return sub;
}
