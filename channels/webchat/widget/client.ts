import {
  CLOSE_BAD_SIGNATURE,
  WEBCHAT_PATHS,
  type ChatMessage,
  type ErrorCode,
  type HistoryResponse,
  type Limits,
  type ServerFrame,
  type SessionResponse,
} from '../protocol.js';
import type { QueuedMessage, WidgetStorage } from './storage.js';

export type ConnectionStatus = 'connecting' | 'online' | 'offline';

export interface ClientEvents {
  /** New messages (any order of arrival; ids increase). */
  messages(messages: ChatMessage[]): void;
  /** The visitor identity was replaced: forget what is shown. */
  reset(): void;
  typing(on: boolean): void;
  status(status: ConnectionStatus): void;
  /** The queue of typed, not yet taken messages changed. */
  queueChanged(): void;
  /** The server refused a message for good. */
  failed(message: QueuedMessage, code: ErrorCode): void;
  /** The server asked to slow down. */
  throttled(retryAfterMs: number): void;
}

/** Reconnect delays: 0.5 s doubling to 10 s, each with jitter so tabs and visitors spread out. */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(10_000, 500 * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

function newClientId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

class HttpError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

/**
 * The widget's connection: a signed session and the history over HTTP, then one
 * WebSocket for everything live. Typed messages go to a queue in localStorage first
 * and leave it only when the server acknowledges them, one at a time and in order;
 * the server dedupes on their client id, so a resend after a reconnect is harmless.
 */
export class ChatClient {
  private ws: WebSocket | undefined;
  private welcomed = false;
  private historyLoaded = false;
  private lastId = 0;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private inFlight: string | undefined;
  private pausedUntil = 0;
  private connecting = false;
  limits: Limits = { maxChars: 1000 };

  constructor(
    private readonly server: string,
    private readonly storage: WidgetStorage,
    private readonly events: ClientEvents,
  ) {}

  start(): void {
    this.storage.onQueueChanged(() => {
      this.events.queueChanged();
      this.flush();
    });
    window.addEventListener('online', () => this.reconnectNow());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.reconnectNow();
    });
    void this.connect();
  }

  get online(): boolean {
    return this.welcomed;
  }

  queue(): QueuedMessage[] {
    return this.storage.queue();
  }

  /** Queues a message and sends it as soon as the connection allows. */
  send(text: string, buttonId?: string): QueuedMessage {
    const message: QueuedMessage = { clientId: newClientId(), text, at: new Date().toISOString(), ...(buttonId ? { buttonId } : {}) };
    this.storage.enqueue(message);
    this.events.queueChanged();
    this.flush();
    return message;
  }

  private async request<T>(method: 'GET' | 'POST', path: string, token?: string): Promise<T> {
    const response = await fetch(this.server + path, {
      method,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      credentials: 'omit',
      cache: 'no-store',
    });
    if (!response.ok) throw new HttpError(response.status);
    return (await response.json()) as T;
  }

  private async session(): Promise<string> {
    const { token } = await this.request<SessionResponse>('POST', WEBCHAT_PATHS.session);
    this.storage.setToken(token);
    return token;
  }

  private async loadHistory(): Promise<string> {
    let token = this.storage.token() ?? (await this.session());
    let history: HistoryResponse;
    try {
      history = await this.request<HistoryResponse>('GET', `${WEBCHAT_PATHS.history}?after=0`, token);
    } catch (err) {
      if (!(err instanceof HttpError) || err.status !== 401) throw err;
      // Not a token this server signed (edited, or another server's): start afresh.
      this.storage.setToken(undefined);
      this.lastId = 0;
      this.events.reset();
      token = await this.session();
      history = await this.request<HistoryResponse>('GET', `${WEBCHAT_PATHS.history}?after=0`, token);
    }
    this.limits = history.limits;
    this.receive(history.messages);
    this.historyLoaded = true;
    return token;
  }

  private async connect(): Promise<void> {
    if (this.connecting || this.ws) return;
    this.connecting = true;
    clearTimeout(this.reconnectTimer);
    this.events.status('connecting');
    try {
      const token = this.historyLoaded ? this.storage.token() ?? (await this.session()) : await this.loadHistory();
      this.open(token);
    } catch {
      this.scheduleReconnect();
    } finally {
      this.connecting = false;
    }
  }

  private open(token: string): void {
    const url = new URL(WEBCHAT_PATHS.socket, this.server);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url.href);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', token, after: this.lastId }));
    ws.onmessage = (event) => {
      if (typeof event.data !== 'string') return;
      try {
        this.onFrame(JSON.parse(event.data) as ServerFrame);
      } catch {
        // A frame this version does not understand: ignore it.
      }
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.welcomed = false;
      this.inFlight = undefined;
      this.events.typing(false);
      if (event.code === CLOSE_BAD_SIGNATURE) {
        this.storage.setToken(undefined);
        this.historyLoaded = false;
        this.lastId = 0;
        this.events.reset();
        this.attempt = 0;
      }
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    this.events.status('offline');
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.connect(), backoffDelay(this.attempt++));
  }

  private reconnectNow(): void {
    if (this.ws || this.connecting) return;
    this.attempt = 0;
    void this.connect();
  }

  private receive(messages: ChatMessage[]): void {
    if (!messages.length) return;
    this.lastId = Math.max(this.lastId, ...messages.map((m) => m.id));
    const taken = messages.flatMap((m) => (m.clientId ? [m.clientId] : []));
    if (taken.length) this.storage.dequeue(taken);
    this.events.messages(messages);
    if (taken.length) this.events.queueChanged();
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'welcome':
        this.welcomed = true;
        this.attempt = 0;
        this.limits = frame.limits;
        this.events.status('online');
        this.flush();
        break;
      case 'messages':
        this.receive(frame.messages);
        if (frame.messages.some((m) => m.from !== 'visitor')) this.events.typing(false);
        break;
      case 'typing':
        this.events.typing(frame.on);
        break;
      case 'ack':
        this.storage.dequeue([frame.clientId]);
        if (this.inFlight === frame.clientId) this.inFlight = undefined;
        this.events.queueChanged();
        this.flush();
        break;
      case 'error':
        this.onError(frame);
        break;
    }
  }

  private onError(frame: Extract<ServerFrame, { type: 'error' }>): void {
    if (!frame.clientId) return;
    if (this.inFlight === frame.clientId) this.inFlight = undefined;
    if (frame.code === 'rate_limited' || frame.code === 'unavailable') {
      const wait = frame.retryAfterMs ?? 3000;
      this.pausedUntil = Date.now() + wait;
      if (frame.code === 'rate_limited') this.events.throttled(wait);
      this.events.typing(false);
      this.flush();
      return;
    }
    const message = this.storage.queue().find((m) => m.clientId === frame.clientId);
    this.storage.dequeue([frame.clientId]);
    if (message) this.events.failed(message, frame.code);
    this.events.queueChanged();
    this.flush();
  }

  /** Sends the oldest queued message, once the previous one was acknowledged. */
  private flush(): void {
    clearTimeout(this.flushTimer);
    const ws = this.ws;
    if (!ws || !this.welcomed || this.inFlight) return;
    const wait = this.pausedUntil - Date.now();
    if (wait > 0) {
      this.flushTimer = setTimeout(() => this.flush(), wait);
      return;
    }
    const next = this.storage.queue()[0];
    if (!next) return;
    this.inFlight = next.clientId;
    this.events.typing(true);
    ws.send(JSON.stringify({ type: 'message', clientId: next.clientId, text: next.text, ...(next.buttonId ? { buttonId: next.buttonId } : {}) }));
  }
}
