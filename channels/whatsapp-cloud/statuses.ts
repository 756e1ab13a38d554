import type { Knex } from '../../src/store/db.js';
import { OUTSIDE_WINDOW, outsideWindowExplanation } from './graph-api.js';
import type { StatusUpdate, WebhookError } from './payload.js';

/**
 * How far along a sent message is. Meta does not promise the order of status
 * webhooks, so a status only moves a row forward: a late "delivered" never
 * overwrites "read", and a "failed" never undoes a delivery that happened.
 */
const RANK_SQL = `case status when 'sent' then 1 when 'failed' then 2 when 'delivered' then 3 when 'read' then 4 else 0 end`;
const RANK: Record<StatusUpdate['status'], number> = { sent: 1, failed: 2, delivered: 3, read: 4 };

export function describeErrors(errors: WebhookError[]): string | undefined {
  if (!errors.length) return undefined;
  return errors
    .map((e) =>
      e.code === OUTSIDE_WINDOW
        ? outsideWindowExplanation(e.error_data?.details)
        : `WhatsApp Cloud API error ${e.code}: ${e.title ?? e.message ?? 'unknown'}${e.error_data?.details ? ` (${e.error_data.details})` : ''}`,
    )
    .join('; ');
}

/**
 * Applies one delivery status to the outbox row whose external_id is the wamid.
 * Returns how many rows moved (0 when the row is unknown or already further along).
 */
export async function applyStatus(knex: Knex, update: StatusUpdate): Promise<number> {
  const lastError = update.status === 'failed' ? (describeErrors(update.errors) ?? 'WhatsApp Cloud API reported the message as failed') : null;
  const result = await knex.raw<{ rowCount: number }>(
    `update outbox
        set status = ?,
            last_error = coalesce(?, last_error),
            sent_at = coalesce(sent_at, ?),
            updated_at = now()
      where external_id = ? and (${RANK_SQL}) < ?`,
    [update.status, lastError, update.status === 'failed' ? null : update.at, update.externalId, RANK[update.status]],
  );
  return result.rowCount;
}
