import type { Knex } from '../store/index.js';
import { unreachableReason } from '../store/index.js';
import { recheckBeforeSend, type SendCheck } from './outbound.js';

/**
 * The outbox's last look before a send: nothing goes to a channel user the platform says
 * cannot be reached (they blocked the bot) — replies included, which would only fail;
 * then the compliance guard's checks for the messages the agency starts.
 */
export async function recheckReachableBeforeSend(
  db: Knex,
  row: { id: number; channel: string; recipient: string; kind: string; conversation_id?: string | null },
  now: Date,
): Promise<SendCheck | { action: 'cancel'; reason: `canal_inalcanzable: ${string}` }> {
  const unreachable = await unreachableReason(db, row.channel, row.recipient);
  if (unreachable) return { action: 'cancel', reason: `canal_inalcanzable: ${unreachable}` };
  return recheckBeforeSend(db, row, now);
}
