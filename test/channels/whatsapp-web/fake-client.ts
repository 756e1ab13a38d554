import { EventEmitter } from 'node:events';
import type { WebChat, WebClient, WebMessage } from '../../../channels/whatsapp-web/index.js';

/** A message the fake client was asked to send. */
export interface SentMessage {
  chatId: string;
  content: string;
  /** The fake clock's time when it was sent. */
  at: number;
}

/**
 * Stands in for whatsapp-web.js's Client, which needs Chromium and WhatsApp's servers.
 * It is an EventEmitter like the real one: tests emit the library's events ('qr',
 * 'authenticated', 'ready', 'disconnected', 'message') with its Message shapes.
 */
export class FakeWebClient extends EventEmitter implements WebClient {
  initialized = 0;
  destroyed = 0;
  initializeError?: Error;
  readonly sent: SentMessage[] = [];
  readonly typing: { chatId: string; at: number }[] = [];
  /** Makes sendMessage reject for the contents it returns an error for (nothing is sent then). */
  failWhenSending?: (content: string) => Error | undefined;
  private counter = 0;

  constructor(private readonly now: () => number) {
    super();
  }

  async initialize(): Promise<void> {
    this.initialized++;
    if (this.initializeError) throw this.initializeError;
  }

  async destroy(): Promise<void> {
    this.destroyed++;
  }

  async sendMessage(chatId: string, content: string): Promise<{ id: { _serialized: string } }> {
    const failure = this.failWhenSending?.(content);
    if (failure) throw failure;
    this.sent.push({ chatId, content, at: this.now() });
    const id = `3EB0${String(++this.counter).padStart(16, '0')}`;
    return { id: { _serialized: `true_${chatId}_${id}` } };
  }

  async getChatById(chatId: string): Promise<WebChat> {
    return {
      sendStateTyping: async () => {
        this.typing.push({ chatId, at: this.now() });
      },
    };
  }
}

let sequence = 0;

/**
 * A received message shaped like whatsapp-web.js's Message (src/structures/Message.js):
 * the fields the library sets from WhatsApp Web's data, plus reply() and getChat().
 */
export function webMessage(overrides: Partial<WebMessage> & { from?: string; body?: string; type?: string } = {}): WebMessage & {
  to: string;
  ack: number;
  deviceType: string;
  reply(content: string): Promise<unknown>;
  getChat(): Promise<unknown>;
} {
  const from = overrides.from ?? '573001234567@c.us';
  const rawId = `3A${(++sequence).toString(16).toUpperCase().padStart(18, '0')}`;
  const id = overrides.id ?? { fromMe: false, remote: from, id: rawId, _serialized: `false_${from}_${rawId}` };
  return {
    id,
    from,
    to: '573109876543@c.us',
    body: '',
    type: 'chat',
    fromMe: id.fromMe,
    hasMedia: false,
    isStatus: from === 'status@broadcast',
    broadcast: false,
    timestamp: 1763740800,
    ack: 1,
    deviceType: 'ios',
    reply: async () => undefined,
    getChat: async () => ({ id: { _serialized: from }, isGroup: from.endsWith('@g.us') }),
    ...overrides,
  };
}
