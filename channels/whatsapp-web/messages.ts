import type { InboundMessage } from '../../src/core/index.js';
import type { WebMessage } from './client.js';

/** A one-to-one chat: a phone ("573001234567@c.us") or a linked id ("…@lid"). */
const PRIVATE_CHAT = /^[^@\s]+@(c\.us|lid)$/;
const PHONE_CHAT = /^(\d+)@c\.us$/;

/** WhatsApp's own notices, not something the debtor said. */
const SYSTEM_TYPES = new Set([
  'e2e_notification',
  'notification',
  'notification_template',
  'group_notification',
  'gp2',
  'call_log',
  'protocol',
  'revoked',
  'ciphertext',
  'reaction',
  'broadcast_notification',
  'debug',
  'hsm',
]);

/** Types whose body is what the debtor typed or chose. */
const TEXT_TYPES = new Set(['chat', 'buttons_response', 'list_response']);

/** The channel user id for a chat: the phone digits for "…@c.us" (as campaigns address debtors), the whole id otherwise. */
export function userIdForChat(chatId: string): string {
  return PHONE_CHAT.exec(chatId)?.[1] ?? chatId;
}

/** The chat id to send to: "573001234567" → "573001234567@c.us"; ids with a domain stay as they are. */
export function chatIdForUser(userId: string): string {
  if (userId.includes('@')) return userId;
  return `${userId.replace(/\D/g, '')}@c.us`;
}

/**
 * The InboundMessage for a whatsapp-web.js message, or undefined when it is not for
 * the engine: our own messages, groups, status updates, broadcasts, channels and
 * WhatsApp's system notices.
 */
export function toInbound(message: WebMessage, receivedAt: Date): InboundMessage | undefined {
  if (message.fromMe || message.id.fromMe || message.isStatus || message.broadcast) return undefined;
  if (!PRIVATE_CHAT.test(message.from) || message.author) return undefined;
  if (SYSTEM_TYPES.has(message.type)) return undefined;
  const at = message.timestamp > 0 ? new Date(message.timestamp * 1000) : receivedAt;
  // A "…@c.us" chat is a phone number WhatsApp verified; a linked id ("…@lid") proves no number.
  const phone = PHONE_CHAT.exec(message.from)?.[1];
  const base = { channel: 'whatsapp-web' as const, from: userIdForChat(message.from), messageId: message.id._serialized, at, ...(phone ? { verifiedPhone: phone } : {}) };
  if (TEXT_TYPES.has(message.type) && !message.hasMedia) return { ...base, text: message.body };
  // Photos, voice notes, stickers, locations, contacts…: the engine answers politely. A media
  // caption counts as text; other bodies are not text (a location's body is its thumbnail, a
  // contact's its vCard).
  const kind = message.type === 'ptt' ? 'voice' : message.type;
  const caption = message.hasMedia ? message.body.trim() : '';
  return { ...base, media: { kind }, ...(caption ? { text: caption } : {}) };
}

/** A linked id ("…@lid"): WhatsApp's stand-in for a number it does not show. */
export const LID_CHAT = /^[^@\s]+@lid$/;

/** Failures of reaching WhatsApp's servers rather than of starting the browser. */
const NETWORK_FAILURE =
  /net::ERR_(NAME_NOT_RESOLVED|INTERNET_DISCONNECTED|CONNECTION_\w+|ADDRESS_UNREACHABLE|NETWORK_\w+|PROXY_\w+|TIMED_OUT|TUNNEL_CONNECTION_FAILED|SSL_PROTOCOL_ERROR|CERT_\w+)|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|Navigation timeout/i;

/** What to tell the operator when the client could not start: the network, or Chromium. */
export function startFailureHint(err: unknown): { reason: 'NETWORK' | 'INITIALIZE_FAILED'; hint: string } {
  const text = err instanceof Error ? `${err.message} ${String((err as { cause?: unknown }).cause ?? '')}` : String(err);
  if (NETWORK_FAILURE.test(text)) {
    return { reason: 'NETWORK', hint: 'WhatsApp Web could not reach web.whatsapp.com: check the network, DNS and any proxy (Chromium started)' };
  }
  return { reason: 'INITIALIZE_FAILED', hint: 'WhatsApp Web could not start (is Chromium at CHROMIUM_PATH?)' };
}
