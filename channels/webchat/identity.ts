import crypto from 'node:crypto';
import { InvariantError, safeEqual, type SecretStore } from '../../src/core/index.js';

/**
 * Anonymous visitors. A visitor id is 128 random bits; the widget keeps it as a token
 * `<visitorId>.<signature>`, the signature an HMAC-SHA256 of the id under the web
 * chat's secret. Changing the id in localStorage breaks the signature, so nobody can
 * read another visitor's conversation by guessing or copying an id alone.
 */
export interface VisitorIdentity {
  /** A new visitor and its token. */
  issue(): { visitorId: string; token: string };
  /** The visitor a token names, or undefined when its signature does not verify. */
  verify(token: string | undefined | null): string | undefined;
}

const VISITOR_ID = /^v[A-Za-z0-9_-]{22}$/;
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;

export function createVisitorIdentity(secret: string): VisitorIdentity {
  const key = Buffer.from(secret, 'utf8');
  const sign = (visitorId: string) => crypto.createHmac('sha256', key).update(`acuerdo-webchat-visitor:${visitorId}`).digest();
  return {
    issue() {
      const visitorId = `v${crypto.randomBytes(16).toString('base64url')}`;
      return { visitorId, token: `${visitorId}.${sign(visitorId).toString('base64url')}` };
    },
    verify(token) {
      if (typeof token !== 'string' || token.length > 100) return undefined;
      const dot = token.indexOf('.');
      const visitorId = token.slice(0, dot);
      const signature = token.slice(dot + 1);
      if (dot < 0 || !VISITOR_ID.test(visitorId) || !SIGNATURE.test(signature)) return undefined;
      // Compared as text: base64url's last character carries spare bits, so decoding
      // first would accept several spellings of one signature.
      return safeEqual(signature, sign(visitorId).toString('base64url')) ? visitorId : undefined;
    },
  };
}

/** The name the generated secret is kept under when WEBCHAT_SECRET is not set. */
export const SECRET_SETTING = 'webchat.secret';

/**
 * The signing secret: WEBCHAT_SECRET when configured; otherwise one generated on first
 * use and kept by the service's secret store, so tokens survive restarts and every
 * process sharing the database signs alike. Concurrent first starts agree: the first one stored wins.
 */
export async function loadWebchatSecret(secrets: SecretStore, configured: string | undefined): Promise<{ secret: string; source: 'config' | 'database' }> {
  if (configured) return { secret: configured, source: 'config' };
  const stored = await secrets.getOrCreate(SECRET_SETTING, () => crypto.randomBytes(32).toString('base64url'));
  if (stored.length < 32) throw new InvariantError(`the stored secret ${SECRET_SETTING} is not usable (too short)`, { key: SECRET_SETTING });
  return { secret: stored, source: 'database' };
}
