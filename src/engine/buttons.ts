/**
 * Buttons for channels that cannot show them (WhatsApp Web, SMS-like transports):
 * one shared rendering as a numbered list, and one shared reading of what the
 * debtor typed back ("1", "la 2", or the button's text).
 */
import { foldText } from '../flows/format.js';
import type { Button, Reply } from './types.js';

/**
 * The reply as plain text, its buttons as a numbered list under it:
 *
 *   ¿Cómo quieres pagar?
 *
 *   1. Pago de contado
 *   2. 3 cuotas
 *
 *   Responda con el número de su opción.
 */
export function renderNumberedOptions(reply: Reply): string {
  if (!reply.buttons?.length) return reply.text;
  const options = reply.buttons.map((b, i) => `${i + 1}. ${b.text}`).join('\n');
  return `${reply.text}\n\n${options}\n\nResponda con el número de su opción.`;
}

const NUMBER_CHOICE = /^(?:(?:la|el|opcion|opción|numero|número|#)\s*)*(\d{1,2})$/;

/**
 * The button the debtor meant by typing `text`: its number in the list ("1", "la 2",
 * "opción 3", "2."), its text, or its id — ignoring case, accents and punctuation.
 * Undefined when the text is anything else.
 */
export function matchButton(text: string | undefined, buttons: readonly Button[] | undefined): Button | undefined {
  if (!text || !buttons?.length) return undefined;
  const folded = foldText(text);
  if (!folded) return undefined;
  const num = NUMBER_CHOICE.exec(folded);
  if (num) {
    const index = Number(num[1]) - 1;
    return buttons[index];
  }
  // Compared without spaces, so "$98.765" and "98765" read the same.
  const compact = folded.replace(/ /g, '');
  const same = (s: string) => foldText(s).replace(/ /g, '') === compact;
  return buttons.find((b) => same(b.text)) ?? buttons.find((b) => same(b.id));
}
