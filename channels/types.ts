import type http from 'node:http';
import type { Express } from 'express';
import type { Config } from '../src/config.js';
import type { ChannelName, MessageHandler, OutboundChannel } from '../src/core/index.js';
import type { Logger } from '../src/log.js';
import type { Knex } from '../src/store/db.js';

/** What the service hands every channel adapter. */
export interface ChannelDeps {
  /** The engine: every inbound message goes through handle(). */
  handler: MessageHandler;
  knex: Knex;
  config: Config;
  log: Logger;
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
