import type { OutboundChannel, Reply } from '../core/index.js';
import { isTemplateReply, type CampaignTemplate } from './content.js';

/** A channel adapter that can also send approved templates (whatsapp-cloud). */
export interface TemplateCapable {
  readonly outbound: OutboundChannel;
  sendTemplate?: (to: string, template: CampaignTemplate) => Promise<{ externalId?: string }>;
}

/**
 * The OutboundChannel the outbox should use for an adapter: campaign rows whose payload
 * is a template go through the adapter's sendTemplate; every other row through its
 * ordinary send. Adapters without templates are returned as they are.
 */
export function templateAwareOutbound(adapter: TemplateCapable): OutboundChannel {
  const sendTemplate = adapter.sendTemplate?.bind(adapter);
  if (!sendTemplate) return adapter.outbound;
  const inner = adapter.outbound;
  return {
    name: inner.name,
    async send(to: string, replies: Reply[], options?: { channelRef?: unknown }) {
      const [first] = replies;
      if (replies.length === 1 && isTemplateReply(first)) return sendTemplate(to, first.template);
      return inner.send(to, replies, options);
    },
  };
}
