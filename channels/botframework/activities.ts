/**
 * Bot Framework Activity JSON → the engine's InboundMessage, and the conversation
 * reference kept to answer later. Pure: no I/O, no SDK client.
 */
import { z } from 'zod';
import type { InboundMessage } from '../../src/core/index.js';

const account = z.object({ id: z.string().min(1), name: z.string().optional() }).passthrough();

/** The fields every activity this bot reads must have; anything else is a 400. */
export const activitySchema = z
  .object({
    type: z.string().min(1),
    id: z.string().min(1).optional(),
    channelId: z.string().min(1),
    serviceUrl: z.url(),
    timestamp: z.string().optional(),
    from: account,
    recipient: account,
    conversation: z
      .object({ id: z.string().min(1), isGroup: z.boolean().optional(), conversationType: z.string().optional() })
      .passthrough(),
    text: z.string().optional(),
    value: z.unknown().optional(),
    attachments: z.array(z.object({ contentType: z.string() }).passthrough()).optional(),
    membersAdded: z.array(account).optional(),
    locale: z.string().optional(),
  })
  .passthrough();

export type ActivityJson = z.infer<typeof activitySchema>;

/** The address a reply needs: Bot Framework's ConversationReference, as stored on the conversation. */
export const conversationReferenceSchema = z
  .object({
    activityId: z.string().optional(),
    user: account.optional(),
    bot: account,
    conversation: z.object({ id: z.string().min(1) }).passthrough(),
    channelId: z.string().min(1),
    locale: z.string().optional(),
    serviceUrl: z.url(),
  })
  .passthrough();

export type StoredReference = z.infer<typeof conversationReferenceSchema>;

/** What the adapter does with one activity. */
export type ActivityAction = { kind: 'handle'; message: InboundMessage } | { kind: 'ignore'; reason: string };

/** What a new member's arrival becomes: a plain greeting, which the flow answers with its opening. */
export const OPENING_TEXT = 'hola';

/** The channel user a conversation belongs to: Bot Framework's conversation, which the channel assigns. */
export function userKey(activity: Pick<ActivityJson, 'channelId' | 'conversation'>): string {
  return `${activity.channelId}:${activity.conversation.id}`;
}

/** The reference that lets a later message reach this conversation (TurnContext.getConversationReference's shape). */
export function referenceOf(activity: ActivityJson): StoredReference {
  return {
    ...(activity.id ? { activityId: activity.id } : {}),
    user: { id: activity.from.id, ...(activity.from.name ? { name: activity.from.name } : {}) },
    bot: { id: activity.recipient.id, ...(activity.recipient.name ? { name: activity.recipient.name } : {}) },
    conversation: { ...activity.conversation },
    channelId: activity.channelId,
    ...(activity.locale ? { locale: activity.locale } : {}),
    serviceUrl: activity.serviceUrl,
  };
}

function isGroup(activity: ActivityJson): boolean {
  const type = activity.conversation.conversationType;
  return activity.conversation.isGroup === true || type === 'groupChat' || type === 'channel';
}

/** The kind of a non-text attachment: image, audio, video or file. */
function mediaKind(contentType: string): string {
  const top = contentType.split('/')[0] ?? '';
  if (top === 'image' || top === 'audio' || top === 'video') return top;
  return 'file';
}

/** Attachments that only restate the text (Teams sends the message again as HTML). */
function isTextEcho(contentType: string): boolean {
  return contentType === 'text/html' || contentType === 'text/plain';
}

/**
 * Decides what one activity means for the engine. The sender is the conversation
 * (assigned by the channel, so a client cannot claim someone else's); debts are
 * discussed only in one-to-one conversations (Ley 2300, art. 4).
 */
export function interpretActivity(activity: ActivityJson, receivedAt: Date): ActivityAction {
  if (isGroup(activity)) return { kind: 'ignore', reason: 'not a one-to-one conversation' };
  const base = {
    channel: 'botframework' as const,
    from: userKey(activity),
    at: activity.timestamp && !Number.isNaN(Date.parse(activity.timestamp)) ? new Date(activity.timestamp) : receivedAt,
    channelRef: referenceOf(activity),
  };
  const deliveryId = (id: string) => `${activity.channelId}:${activity.conversation.id}:${id}`;

  if (activity.type === 'conversationUpdate') {
    const newcomers = (activity.membersAdded ?? []).filter((m) => m.id !== activity.recipient.id);
    if (!newcomers.length) return { kind: 'ignore', reason: 'no one but the bot joined' };
    const id = activity.id ?? `join:${newcomers.map((m) => m.id).join(',')}`;
    return { kind: 'handle', message: { ...base, messageId: deliveryId(id), text: OPENING_TEXT } };
  }

  if (activity.type !== 'message') return { kind: 'ignore', reason: `${activity.type} activity` };
  if (!activity.id) return { kind: 'ignore', reason: 'message without an id' };
  const messageId = deliveryId(activity.id);
  const text = activity.text?.trim();
  // A messageBack or card submit carries the button in value.
  const value = activity.value as { buttonId?: unknown } | undefined;
  const buttonId = typeof value?.buttonId === 'string' ? value.buttonId : undefined;
  if (text || buttonId) {
    return { kind: 'handle', message: { ...base, messageId, ...(text ? { text } : {}), ...(buttonId ? { buttonId } : {}) } };
  }
  const media = (activity.attachments ?? []).find((a) => !isTextEcho(a.contentType));
  if (media) return { kind: 'handle', message: { ...base, messageId, media: { kind: mediaKind(media.contentType) } } };
  return { kind: 'handle', message: { ...base, messageId } };
}
