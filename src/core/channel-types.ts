/**
 * The engine's public contract with the channels: one message type in, replies out.
 * Channel adapters (channels/*) import only these types and the Engine.
 */

/** Every transport acuerdo speaks. "api" is the REST chat API (the seed system's channel). */
export const CHANNELS = ['api', 'webchat', 'telegram', 'botframework', 'whatsapp-web', 'whatsapp-cloud'] as const;
export type ChannelName = (typeof CHANNELS)[number];

/** What a debtor sent, in any channel. */
export interface InboundMessage {
  channel: ChannelName;
  /** The sender's id on that channel (chat id, phone, visitor id…). */
  from: string;
  /** The transport's id for this delivery; a repeated id gets no second reply. */
  messageId: string;
  text?: string;
  /** Set when the debtor pressed a button. */
  buttonId?: string;
  /** Set when the debtor sent something other than text (photo, voice note, sticker…). */
  media?: { kind: string };
  at: Date;
  /** Channel-specific address data to keep on the conversation (e.g. a Bot Framework reference). */
  channelRef?: unknown;
  /**
   * The sender's phone as the platform itself proves it (WhatsApp: the number the
   * message came from). Only channels whose platform verifies the number set it; the
   * engine honours it only for WhatsApp (Cloud and Web). Any format: +57, spaces…
   */
  verifiedPhone?: string;
  /**
   * Where the message arrived: the receiving number's id (WhatsApp Cloud), the bot's
   * username (Telegram)… The service maps it to the agency that owns that address
   * (agencies.channel_addresses); without it, or unmapped, the default agency.
   */
  to?: string;
  /**
   * A contact card the sender shared (Telegram's "Compartir mi número" button, or a
   * contact forwarded from the address book). `userId` is the platform's id of the
   * person the card belongs to, when it has one: the engine counts the phone as the
   * sender's only when `userId` equals `from` (their own card, proved by the platform).
   */
  contact?: { phone: string; userId?: string };
  /**
   * Where the debtor came from, when the platform says so: the payload of a deep link
   * that opened the chat (Telegram's t.me/<bot>?start=<payload>), e.g. a campaign's code.
   * Kept as the source of the conversation it opens (campaign attribution).
   */
  source?: string;
}

export interface Button {
  id: string;
  text: string;
}

/** One message of the bot's answer. */
export interface Reply {
  text: string;
  buttons?: Button[];
  /**
   * The label of a button that asks the debtor to share their own phone number, where
   * the platform can prove it (Telegram's request_contact keyboard button). Channels
   * without such a button leave it out; the text says what to do without it.
   */
  requestContact?: string;
  /**
   * A file sent after the text, fetched by the platform from its URL (the paz y salvo PDF
   * behind a signed, expiring link). Telegram sends it as a document; channels without
   * documents show only the text, which carries the same link.
   */
  document?: { url: string; filename: string };
}

/** What a channel reports after delivering replies. */
export interface SendResult {
  /** The last message's id (kept on the outbox row as external_id). */
  externalId?: string;
  /** Every delivered message's id, in order (a reply may take several messages, or none may have an id). */
  externalIds?: string[];
}

/** A transport that can deliver replies to a channel user. */
export interface OutboundChannel {
  readonly name: ChannelName;
  /**
   * Delivers the replies in order. Throws ChannelApiError when the transport refused
   * or failed; the outbox retries by its `retryable` and `retryAfterMs`. A failure after
   * some replies went out says so in the error's `delivered` (and `externalIds`), so the
   * retry sends only the rest.
   * May return the provider's message ids, kept for delivery-status callbacks.
   */
  send(to: string, replies: Reply[], options?: { channelRef?: unknown }): Promise<SendResult | void>;
}

/** What one turn produced. The replies are also queued in the outbox and sent after commit. */
export interface TurnResult {
  conversationId: string;
  /** The flow state after the turn. */
  state: string;
  replies: Reply[];
  /** The conversation's context after the turn (debtor data only once identified). */
  context: Record<string, unknown>;
  /** True when this delivery was already handled: nothing was done and no reply is sent. */
  duplicate: boolean;
}

/** What channel adapters call for every inbound message. */
export interface MessageHandler {
  handle(message: InboundMessage): Promise<TurnResult>;
}
