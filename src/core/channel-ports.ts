/**
 * What a channel adapter gets from the service, and all it gets: channels/ import only
 * src/core, never the database or the engine's internals. The service (src/service.ts)
 * builds one ChannelPorts and hands it to every enabled adapter.
 */
import type http from 'node:http';
import type { Express, RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { ChannelName, MessageHandler, OutboundChannel, Button } from './channel-types.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';

/** A delivery status a provider reported for one message it accepted (e.g. a WhatsApp Cloud status webhook). */
export interface DeliveryStatusUpdate {
  channel: ChannelName;
  /** The message's id, as the channel's send returned it. */
  externalId: string;
  status: 'sent' | 'delivered' | 'read' | 'failed';
  /** The provider's time for the status. */
  at: Date;
  /** Why the message failed (kept as the outbox row's last_error). */
  error?: string;
}

/** A channel user became unreachable (blocked the bot) or reachable again, by the platform's word. */
export interface ReachabilityUpdate {
  channel: ChannelName;
  userId: string;
  reachable: boolean;
  /** The platform's time for the change. */
  at: Date;
  reason: 'blocked';
}

/** One message of a channel user's conversations, as a transcript shows it. */
export interface HistoryMessage {
  id: number;
  direction: 'in' | 'out';
  /** debtor | bot | agent */
  author: string;
  text: string | null;
  buttons?: Button[];
  mediaKind: string | null;
  /** The transport's id of an inbound message (the one the engine dedupes on). */
  externalId: string | null;
  at: Date;
}

/** Secrets a channel keeps across restarts and instances (e.g. the widget's signing key). */
export interface SecretStore {
  /** The secret stored under `name`; the first caller's `generate()` stores it, everyone then reads the same. */
  getOrCreate(name: string, generate: () => string): Promise<string>;
}

/** The configuration values channel adapters read. */
export type ChannelConfig = Pick<
  Config,
  | 'NODE_ENV'
  | 'PUBLIC_URL'
  | 'dataDir'
  | 'CHROMIUM_PATH'
  | 'WEBCHAT_ENABLED'
  | 'WEBCHAT_SECRET'
  | 'WEBCHAT_RATE_PER_MINUTE'
  | 'WEBCHAT_MAX_MESSAGE_CHARS'
  | 'WEBCHAT_DEMO_PAGE'
  | 'WEBCHAT_ALLOWED_ORIGINS'
  | 'WHATSAPP_WEB_ENABLED'
  | 'WHATSAPP_WEB_TYPING_MS_PER_CHAR'
  | 'WHATSAPP_WEB_TYPING_MAX_MS'
  | 'WHATSAPP_WEB_MAX_PER_MINUTE'
  | 'WHATSAPP_CLOUD_ENABLED'
  | 'WHATSAPP_CLOUD_TOKEN'
  | 'WHATSAPP_CLOUD_PHONE_NUMBER_ID'
  | 'WHATSAPP_CLOUD_APP_SECRET'
  | 'WHATSAPP_CLOUD_VERIFY_TOKEN'
  | 'WHATSAPP_CLOUD_BASE_URL'
  | 'WHATSAPP_CLOUD_API_VERSION'
  | 'TELEGRAM_BOT_TOKEN'
  | 'TELEGRAM_WEBHOOK_URL'
  | 'TELEGRAM_WEBHOOK_SECRET'
  | 'TELEGRAM_API_ROOT'
  | 'BOTFRAMEWORK_ENABLED'
  | 'MicrosoftAppId'
  | 'MicrosoftAppPassword'
  | 'MicrosoftAppType'
  | 'MicrosoftAppTenantId'
  | 'BotOpenIdMetadata'
>;

/** What the service hands every channel adapter. */
export interface ChannelPorts {
  /** The engine: every inbound message goes through handle(). */
  engine: MessageHandler;
  /** Records a delivery status the platform reported; resolves with how many outbox rows moved. */
  reportDeliveryStatus(update: DeliveryStatusUpdate): Promise<number>;
  /**
   * Records that a channel user can no longer be written to (they blocked the bot) or can
   * again; the outbox cancels messages to an unreachable user.
   */
  reportReachability(update: ReachabilityUpdate): Promise<void>;
  /**
   * A channel user's messages across their conversations, oldest first: without `after`
   * the latest `limit`, with it the messages after that id. Internal notes are left out.
   */
  history(channel: ChannelName, userId: string, options: { after?: number; limit: number }): Promise<HistoryMessage[]>;
  secrets: SecretStore;
  /** Guards an operator-only route (the admin token). */
  adminGuard: RequestHandler;
  log: Logger;
  /** The service's one clock. */
  clock: Clock;
  config: ChannelConfig;
}

/**
 * A transport plugged into the service. The adapter owns its SDK client; SDK types
 * never leave its folder. Replies reach it through `outbound`, called by the outbox
 * after the turn commits.
 */
export interface ChannelAdapter {
  readonly name: ChannelName;
  readonly outbound: OutboundChannel;
  /** Adds the adapter's routes (webhooks) to the app, before the JSON body parser. */
  mount?(app: Express): void;
  /** Attaches to the HTTP server once it exists (WebSocket upgrades). */
  attachServer?(server: http.Server): void;
  /** Starts long-running work (polling, a linked phone's browser). */
  start?(): Promise<void>;
  stop?(): Promise<void>;
  /** A short status for operators, e.g. { state: 'ready' }. */
  status?(): Record<string, unknown>;
}
