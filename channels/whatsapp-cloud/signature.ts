import crypto from 'node:crypto';
import { safeEqual } from '../../src/core/index.js';

/** The X-Hub-Signature-256 value Meta sends for `rawBody`: "sha256=" and the hex HMAC-SHA256 with the app secret. */
export function signatureFor(rawBody: Buffer | string, appSecret: string): string {
  return 'sha256=' + crypto.createHmac('sha256', appSecret).update(rawBody).digest('hex');
}

/**
 * True when `header` is the signature of exactly these bytes. Compared in constant
 * time; a missing or malformed header is simply false.
 */
export function hasValidSignature(rawBody: Buffer, header: string | undefined, appSecret: string): boolean {
  if (!header) return false;
  return safeEqual(header.trim().toLowerCase(), signatureFor(rawBody, appSecret));
}

