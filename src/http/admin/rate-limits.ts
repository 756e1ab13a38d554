import express, { type Router } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { normalizeUserId } from '../../core/index.js';

/**
 * Per-sender rate limit for the REST chat API: mounted at /api/v1/chat before the chat
 * routes (after the JSON parser), keyed by the body's `user_id` as every layer normalizes it. The REST channel is
 * usually called by the agency's own backend on behalf of many debtors from one
 * address, so a per-IP limit would throttle everyone; requests without a user_id
 * (history, health) fall back to the address. The limit is read from the runtime
 * settings on every request; 0 turns it off. Counts are per instance.
 */
export function createChatRateLimiter(perMinute: () => number): Router {
  const router = express.Router();
  router.use(
    rateLimit({
      windowMs: 60_000,
      limit: () => perMinute(),
      skip: (req) => perMinute() === 0 || req.method === 'GET',
      keyGenerator: (req) => {
        // The same normalization as the chat routes and the engine: " Ana ", "ana" and "ANA" are one sender.
        const raw = (req.body as { user_id?: unknown } | undefined)?.user_id;
        const userId = typeof raw === 'string' || (typeof raw === 'number' && Number.isInteger(raw)) ? normalizeUserId('api', raw).slice(0, 200) : '';
        return userId.length > 0 ? `user:${userId}` : `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`;
      },
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      handler: (_req, res) => {
        res.status(429).json({ error: 'rate_limited', details: `at most ${perMinute()} messages a minute per sender` });
      },
    }),
  );
  return router;
}
