/**
 * Control characters never belong in a URL: a NUL in a path parameter or a query value
 * would otherwise reach PostgreSQL (which refuses it with an error, a 500) or a log line.
 * Every request whose decoded path or query holds one, or whose path is not valid
 * percent-encoded UTF-8, is answered 400 with a JSON reason before any route sees it.
 * Bodies are checked by each route's schema, where line breaks may be legitimate text.
 */
import type { RequestHandler } from 'express';
import { hasControlCharacters } from '../core/index.js';

function queryHasControl(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return hasControlCharacters(value);
  if (depth > 5 || value === null || typeof value !== 'object') return false;
  return Object.entries(value as Record<string, unknown>).some(([k, v]) => hasControlCharacters(k) || queryHasControl(v, depth + 1));
}

export const refuseControlCharactersInUrl: RequestHandler = (req, res, next) => {
  let path: string;
  try {
    path = decodeURIComponent(req.path);
  } catch {
    res.status(400).json({ error: 'invalid_url', details: 'the path is not valid percent-encoded UTF-8' });
    return;
  }
  if (hasControlCharacters(path) || queryHasControl(req.query)) {
    res.status(400).json({ error: 'invalid_url', details: 'the path or query contains a control character' });
    return;
  }
  next();
};
