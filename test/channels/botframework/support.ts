import { testPorts } from '../../support/ports.js';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import { createBotFrameworkChannel, type BotFrameworkChannel } from '../../../channels/botframework/index.js';
import { loadConfig } from '../../../src/core/index.js';
import type { InboundMessage, MessageHandler, OutboundChannel, Reply, TurnResult } from '../../../src/core/index.js';
import { createLogger } from '../../../src/log.js';
import { createKnex, type Knex } from '../../../src/store/db.js';

export const quietLog = createLogger({ level: 'silent', pretty: false });
const fixtures = path.join(__dirname, '..', '..', 'fixtures', 'botframework');

/** A recorded-shape Activity from test/fixtures/botframework, its serviceUrl pointed at `serviceUrl`. */
export function activity(name: string, serviceUrl: string): Record<string, unknown> {
  const json = JSON.parse(fs.readFileSync(path.join(fixtures, `${name}.json`), 'utf8')) as Record<string, unknown>;
  return { ...json, serviceUrl };
}

/**
 * Stands in for the engine: records what it is handed and, like the engine's outbox,
 * delivers its replies through the channel's OutboundChannel with the stored reference.
 */
export class RecordingHandler implements MessageHandler {
  readonly received: InboundMessage[] = [];
  outbound?: OutboundChannel;
  constructor(private readonly answer: (message: InboundMessage) => Reply[] = () => [{ text: 'Hola, soy el asistente virtual.' }]) {}

  async handle(message: InboundMessage): Promise<TurnResult> {
    this.received.push(message);
    const replies = this.answer(message);
    if (this.outbound && replies.length) await this.outbound.send(message.from, replies, { channelRef: message.channelRef });
    return { conversationId: 'c1', state: 'inicial', replies, context: {}, duplicate: false };
  }
}

export interface Harness {
  channel: BotFrameworkChannel;
  url: string;
  close(): Promise<void>;
}

/** The channel mounted on a local express app, in front of `handler`. */
export async function startHarness(handler: MessageHandler, env: Record<string, string> = {}, knex?: Knex): Promise<Harness> {
  const config = loadConfig({ BOTFRAMEWORK_ENABLED: 'true', ...env });
  // The channel never touches the database itself; knex connects only when used.
  const ownKnex = knex ? undefined : createKnex('postgres://unused@127.0.0.1:1/unused');
  const channel = createBotFrameworkChannel(testPorts({ engine: handler, knex: knex ?? (ownKnex as Knex), config: config, log: quietLog }));
  if (handler instanceof RecordingHandler) handler.outbound = channel.outbound;
  const app = express();
  channel.mount(app);
  const server = http.createServer(app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    channel,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ownKnex?.destroy();
    },
  };
}

export function postActivity(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
