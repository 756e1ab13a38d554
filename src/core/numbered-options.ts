import type { Reply } from './channel-types.js';

/**
 * Buttons for channels that cannot show them (WhatsApp Web, plain-text fallbacks): the
 * reply as plain text, its buttons as a numbered list under it. The engine reads the
 * number the debtor types back (src/engine/buttons.ts).
 *
 *   ¿Cómo quiere pagar?
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
