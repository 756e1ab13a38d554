import { safeEqual } from '../core/index.js';
import type { Request, RequestHandler, Response } from 'express';


/**
 * Guards the admin API with `Authorization: Bearer <ADMIN_TOKEN>`. Missing or wrong
 * gets 401. With no token configured the admin API is off: every request gets 404,
 * and start-up warns about it.
 */
export function requireAdminToken(token: () => string | undefined): RequestHandler {
  return (req, res, next) => {
    const expected = token();
    if (!expected) {
      res.status(404).json({ error: 'admin_api_disabled', details: 'set ADMIN_TOKEN to enable the admin API' });
      return;
    }
    if (hasBearerToken(req, res, expected, 'acuerdo-admin')) next();
  };
}

/**
 * Whether the request carries `Authorization: Bearer <expected>` (`expected` not empty).
 * When it does not, answers 401 with a challenge for `realm`.
 */
export function hasBearerToken(req: Request, res: Response, expected: string, realm: string): boolean {
  const given = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '')?.[1]?.trim() ?? '';
  if (safeEqual(given, expected)) return true;
  res.set('WWW-Authenticate', `Bearer realm="${realm}"`);
  res.status(401).json({ error: 'unauthorized', details: 'a valid Bearer token is required' });
  return false;
}
