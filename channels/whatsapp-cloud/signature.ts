import crypto from 'node:crypto';

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
  const expected = Buffer.from(signatureFor(rawBody, appSecret));
  const given = Buffer.from(header.trim().toLowerCase());
  if (given.length !== expected.length) return false;
  return crypto.timingSafeEqual(given, expected);
}

