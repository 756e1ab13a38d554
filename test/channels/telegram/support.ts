import { testPorts } from '../../support/ports.js';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { loadConfig } from '../../../src/core/index.js';
import type { InboundMessage, MessageHandler, OutboundChannel, Reply, TurnResult } from '../../../src/core/index.js';
import { createLogger } from '../../../src/log.js';
import { createKnex } from '../../../src/store/db.js';
import { createTelegramChannel, type TelegramChannel, type TelegramChannelOptions } from '../../../channels/telegram/index.js';
import { TOKEN, type FakeBotApi } from './fake-bot-api.js';

export const SECRET = 'test-webhook-secret_0123456789';
export const quietLog = createLogger({ level: 'silent', pretty: false });

/**
 * Stands in for the engine: records what it is handed and, like the engine's outbox,
 * delivers its replies through the channel's OutboundChannel.
 */
export class RecordingHandler implements MessageHandler {
  readonly received: InboundMessage[] = [];
  outbound?: OutboundChannel;
  fail?: Error;
  constructor(private readonly answer: (message: InboundMessage) => Reply[] = () => [{ text: 'Hola, soy el asistente virtual.' }]) {}

  async handle(message: InboundMessage): Promise<TurnResult> {
    this.received.push(message);
    if (this.fail) throw this.fail;
    const replies = this.answer(message);
    if (this.outbound) await this.outbound.send(message.from, replies);
    return { conversationId: 'c1', state: 'inicio', replies, context: {}, duplicate: false };
  }
}

export interface Harness {
  channel: TelegramChannel;
  handler: RecordingHandler;
  /** Base URL of an express app with the channel mounted. */
  url: string;
  close(): Promise<void>;
}

/** The channel over the fake Bot API, its webhook served by a local express app. */
export async function startHarness(
  api: FakeBotApi,
  options: { env?: Record<string, string>; handler?: RecordingHandler; channel?: TelegramChannelOptions } = {},
): Promise<Harness> {
  const config = loadConfig({
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: api.url,
    TELEGRAM_WEBHOOK_URL: 'https://bot.example.com/telegram/webhook',
    TELEGRAM_WEBHOOK_SECRET: SECRET,
    ...options.env,
  });
  const handler = options.handler ?? new RecordingHandler();
  // The Telegram channel never touches the database; knex connects only when used.
  const knex = createKnex('postgres://unused@127.0.0.1:1/unused');
  const channel = createTelegramChannel(
    testPorts({ engine: handler, knex: knex, config: config, log: quietLog }),
    { limits: { perSecond: 1000, perChatIntervalMs: 0 }, ...options.channel },
  );
  handler.outbound = channel.outbound;
  const app = express();
  channel.mount(app);
  app.use(express.json());
  const server = http.createServer(app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    channel,
    handler,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await channel.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await knex.destroy();
    },
  };
}

/** Posts an update to the webhook; `secret: null` sends no secret header. */
export function postUpdate(url: string, update: unknown, secret: string | null = SECRET): Promise<Response> {
  return fetch(`${url}/telegram/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(secret !== null ? { 'x-telegram-bot-api-secret-token': secret } : {}) },
    body: JSON.stringify(update),
  });
}
