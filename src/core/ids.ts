/**
 * One normalization of the ids a sender gives us, used by every layer that keys on them
 * (the REST rate limiter, the chat routes, the engine): Unicode NFKC, then surrounding
 * whitespace trimmed. On channels whose ids a client chooses freely (the REST API), case
 * is folded as well, so "Deudor-1", " deudor-1 " and "DEUDOR-1" are one sender; the
 * platforms' own ids (Telegram, WhatsApp, Bot Framework…) keep their case, since
 * replies are addressed with them.
 *
 * Control characters (C0, DEL, C1) are never part of an id: `hasControlCharacters`
 * lets the HTTP layer answer 400 before anything reaches the database.
 */

/** Channels whose user ids are chosen by the client and compared without case. */
const CASELESS_CHANNELS: ReadonlySet<string> = new Set(['api']);

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** True when the text holds a NUL or any other control character. */
export function hasControlCharacters(text: string): boolean {
  return CONTROL.test(text);
}

/** The sender id as every layer compares it (integers become their decimal text). */
export function normalizeUserId(channel: string, raw: string | number): string {
  const text = String(raw).normalize('NFKC').trim();
  return CASELESS_CHANNELS.has(channel) ? text.toLowerCase() : text;
}
