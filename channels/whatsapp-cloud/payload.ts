import { z } from 'zod';
import type { InboundMessage } from '../../src/core/index.js';

/**
 * The parts of Meta's `messages` webhook acuerdo reads. Unknown fields pass; a
 * message or status of a shape we do not know is skipped, not fatal.
 * https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components
 */
const graphErrorSchema = z.object({
  code: z.number(),
  title: z.string().optional(),
  message: z.string().optional(),
  error_data: z.object({ details: z.string().optional() }).optional(),
});
export type WebhookError = z.infer<typeof graphErrorSchema>;

const messageSchema = z.object({
  from: z.string(),
  id: z.string(),
  timestamp: z.string(),
  type: z.string(),
  text: z.object({ body: z.string() }).optional(),
  interactive: z
    .object({
      type: z.string(),
      button_reply: z.object({ id: z.string(), title: z.string() }).optional(),
      list_reply: z.object({ id: z.string(), title: z.string(), description: z.string().optional() }).optional(),
    })
    .optional(),
  /** A quick-reply button of a template message. */
  button: z.object({ payload: z.string().optional(), text: z.string() }).optional(),
  image: z.object({ caption: z.string().optional() }).optional(),
  video: z.object({ caption: z.string().optional() }).optional(),
  document: z.object({ caption: z.string().optional() }).optional(),
  audio: z.object({ voice: z.boolean().optional() }).optional(),
});
type CloudMessage = z.infer<typeof messageSchema>;

const statusSchema = z.object({
  id: z.string(),
  status: z.string(),
  timestamp: z.string(),
  recipient_id: z.string().optional(),
  errors: z.array(graphErrorSchema).optional(),
});

const changeSchema = z.object({
  field: z.string(),
  value: z.object({
    messaging_product: z.string().optional(),
    metadata: z.object({ phone_number_id: z.string() }).optional(),
    messages: z.array(z.unknown()).optional(),
    statuses: z.array(z.unknown()).optional(),
    errors: z.array(z.unknown()).optional(),
  }),
});

const webhookSchema = z.object({
  object: z.string(),
  entry: z.array(z.object({ id: z.string().optional(), changes: z.array(z.unknown()) })),
});

/** A delivery status Meta reports for a message we sent. */
export interface StatusUpdate {
  /** The wamid the send returned. */
  externalId: string;
  status: 'sent' | 'delivered' | 'read' | 'failed';
  at: Date;
  errors: WebhookError[];
}

export interface ParsedWebhook {
  messages: InboundMessage[];
  statuses: StatusUpdate[];
  /** Errors Meta reports outside a message or status (e.g. a rate limit on our number). */
  errors: WebhookError[];
  /** Entries for another phone number of the same app, or shapes we do not handle. */
  skipped: number;
}

const MEDIA_TYPES = new Set(['image', 'video', 'audio', 'document', 'sticker', 'location', 'contacts', 'unsupported', 'unknown']);
/** Not something the debtor said: reactions, system notices, edits, revocations. */
const IGNORED_TYPES = new Set(['reaction', 'system', 'ephemeral', 'request_welcome', 'order']);

/** Meta's Unix time in seconds; `fallback` (when the webhook arrived) when it is missing or wrong. */
function fromUnix(seconds: string, fallback: Date): Date {
  const n = Number(seconds);
  return Number.isFinite(n) && n > 0 ? new Date(n * 1000) : fallback;
}

function toInbound(m: CloudMessage, receivedAt: Date): InboundMessage | undefined {
  // The sender's wa_id is the phone WhatsApp verified (Ley 2300 art. 4: it may stand for the second identity fact).
  const base = { channel: 'whatsapp-cloud' as const, from: m.from, messageId: m.id, at: fromUnix(m.timestamp, receivedAt), verifiedPhone: m.from };
  if (m.type === 'text' && m.text) return { ...base, text: m.text.body };
  if (m.type === 'interactive' && m.interactive) {
    const choice = m.interactive.button_reply ?? m.interactive.list_reply;
    return choice ? { ...base, buttonId: choice.id, text: choice.title } : undefined;
  }
  if (m.type === 'button' && m.button) {
    return { ...base, text: m.button.text, ...(m.button.payload ? { buttonId: m.button.payload } : {}) };
  }
  if (MEDIA_TYPES.has(m.type)) {
    const kind = m.type === 'audio' && m.audio?.voice ? 'voice' : m.type;
    const caption = (m.image ?? m.video ?? m.document)?.caption?.trim();
    return { ...base, media: { kind }, ...(caption ? { text: caption } : {}) };
  }
  if (IGNORED_TYPES.has(m.type)) return undefined;
  return { ...base, media: { kind: m.type } };
}

const STATUSES = new Set(['sent', 'delivered', 'read', 'failed']);

/**
 * The debtor messages and delivery statuses in one webhook delivery for our phone
 * number. Throws only when the body is not a WhatsApp Business webhook at all.
 */
export function parseWebhook(body: unknown, phoneNumberId: string, receivedAt: Date): ParsedWebhook {
  const root = webhookSchema.parse(body);
  const out: ParsedWebhook = { messages: [], statuses: [], errors: [], skipped: 0 };
  if (root.object !== 'whatsapp_business_account') return { ...out, skipped: root.entry.length };
  for (const entry of root.entry) {
    for (const rawChange of entry.changes) {
      const change = changeSchema.safeParse(rawChange);
      if (!change.success || change.data.field !== 'messages') {
        out.skipped++;
        continue;
      }
      const value = change.data.value;
      if (value.metadata && value.metadata.phone_number_id !== phoneNumberId) {
        out.skipped++;
        continue;
      }
      for (const raw of value.messages ?? []) {
        const m = messageSchema.safeParse(raw);
        const inbound = m.success ? toInbound(m.data, receivedAt) : undefined;
        // The receiving number's id: the service maps it to the agency that owns it.
        if (inbound) out.messages.push({ ...inbound, to: phoneNumberId });
        else out.skipped++;
      }
      for (const raw of value.statuses ?? []) {
        const s = statusSchema.safeParse(raw);
        if (s.success && STATUSES.has(s.data.status)) {
          out.statuses.push({
            externalId: s.data.id,
            status: s.data.status as StatusUpdate['status'],
            at: fromUnix(s.data.timestamp, receivedAt),
            errors: s.data.errors ?? [],
          });
        } else out.skipped++;
      }
      for (const raw of value.errors ?? []) {
        const e = graphErrorSchema.safeParse(raw);
        if (e.success) out.errors.push(e.data);
      }
    }
  }
  return out;
}
