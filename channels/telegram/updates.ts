/**
 * Telegram Update JSON → the engine's InboundMessage. Pure: no I/O, no SDK types, so
 * every rule here is tested with recorded updates alone.
 */
import { z } from 'zod';
import type { InboundMessage } from '../../src/core/index.js';
import { decodeCallbackData } from './render.js';

const user = z.object({ id: z.number(), is_bot: z.boolean().optional() });
const chat = z.object({ id: z.number(), type: z.string() });
const inlineButton = z.object({ text: z.string(), callback_data: z.string().optional() });

const message = z.object({
  message_id: z.number(),
  from: user.optional(),
  chat,
  date: z.number(),
  text: z.string().optional(),
  reply_markup: z.object({ inline_keyboard: z.array(z.array(inlineButton)) }).optional(),
  /** A contact card: user_id is the Telegram user it belongs to (the sender's own when shared with «Compartir mi número»). */
  contact: z.object({ phone_number: z.string(), user_id: z.number().optional() }).optional(),
});

const callbackQuery = z.object({
  id: z.string(),
  from: user,
  // Absent for buttons on messages sent in inline mode, which this bot never sends.
  message: message.optional(),
  data: z.string().optional(),
});

/** ChatMemberUpdated: for a private chat, sent when the user blocks (kicked) or unblocks (member) the bot. */
const chatMemberUpdated = z.object({
  chat,
  from: user,
  date: z.number(),
  old_chat_member: z.object({ status: z.string() }),
  new_chat_member: z.object({ status: z.string() }),
});

const update = z.object({
  update_id: z.number(),
  message: message.passthrough().optional(),
  callback_query: callbackQuery.optional(),
  my_chat_member: chatMemberUpdated.optional(),
});

/** A deep-link payload as Telegram allows it: 1-64 characters of A-Z, a-z, 0-9, _ and -. */
const DEEP_LINK_PAYLOAD = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Message fields that carry something other than text. The first present names the
 * media kind the engine answers politely ("solo leo texto").
 */
const MEDIA_FIELDS = [
  'photo',
  'voice',
  'audio',
  'video',
  'video_note',
  'animation',
  'sticker',
  'document',
  'location',
  'venue',
  'contact',
  'poll',
  'dice',
] as const;

/**
 * What /start becomes. The engine greets a new conversation whatever its first message
 * says, and a greeting is the natural reading of /start in one under way.
 */
export const OPENING_TEXT = 'hola';

/** What to do with one update. */
export type UpdateAction =
  /** Hand `message` to the engine; answer `callbackQueryId` (a tap) whatever happens. */
  | { kind: 'handle'; message: InboundMessage; callbackQueryId?: string }
  /** A tap the engine cannot use (e.g. no chat to answer in): only answer it. */
  | { kind: 'answer-only'; callbackQueryId: string; reason: string }
  /** The user blocked the bot (not reachable) or unblocked it (reachable again). */
  | { kind: 'reachability'; userId: string; reachable: boolean; at: Date }
  | { kind: 'ignore'; reason: string };

/**
 * The delivery id the engine deduplicates on. update_id is unique per bot, so the
 * bot's numeric id (the token's public prefix) keeps two bots' updates apart when an
 * operator changes the token.
 */
export function deliveryId(botId: string, updateId: number): string {
  return `${botId}:${updateId}`;
}

/** The command a text starts with, without the bot's @username: "/start@acuerdo_bot x" → "start". */
function command(text: string): string | undefined {
  return /^\/([A-Za-z0-9_]+)(?:@\w+)?(?:\s|$)/.exec(text)?.[1]?.toLowerCase();
}

/**
 * Decides what one Telegram update means for the engine. `botId` is the token's
 * numeric prefix.
 */
export function interpretUpdate(raw: unknown, botId: string, receivedAt: Date): UpdateAction {
  const parsed = update.safeParse(raw);
  if (!parsed.success) return { kind: 'ignore', reason: 'not an update this bot reads' };
  const u = parsed.data;
  const messageId = deliveryId(botId, u.update_id);

  if (u.my_chat_member) {
    const change = u.my_chat_member;
    if (change.chat.type !== 'private') return { kind: 'ignore', reason: 'membership change outside a private chat' };
    const status = change.new_chat_member.status;
    // kicked: the user blocked the bot; member: unblocked it (or started it again).
    if (status === 'kicked' || status === 'member') return { kind: 'reachability', userId: String(change.chat.id), reachable: status === 'member', at: new Date(change.date * 1000) };
    return { kind: 'ignore', reason: `membership status ${status}` };
  }

  if (u.callback_query) {
    const cq = u.callback_query;
    const chatOf = cq.message?.chat;
    if (!chatOf) return { kind: 'answer-only', callbackQueryId: cq.id, reason: 'tap without a chat' };
    if (chatOf.type !== 'private') return { kind: 'answer-only', callbackQueryId: cq.id, reason: 'not a private chat' };
    if (cq.data === undefined) return { kind: 'answer-only', callbackQueryId: cq.id, reason: 'tap without data' };
    // The button's label, read back from the keyboard the tap came from.
    const pressed = cq.message?.reply_markup?.inline_keyboard.flat().find((b) => b.callback_data === cq.data);
    const decoded = decodeCallbackData(cq.data);
    return {
      kind: 'handle',
      callbackQueryId: cq.id,
      message: {
        channel: 'telegram',
        from: String(chatOf.id),
        messageId,
        ...(decoded.buttonId !== undefined ? { buttonId: decoded.buttonId } : {}),
        ...(pressed ? { text: pressed.text } : {}),
        // A tap carries no time of its own: when the service received it.
        at: receivedAt,
      },
    };
  }

  const m = u.message;
  // edited_message, channel posts, member updates and the rest are not turns.
  if (!m) return { kind: 'ignore', reason: 'not a new message' };
  // Debts are discussed only one to one: never in a group, where third parties read (Ley 2300, art. 4).
  if (m.chat.type !== 'private') return { kind: 'ignore', reason: 'not a private chat' };
  if (m.from?.is_bot) return { kind: 'ignore', reason: 'sent by a bot' };
  const base = { channel: 'telegram' as const, from: String(m.chat.id), messageId, at: new Date(m.date * 1000) };

  if (m.text !== undefined) {
    // /start, with or without a deep-link payload, opens the flow; the payload (t.me/<bot>?start=<payload>,
    // e.g. a campaign's code) is kept as where the conversation came from.
    if (command(m.text) === 'start') {
      const payload = m.text.split(/\s+/)[1];
      const source = payload && DEEP_LINK_PAYLOAD.test(payload) ? { source: payload } : {};
      return { kind: 'handle', message: { ...base, text: OPENING_TEXT, ...source } };
    }
    return { kind: 'handle', message: { ...base, text: m.text } };
  }
  if (m.contact) {
    // The engine counts the phone only when the card is the sender's own (user_id = the chat, a private one):
    // Telegram proves that number. A card forwarded from the address book proves nothing.
    const userId = m.contact.user_id !== undefined ? { userId: String(m.contact.user_id) } : {};
    return { kind: 'handle', message: { ...base, contact: { phone: m.contact.phone_number, ...userId } } };
  }
  const extra = m as Record<string, unknown>;
  const kind = MEDIA_FIELDS.find((field) => extra[field] !== undefined);
  return { kind: 'handle', message: { ...base, media: { kind: kind ?? 'other' } } };
}
