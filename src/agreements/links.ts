/**
 * Signed, expiring links the debtor gets in the chat: the paz y salvo PDF and the
 * online payment page of an agreement. A link carries its expiry and an HMAC of the
 * path and expiry; nothing else authorizes it, so it can be forwarded only until it
 * expires. Checked in constant time.
 */
import { createHmac } from 'node:crypto';
import { safeEqual, type Clock } from '../core/index.js';

export interface LinkSigner {
  /** An absolute URL for `path` (starting with /) valid for `ttlMs`. */
  sign(path: string, ttlMs: number): string;
  /** True when `sig` signs `path` until `exp` (seconds) and `exp` is still ahead. */
  verify(path: string, exp: unknown, sig: unknown): boolean;
}

export function createLinkSigner(options: { secret: string; publicUrl: string; clock: Clock }): LinkSigner {
  const base = options.publicUrl.replace(/\/+$/, '');
  const mac = (path: string, exp: number) => createHmac('sha256', options.secret).update(`${path}\n${exp}`).digest('base64url');
  return {
    sign(path, ttlMs) {
      const exp = Math.floor((options.clock.now().getTime() + ttlMs) / 1000);
      return `${base}${path}?exp=${exp}&sig=${mac(path, exp)}`;
    },
    verify(path, exp, sig) {
      if (typeof exp !== 'string' || typeof sig !== 'string' || !/^\d{1,12}$/.test(exp)) return false;
      const e = Number(exp);
      if (e * 1000 < options.clock.now().getTime()) return false;
      return safeEqual(mac(path, e), sig);
    },
  };
}
