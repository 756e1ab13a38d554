import { renderNumberedOptions, splitAtSentences } from '../../src/core/index.js';
import type { Reply } from '../../src/core/index.js';
import type { GraphMessage } from './graph-api.js';

/** Meta's limits for interactive messages (characters). */
export const LIMITS = {
  buttons: 3,
  buttonTitle: 20,
  buttonId: 256,
  listRows: 10,
  rowTitle: 24,
  rowId: 200,
  rowDescription: 72,
  interactiveBody: 1024,
  text: 4096,
} as const;

/** The label of the button that opens a list; debtors read it. */
const LIST_BUTTON = 'Ver opciones';
const LIST_SECTION = 'Opciones';

/**
 * `text` in at most `max` characters: whole words where possible, an ellipsis when
 * something was cut. "Pago de contado con 40% de descuento" → "Pago de contado con…".
 */
export function shortenLabel(text: string, max: number): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  const chars = Array.from(clean);
  if (chars.length <= max) return clean;
  const room = chars.slice(0, max - 1).join('');
  // The room may end exactly at a word's end; otherwise cut back to the last space,
  // unless that throws away more than half of the room.
  const endsAtWord = chars[max - 1] === ' ';
  const lastSpace = room.lastIndexOf(' ');
  const cut = endsAtWord ? room : lastSpace >= Math.floor((max - 1) / 2) ? room.slice(0, lastSpace) : room;
  return cut.replace(/[\s.,;:\-–—(]+$/u, '') + '…';
}

function length(text: string): number {
  return Array.from(text).length;
}

function textMessage(body: string): GraphMessage {
  return { type: 'text', text: { preview_url: false, body } };
}

function unique(values: string[]): boolean {
  return new Set(values).size === values.length;
}

/**
 * One reply as a Cloud API message: up to 3 buttons as interactive reply buttons,
 * 4 to 10 as an interactive list, anything else (or anything that would break
 * Meta's limits, like two titles that shorten to the same text) as numbered text,
 * which the engine reads back by number or text like any other channel.
 */
export function toGraphMessage(reply: Reply): GraphMessage {
  const buttons = reply.buttons ?? [];
  if (buttons.length === 0) return textMessage(reply.text);
  const bodyFits = reply.text.trim().length > 0 && length(reply.text) <= LIMITS.interactiveBody;

  if (bodyFits && buttons.length <= LIMITS.buttons) {
    const titles = buttons.map((b) => shortenLabel(b.text, LIMITS.buttonTitle));
    if (unique(titles) && buttons.every((b) => b.id.length > 0 && length(b.id) <= LIMITS.buttonId)) {
      return {
        type: 'interactive',
        interactive: {
          type: 'button',
          body: { text: reply.text },
          action: {
            buttons: buttons.map((b, i) => ({ type: 'reply', reply: { id: b.id, title: titles[i] } })),
          },
        },
      };
    }
  }

  if (bodyFits && buttons.length <= LIMITS.listRows) {
    const titles = buttons.map((b) => shortenLabel(b.text, LIMITS.rowTitle));
    if (unique(titles) && buttons.every((b) => b.id.length > 0 && length(b.id) <= LIMITS.rowId)) {
      return {
        type: 'interactive',
        interactive: {
          type: 'list',
          body: { text: reply.text },
          action: {
            button: LIST_BUTTON,
            sections: [
              {
                title: LIST_SECTION,
                rows: buttons.map((b, i) => {
                  const title = titles[i] ?? b.text;
                  // The description carries what the title had to leave out.
                  const full = b.text.replace(/\s+/g, ' ').trim();
                  return title === full
                    ? { id: b.id, title }
                    : { id: b.id, title, description: shortenLabel(full, LIMITS.rowDescription) };
                }),
              },
            ],
          },
        },
      };
    }
  }

  return textMessage(renderNumberedOptions(reply));
}

/**
 * One reply as the Cloud API messages it takes: Meta refuses a text body over 4,096
 * characters, so a longer text leaves in parts cut at sentence boundaries, in order, and
 * the buttons ride on the last part. That part is kept within the 1,024 characters of an
 * interactive body when it can be, so the buttons stay buttons.
 */
export function toGraphMessages(reply: Reply): GraphMessage[] {
  const buttons = reply.buttons ?? [];
  if (buttons.length === 0) return splitAtSentences(reply.text, LIMITS.text).map(textMessage);
  const single = toGraphMessage(reply);
  if (single.type === 'interactive' || length(reply.text) <= LIMITS.text && length(renderNumberedOptions(reply)) <= LIMITS.text) return [single];
  const parts = splitAtSentences(reply.text, LIMITS.text);
  const last = parts.pop() ?? '';
  const tail = length(last) > LIMITS.interactiveBody && buttons.length <= LIMITS.listRows ? splitAtSentences(last, LIMITS.interactiveBody) : [last];
  const closing = tail.pop() ?? '';
  const withButtons = toGraphMessage({ ...reply, text: closing });
  if (withButtons.type === 'interactive') return [...[...parts, ...tail].map(textMessage), withButtons];
  // Numbered options as text: the options go with the text's end, cut again if that is too long.
  return [...parts.map(textMessage), ...splitAtSentences(renderNumberedOptions({ ...reply, text: last }), LIMITS.text).map(textMessage)];
}
