import { testPorts, testClock, TEST_TIME } from '../../support/ports.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { createWebchatChannel, type WebchatOptions } from '../../../channels/webchat/index.js';
import type { ServerFrame } from '../../../channels/webchat/protocol.js';
import { loadConfig, type Config } from '../../../src/core/index.js';
import type { InboundMessage, MessageHandler, OutboundChannel, Reply, TurnResult } from '../../../src/core/index.js';
import { createApp } from '../../../src/http/app.js';
import { createLogger } from '../../../src/log.js';
import type { Knex } from '../../../src/store/db.js';

export const quietLog = createLogger({ level: 'silent', pretty: false });

export function webchatConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATA_DIR: '/tmp/acuerdo-webchat-unused', ...env });
}

/**
 * A stand-in for the engine, storing what the real one stores (the conversation, the
 * inbound row with its external id, one row per reply) and sending the replies after
 * "commit" through the channel's outbound, as the outbox does. It answers from a script:
 * "hola" gets a greeting with buttons, a button press names the button, anything else
 * is echoed.
 */
export class ScriptedBot implements MessageHandler {
  readonly received: InboundMessage[] = [];
  outbound: OutboundChannel | undefined;
  /** While set, handle() waits for it: lets a test hold a turn open. */
  gate: Promise<void> | undefined;

  constructor(private readonly knex: Knex) {}

  replyTo(message: InboundMessage): Reply[] {
    if (message.buttonId) return [{ text: `Elegiste: ${message.buttonId}` }];
    const text = message.text ?? '';
    if (/^hola\b/i.test(text)) {
      return [
        { text: '¡Hola! Soy el asistente virtual de Cobranzas Andinas.' },
        { text: '¿Qué quieres hacer?', buttons: [{ id: 'consultar', text: 'Consultar mi deuda' }, { id: 'asesor', text: 'Hablar con un asesor' }] },
      ];
    }
    return [{ text: `Recibido: ${text}` }];
  }

  async handle(message: InboundMessage): Promise<TurnResult> {
    this.received.push(message);
    await this.gate;
    const replies = this.replyTo(message);
    const outcome = await this.knex.transaction(async (trx) => {
      const seen = await trx('messages').where({ channel: message.channel, external_id: message.messageId, direction: 'in' }).first('id');
      let conv = (await trx('conversations').where({ channel: message.channel, user_id: message.from }).whereIn('status', ['open', 'handoff']).first('id')) as { id: string } | undefined;
      if (seen) return { conversationId: conv?.id ?? '', duplicate: true };
      if (!conv) [conv] = (await trx('conversations').insert({ channel: message.channel, user_id: message.from, state: 'inicio', opened_at: TEST_TIME, last_activity_at: TEST_TIME }).returning('id')) as { id: string }[];
      const conversationId = conv!.id;
      await trx('messages').insert({ conversation_id: conversationId, direction: 'in', author: 'debtor', channel: message.channel, external_id: message.messageId, text: message.text ?? null, button_id: message.buttonId ?? null, created_at: TEST_TIME });
      for (const r of replies) {
        await trx('messages').insert({ conversation_id: conversationId, direction: 'out', author: 'bot', channel: message.channel, text: r.text, buttons: r.buttons ? JSON.stringify(r.buttons) : null, created_at: TEST_TIME });
      }
      return { conversationId, duplicate: false };
    });
    if (!outcome.duplicate) await this.outbound?.send(message.from, replies);
    return { conversationId: outcome.conversationId, state: 'inicio', replies: outcome.duplicate ? [] : replies, context: {}, duplicate: outcome.duplicate };
  }
}

export interface WebchatServer {
  url: string;
  port: number;
  channel: ReturnType<typeof createWebchatChannel>;
  close(): Promise<void>;
}

/** The express app with only the web chat mounted, on a real HTTP server (port 0 or a given one). */
export async function startWebchatServer(options: {
  knex: Knex;
  handler: MessageHandler;
  /** Where the channel's outbound goes (the real outbox registers it); a ScriptedBot gets it by default. */
  onOutbound?: (outbound: OutboundChannel) => void;
  env?: Record<string, string>;
  port?: number;
  webchat?: WebchatOptions;
}): Promise<WebchatServer> {
  const config = webchatConfig(options.env);
  const channel = createWebchatChannel(testPorts({ engine: options.handler, knex: options.knex, config: config, log: quietLog }), options.webchat);
  if (options.onOutbound) options.onOutbound(channel.outbound);
  else if (options.handler instanceof ScriptedBot) options.handler.outbound = channel.outbound;
  const app = createApp({ clock: testClock(), knex: options.knex, config, log: quietLog, routes: [], beforeBodyParsers: (a) => channel.mount?.(a) });
  const server = http.createServer(app);
  channel.attachServer?.(server);
  await channel.start?.();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    channel,
    async close() {
      await channel.stop?.();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A WebSocket client that collects the server's frames and waits for the ones a test expects. */
export class SocketClient {
  /** Every frame received, in order. */
  readonly all: ServerFrame[] = [];
  /** Frames no next() has taken yet. */
  private readonly unread: ServerFrame[] = [];
  private readonly waiters: { match: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }[] = [];
  readonly ws: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(url.replace(/^http/, 'ws') + '/webchat/v1/socket', { headers });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as ServerFrame;
      this.all.push(frame);
      const waiter = this.waiters.find((w) => w.match(frame));
      if (!waiter) {
        this.unread.push(frame);
        return;
      }
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(frame);
    });
  }

  static async open(url: string, headers?: Record<string, string>): Promise<SocketClient> {
    const client = new SocketClient(url, headers);
    await client.opened;
    return client;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first not yet taken frame of this type that matches, received already or to come. */
  next<T extends ServerFrame['type']>(type: T, match: (f: Extract<ServerFrame, { type: T }>) => boolean = () => true): Promise<Extract<ServerFrame, { type: T }>> {
    const test = (f: ServerFrame) => f.type === type && match(f as Extract<ServerFrame, { type: T }>);
    const index = this.unread.findIndex(test);
    if (index >= 0) return Promise.resolve(this.unread.splice(index, 1)[0] as Extract<ServerFrame, { type: T }>);
    return new Promise((resolve) => this.waiters.push({ match: test, resolve: (f) => resolve(f as Extract<ServerFrame, { type: T }>) }));
  }

  /** Says hello and waits for the welcome. */
  async hello(token: string, after = 0): Promise<Extract<ServerFrame, { type: 'welcome' }>> {
    this.send({ type: 'hello', token, after });
    return this.next('welcome');
  }

  close(): void {
    this.ws.close();
  }
}

export async function newSession(url: string): Promise<{ token: string; visitorId: string }> {
  const res = await fetch(`${url}/webchat/v1/session`, { method: 'POST' });
  if (res.status !== 201) throw new Error(`session: HTTP ${res.status}`);
  return (await res.json()) as { token: string; visitorId: string };
}
