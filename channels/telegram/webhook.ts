/**
 * The guard in front of POST /telegram/webhook: Telegram sends back the secret given to
 * setWebhook in X-Telegram-Bot-Api-Secret-Token. Compared in constant time, never logged.
 */
import type { RequestHandler } from 'express';
import { safeEqual } from '../../src/core/index.js';

export const WEBHOOK_PATH = '/telegram/webhook';
export const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

/**
 * Answers 401 when the header is missing and 403 when it is wrong, before the body is
 * read: nothing of such a request is parsed or processed.
 */
export function requireSecret(expected: string): RequestHandler {
  return (req, res, next) => {
    const given = req.headers[SECRET_HEADER];
    if (typeof given !== 'string' || given === '') {
      res.status(401).json({ error: 'unauthorized', details: `missing ${SECRET_HEADER}` });
      return;
    }
    if (!safeEqual(given, expected)) {
      res.status(403).json({ error: 'forbidden', details: `wrong ${SECRET_HEADER}` });
      return;
    }
    next();
  };
}
