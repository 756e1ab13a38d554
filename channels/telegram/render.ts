/**
 * The engine's replies as Telegram messages: text cut to Telegram's 4,096-character
 * limit, buttons as an inline keyboard (one button a row, as labels are sentences).
 */
import type { Button, Reply } from '../../src/core/index.js';

/** Telegram refuses a message text longer than this (UTF-16 code units, as JavaScript counts). */
export const MAX_MESSAGE_LENGTH = 4096;
/** Telegram refuses callback_data longer than this, in bytes. */
const MAX_CALLBACK_DATA_BYTES = 64;
/** Marks callback data that names a button by position because its id did not fit. */
const BY_POSITION = '~';

export interface InlineKeyboardButton {
  text: string;
  callback_data: string;
}

/** A one-time reply keyboard with Telegram's "share my phone number" button (request_contact). */
export interface ContactKeyboard {
  keyboard: { text: string; request_contact: true }[][];
  resize_keyboard: true;
  one_time_keyboard: true;
}

/** One sendMessage call's body, minus chat_id. */
export interface OutgoingMessage {
  text: string;
  reply_markup?: { inline_keyboard: InlineKeyboardButton[][] } | ContactKeyboard;
}

/**
 * The callback data of a button: its id, or "~<position>" when the id is longer than
 * Telegram allows (the tap then travels as the button's label, which the engine
 * matches like typed text).
 */
export function encodeCallbackData(button: Button, index: number): string {
  const fits = Buffer.byteLength(button.id, 'utf8') <= MAX_CALLBACK_DATA_BYTES && !button.id.startsWith(BY_POSITION);
  return fits ? button.id : `${BY_POSITION}${index}`;
}

export function decodeCallbackData(data: string): { buttonId?: string } {
  return data.startsWith(BY_POSITION) ? {} : { buttonId: data };
}

/**
 * Cuts a text into pieces of at most `max` characters, preferring a paragraph break,
 * then a line break, then a space, so no word is cut unless a single word is longer
 * than a whole message. Never splits a surrogate pair (emoji).
 */
export function splitText(text: string, max = MAX_MESSAGE_LENGTH): string[] {
  const parts: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const window = rest.slice(0, max + 1);
    let cut = -1;
    for (const separator of ['\n\n', '\n', ' ']) {
      const at = window.lastIndexOf(separator);
      if (at > max / 2) {
        cut = at;
        break;
      }
    }
    let head: string;
    if (cut > 0) {
      head = rest.slice(0, cut);
      rest = rest.slice(cut).replace(/^\s+/, '');
    } else {
      let end = max;
      const code = rest.charCodeAt(end - 1);
      if (code >= 0xd800 && code <= 0xdbff) end -= 1; // keep the pair together
      head = rest.slice(0, end);
      rest = rest.slice(end);
    }
    head = head.trimEnd();
    if (head) parts.push(head);
  }
  if (rest.trim() || parts.length === 0) parts.push(rest);
  return parts;
}

/** The Telegram messages for one reply: its text in pieces, the keyboard on the last one. */
export function renderReply(reply: Reply): OutgoingMessage[] {
  const pieces = splitText(reply.text);
  const messages: OutgoingMessage[] = pieces.map((text) => ({ text }));
  const last = messages[messages.length - 1];
  if (last && reply.buttons?.length) {
    last.reply_markup = {
      inline_keyboard: reply.buttons.map((button, index) => [{ text: button.text, callback_data: encodeCallbackData(button, index) }]),
    };
  } else if (last && reply.requestContact) {
    // The number Telegram shares this way is the sender's own, proved by Telegram (Ley 2300 art. 4).
    last.reply_markup = { keyboard: [[{ text: reply.requestContact, request_contact: true }]], resize_keyboard: true, one_time_keyboard: true };
  }
  return messages;
}
