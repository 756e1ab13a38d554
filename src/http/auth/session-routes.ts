/**
 * Dashboard sign-in, at /api/v1/auth:
 * - GET  /csrf: a login CSRF token, also set as a SameSite=Strict cookie (double submit);
 * - POST /login {email, password} with X-CSRF-Token: the session cookie (httpOnly,
 *   SameSite=Strict, Secure over https) and the session's CSRF token for later changes;
 *   401 for a wrong e-mail or password, 423 while the account is locked;
 * - POST /logout (session and X-CSRF-Token): ends the session;
 * - GET  /session: who is signed in (any credential), with the CSRF token for a session.
 * Every login, failed login and logout goes to the audit trail.
 */
import { randomBytes } from 'node:crypto';
import express, { type CookieOptions, type Request, type Router } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { z } from 'zod';
import { safeEqual, type Clock, type Config } from '../../core/index.js';
import type { Logger } from '../../log.js';
import { getAgency, recordAudit, type AuditEntry, type PeopleStore } from '../../ops/index.js';
import { runInAgency, type Knex } from '../../store/index.js';
import { authenticate, principalOf } from '../admin-auth.js';
import { auditActor, clientIp, cookiesOf, CSRF_HEADER, LOGIN_CSRF_COOKIE, principalOfUser, secureCookies, SESSION_COOKIE } from './authenticator.js';

export const AUTH_BASE_PATH = '/api/v1/auth';

const loginBody = z.strictObject({ email: z.string().trim().min(3).max(254), password: z.string().min(1).max(200) });

export interface SessionRoutesDeps {
  knex: Knex;
  people: PeopleStore;
  config: Config;
  clock: Clock;
  log: Logger;
  /** Login attempts a minute from one address (beyond the per-account lockout). Default 30. */
  loginsPerMinute?: number;
}

export function createSessionRouter(deps: SessionRoutesDeps): Router {
  const { people, config } = deps;
  const router = express.Router();
  const cookieBase = (req: Request): CookieOptions => ({ httpOnly: true, sameSite: 'strict', secure: secureCookies(req, config), path: '/' });
  const audit = (entry: AuditEntry) =>
    runInAgency(entry.agencyId ?? 1, () => recordAudit(deps.knex, entry, deps.clock.now())).catch((err: unknown) => deps.log.error({ err }, 'could not write the audit trail'));
  const from = (req: Request) => ({ ip: clientIp(req), userAgent: req.get('user-agent') ?? null });

  router.get('/csrf', (req, res) => {
    const token = randomBytes(24).toString('base64url');
    res.cookie(LOGIN_CSRF_COOKIE, token, { ...cookieBase(req), maxAge: 3600_000 });
    res.set('Cache-Control', 'no-store');
    res.json({ csrf_token: token });
  });

  router.post(
    '/login',
    rateLimit({
      windowMs: 60_000,
      limit: deps.loginsPerMinute ?? 30,
      keyGenerator: (req) => ipKeyGenerator(req.ip ?? 'unknown'),
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      handler: (_req, res) => {
        res.status(429).json({ error: 'rate_limited', details: 'too many login attempts from this address; wait a minute' });
      },
    }),
    async (req, res, next) => {
      try {
        const expected = cookiesOf(req)[LOGIN_CSRF_COOKIE] ?? '';
        if (!expected || !safeEqual(req.get(CSRF_HEADER) ?? '', expected)) {
          res.status(403).json({ error: 'csrf_failed', details: `get a token from GET ${AUTH_BASE_PATH}/csrf and send it in the ${CSRF_HEADER} header` });
          return;
        }
        const parsed = loginBody.safeParse(req.body ?? {});
        if (!parsed.success) {
          res.status(400).json({ error: 'invalid_request', details: parsed.error.issues.map((i) => ({ path: ['body', ...i.path].join('.'), message: i.message })) });
          return;
        }
        const { email, password } = parsed.data;
        const outcome = await people.login(email, password, { ip: clientIp(req) ?? undefined, userAgent: req.get('user-agent') });
        if (!outcome.ok) {
          const u = outcome.user;
          await audit({
            agencyId: u?.agency_id,
            actorUserId: u?.id ?? null,
            actor: email.toLowerCase().slice(0, 254),
            actorRole: u?.role ?? null,
            via: 'login',
            action: outcome.reason === 'locked' ? 'login_locked' : 'login_failed',
            details: outcome.lockedUntil ? { locked_until: outcome.lockedUntil.toISOString() } : {},
            ...from(req),
          });
          if (outcome.reason === 'locked') {
            res.status(423).json({ error: 'locked', details: 'too many failed logins: the account is locked for a while', locked_until: outcome.lockedUntil?.toISOString() });
          } else {
            res.status(401).json({ error: 'invalid_credentials', details: 'wrong e-mail or password' });
          }
          return;
        }
        const { user, session } = outcome;
        // Max-Age, not Expires: the browser's clock decides when it drops the cookie, the
        // service's clock (session.expiresAt) when the session ends.
        res.cookie(SESSION_COOKIE, session.token, { ...cookieBase(req), maxAge: people.sessionMs });
        res.clearCookie(LOGIN_CSRF_COOKIE, cookieBase(req));
        res.set('Cache-Control', 'no-store');
        const principal = principalOfUser(user, 'session', session.csrfToken);
        await audit({ ...auditActor(principal), action: 'login', ...from(req) });
        res.json({ user: { id: user.id, email: user.email, name: user.name, role: user.role, agency_id: user.agency_id }, csrf_token: session.csrfToken, expires_at: session.expiresAt.toISOString() });
      } catch (err) {
        next(err);
      }
    },
  );

  // CSRF for logout: authenticate refuses a session's POST without its token.
  router.post('/logout', authenticate(() => config.ADMIN_TOKEN), async (req, res, next) => {
    try {
      const principal = principalOf(res)!;
      const token = cookiesOf(req)[SESSION_COOKIE];
      if (principal.via === 'session' && token) await people.logout(token);
      res.clearCookie(SESSION_COOKIE, cookieBase(req));
      await audit({ ...auditActor(principal), action: 'logout', ...from(req) });
      res.json({ ok: true });
    } catch (err) {
      next(err);
    }
  });

  router.get('/session', authenticate(() => config.ADMIN_TOKEN), async (_req, res, next) => {
    try {
      const p = principalOf(res)!;
      const agency = await getAgency(deps.knex, p.agencyId);
      res.set('Cache-Control', 'no-store');
      res.json({
        user: { id: p.userId, email: p.email, name: p.name, role: p.role, via: p.via, portfolio_ids: p.portfolioIds },
        agency: { id: p.agencyId, name: agency?.name ?? config.AGENCY_NAME },
        ...(p.csrfToken ? { csrf_token: p.csrfToken } : {}),
      });
    } catch (err) {
      next(err);
    }
  });

  return router;
}
