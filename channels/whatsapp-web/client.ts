/**
 * The slice of whatsapp-web.js's Client the adapter uses. The real Client satisfies
 * it (see createWebJsClient); tests pass an EventEmitter that emits the library's
 * events with its Message shapes. Nothing outside this folder sees these types.
 */

/** whatsapp-web.js's MessageId. `_serialized` is e.g. "false_573001234567@c.us_3EB0C767D097B7C3B5B0". */
export interface WebMessageId {
  fromMe: boolean;
  remote: string;
  id: string;
  _serialized: string;
}

/** The fields of whatsapp-web.js's Message the adapter reads. */
export interface WebMessage {
  id: WebMessageId;
  /** The chat: "573001234567@c.us", "…@lid", a group "…@g.us" or "status@broadcast". */
  from: string;
  /** The text, or a media message's caption. */
  body: string;
  /** "chat", "image", "ptt", "audio", "video", "document", "sticker", "location", "vcard", … */
  type: string;
  fromMe: boolean;
  hasMedia: boolean;
  isStatus: boolean;
  /** Seconds since the epoch. */
  timestamp: number;
  /** In a group: who wrote. */
  author?: string;
  broadcast?: boolean;
}

export interface WebChat {
  /** Shows "typing…" to the debtor until the next message is sent. */
  sendStateTyping(): Promise<void>;
}

export interface WebClient {
  on(event: 'qr', listener: (qr: string) => void): unknown;
  on(event: 'authenticated' | 'ready', listener: () => void): unknown;
  on(event: 'auth_failure', listener: (message: string) => void): unknown;
  /** reason: a WAState such as "CONFLICT" or "UNPAIRED", or "LOGOUT" when the phone unlinked us. */
  on(event: 'disconnected', listener: (reason: string) => void): unknown;
  on(event: 'message', listener: (message: WebMessage) => void): unknown;
  removeAllListeners(): unknown;
  initialize(): Promise<void>;
  destroy(): Promise<void>;
  sendMessage(chatId: string, content: string): Promise<{ id: { _serialized: string } }>;
  getChatById(chatId: string): Promise<WebChat>;
  /**
   * WhatsApp's own mapping of linked ids to phone numbers (whatsapp-web.js ≥ 1.31):
   * for "…@lid", `pn` is the contact's "…@c.us" (empty when WhatsApp does not share it).
   */
  getContactLidAndPhone?(userIds: string[]): Promise<{ lid: string; pn: string }[]>;
}

/** Builds a fresh client; called again for every reconnect. */
export type WebClientFactory = () => WebClient;

export interface WebJsClientOptions {
  /** Where LocalAuth keeps the session: DATA_DIR/whatsapp. */
  dataPath: string;
  chromiumPath: string;
  /** Chromium refuses to run as root without --no-sandbox. */
  runningAsRoot: boolean;
}

/** Chromium flags for a headless server (no sandbox only when running as root). */
export function chromiumArgs(runningAsRoot: boolean): string[] {
  return runningAsRoot ? ['--no-sandbox', '--disable-setuid-sandbox', '--disable-dev-shm-usage'] : ['--disable-dev-shm-usage'];
}

/**
 * The production factory: whatsapp-web.js's Client with LocalAuth under `dataPath`
 * (the link survives restarts) and Debian's Chromium. The library is loaded only here,
 * so it is never required when the channel is off.
 */
export async function webJsClientFactory(options: WebJsClientOptions): Promise<WebClientFactory> {
  const imported = await import('whatsapp-web.js');
  // A CommonJS module whose exports Node's ESM loader only partly detects: take module.exports.
  const { Client, LocalAuth } = (imported as unknown as { default?: typeof imported }).default ?? imported;
  return (): WebClient =>
    new Client({
      authStrategy: new LocalAuth({ dataPath: options.dataPath }),
      puppeteer: { headless: true, executablePath: options.chromiumPath, args: chromiumArgs(options.runningAsRoot) },
    });
}
