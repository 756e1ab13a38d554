import type { ChannelPorts } from '../../src/core/index.js';
import { OUTSIDE_WINDOW, outsideWindowExplanation } from './graph-api.js';
import type { StatusUpdate, WebhookError } from './payload.js';

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
 * Applies one delivery status to the outbox row that sent the wamid, whichever of the
 * row's messages it is. Meta does not promise the order of status webhooks; the outbox
 * only moves a message, and its row, forward (see applyDeliveryStatus).
 * Returns how many rows moved (0 when the row is unknown or already further along).
 */
export async function applyStatus(report: ChannelPorts['reportDeliveryStatus'], update: StatusUpdate): Promise<number> {
  return report({
    channel: 'whatsapp-cloud',
    externalId: update.externalId,
    status: update.status,
    at: update.at,
    ...(update.status === 'failed' ? { error: describeErrors(update.errors) ?? 'WhatsApp Cloud API reported the message as failed' } : {}),
  });
}
