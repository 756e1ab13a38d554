/**
 * Which web pages may talk to the web chat. WEBCHAT_ALLOWED_ORIGINS is a comma-separated
 * list of origins (https://www.agencia.com.co), or `*` for any. The service's own origin
 * (the demo page, PUBLIC_URL) is always allowed. A request without an Origin header is
 * not from a browser page and is let through: the signed visitor token is what
 * authorizes it; the origin check stops other sites from embedding the chat.
 */
import { ConfigError } from '../../src/core/index.js';
export interface OriginPolicy {
  allows(origin: string | undefined, host: string | undefined): boolean;
  /** What the setting says, for the start-up log. */
  describe(): string;
}

function normalize(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

/** Parses the setting; throws naming the first entry that is not an origin. */
export function parseAllowedOrigins(setting: string | undefined): '*' | string[] {
  const entries = (setting ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (entries.includes('*')) return '*';
  return entries.map((entry) => {
    const origin = normalize(entry);
    if (!origin) throw new ConfigError([{ variable: 'WEBCHAT_ALLOWED_ORIGINS', expected: `origins such as https://www.example.com ("${entry}" is not one)` }]);
    return origin;
  });
}

export function createOriginPolicy(setting: string | undefined, publicUrl: string | undefined): OriginPolicy {
  const allowed = parseAllowedOrigins(setting);
  const own = publicUrl ? normalize(publicUrl) : undefined;
  const list = allowed === '*' ? undefined : new Set([...allowed, ...(own ? [own] : [])]);
  return {
    allows(origin, host) {
      if (origin === undefined) return true;
      if (!list) return true;
      const normalized = normalize(origin);
      if (!normalized) return false;
      if (list.has(normalized)) return true;
      // Same origin as the request: the page came from this service (the demo page).
      return host !== undefined && new URL(normalized).host === host.toLowerCase();
    },
    describe() {
      return list ? [...list].join(', ') || 'this service only' : 'any origin (*)';
    },
  };
}
