import crypto from 'node:crypto';

/** Compares two secrets in constant time (hashing first, so lengths don't leak either). */
export function safeEqual(given: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b) && given.length === expected.length;
}
