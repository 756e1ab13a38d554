import { safeEqual } from '../core/index.js';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { runInAgency } from '../store/index.js';

/**
 * Who may do what in the back office. Each role includes the ones before it:
 * agent < supervisor < admin.
 * - agent: the handoff queue and the conversations of their portfolios, reply, give back to the bot;
 * - supervisor: plus dashboards, exports, the review inbox, documents and campaigns;
 * - admin: plus settings, users, channels and the audit trail.
 */
export const ROLES = ['agent', 'supervisor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Whether `have` includes what `need` may do. */
export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/** The person (or script) behind an authenticated admin request. */
export interface Principal {
  /** How the request proved who it is: the bootstrap ADMIN_TOKEN, a dashboard session or a user's API token. */
  via: 'admin_token' | 'session' | 'api_token';
  role: Role;
  /** The user's id; null for the ADMIN_TOKEN. */
  userId: number | null;
  email: string | null;
  /** The name shown to colleagues (and, when the agency signs replies, to the debtor). */
  name: string;
  /** The agency (tenant) the principal works for. */
  agencyId: number;
  /** The portfolios an agent works on; null: every portfolio of the agency. */
  portfolioIds: number[] | null;
  /** The dashboard session's CSRF token, when authenticated by the session cookie. */
  csrfToken?: string;
}

/**
 * What the service registers on `app.locals[AUTHENTICATOR_KEY]` so every guard in the
 * app recognises named users as well as the ADMIN_TOKEN, wherever the router is mounted.
 */
export interface Authenticator {
  adminToken(): string | undefined;
  /**
   * The user behind the request's session cookie or Bearer API token; undefined when
   * neither is there or valid. May answer itself (e.g. 403 for a missing CSRF token)
   * and then returns 'answered'.
   */
  resolve(req: Request, res: Response): Promise<Principal | 'answered' | undefined>;
  /** Called once the principal is known: records changes and exports in the audit trail. */
  audit?(req: Request, res: Response, principal: Principal): void;
}
export const AUTHENTICATOR_KEY = 'acuerdoAuthenticator';

/** The default agency: a single-agency install has only this one. */
export const DEFAULT_AGENCY_ID = 1;

/** The principal an earlier guard authenticated for this request. */
export function principalOf(res: Response): Principal | undefined {
  return res.locals.principal as Principal | undefined;
}

function adminTokenPrincipal(): Principal {
  return { via: 'admin_token', role: 'admin', userId: null, email: null, name: 'ADMIN_TOKEN', agencyId: DEFAULT_AGENCY_ID, portfolioIds: null };
}

function bearerOf(req: Request): string {
  return /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '')?.[1]?.trim() ?? '';
}

/**
 * Authenticates the request and keeps the principal in `res.locals.principal`:
 * `Authorization: Bearer <ADMIN_TOKEN>` (the admin role), or, once the service has
 * registered its Authenticator, a user's API token or dashboard session. Missing or
 * wrong gets 401. With no ADMIN_TOKEN and no Authenticator the admin API is off: 404.
 * `adminToken` defaults to the registered Authenticator's.
 */
export function authenticate(adminToken?: () => string | undefined): RequestHandler {
  return (req, res, next) => {
    if (principalOf(res)) return next();
    // From here on every query of the request runs as the principal's agency (row-level security).
    const proceed = (p: Principal, go: NextFunction) => {
      res.locals.principal = p;
      auth?.audit?.(req, res, p);
      runInAgency(p.agencyId, () => go());
    };
    const auth = req.app?.locals?.[AUTHENTICATOR_KEY] as Authenticator | undefined;
    const expected = adminToken?.() ?? auth?.adminToken();
    if (!expected && !auth) {
      res.status(404).json({ error: 'admin_api_disabled', details: 'set ADMIN_TOKEN to enable the admin API' });
      return;
    }
    const given = bearerOf(req);
    if (expected && given && safeEqual(given, expected)) {
      return proceed(adminTokenPrincipal(), next);
    }
    if (!auth) {
      unauthorized(res, 'acuerdo-admin');
      return;
    }
    auth.resolve(req, res).then(
      (principal) => {
        if (principal === 'answered') return;
        if (!principal) return unauthorized(res, 'acuerdo-admin');
        proceed(principal, next);
      },
      (err: unknown) => next(err),
    );
  };
}

/**
 * Lets the request through only for `role` or a higher one: authenticates first when
 * no earlier guard did (see authenticate), 401 without valid credentials, 403 with
 * `{"error":"forbidden"}` for a lower role. Usable on any router, e.g.
 * `router.get('/reviews', requireRole('supervisor'), handler)`.
 */
export function requireRole(role: Role, adminToken?: () => string | undefined): RequestHandler {
  const authn = authenticate(adminToken);
  return (req, res, next) => {
    authn(req, res, (err?: unknown) => {
      if (err) return next(err);
      const principal = principalOf(res)!;
      if (!roleAtLeast(principal.role, role)) {
        res.status(403).json({ error: 'forbidden', details: `this needs the ${role} role; you are ${principal.role}` });
        return;
      }
      next();
    });
  };
}

/**
 * Guards with the admin role: `Authorization: Bearer <ADMIN_TOKEN>`, or an admin user
 * once the service registered its Authenticator. Missing or wrong gets 401; with no
 * token configured (and no users) the admin API is off: 404, and start-up warns.
 */
export function requireAdminToken(token: () => string | undefined): RequestHandler {
  return requireRole('admin', token);
}

function unauthorized(res: Response, realm: string): void {
  res.set('WWW-Authenticate', `Bearer realm="${realm}"`);
  res.status(401).json({ error: 'unauthorized', details: 'a valid Bearer token or a dashboard session is required' });
}

/**
 * Whether the request carries `Authorization: Bearer <expected>` (`expected` not empty).
 * When it does not, answers 401 with a challenge for `realm`.
 */
export function hasBearerToken(req: Request, res: Response, expected: string, realm: string): boolean {
  if (safeEqual(bearerOf(req), expected)) return true;
  unauthorized(res, realm);
  return false;
}
