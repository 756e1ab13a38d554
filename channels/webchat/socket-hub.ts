import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Clock, MessageHandler } from '../../src/core/index.js';
import type { Logger } from '../../src/core/index.js';
import { KeyedSerialQueue } from '../../src/core/index.js';
import { inboundMessageId, readHistory, type HistoryPort } from './history.js';
import type { VisitorIdentity } from './identity.js';
import type { OriginPolicy } from './origins.js';
import { CLIENT_ID_PATTERN, CLOSE_BAD_SIGNATURE, WEBCHAT_PATHS, type ClientFrame, type Limits, type ServerFrame } from './protocol.js';
import type { RateLimiter } from './rate-limit.js';

export interface SocketHubDeps {
  handler: MessageHandler;
  history: HistoryPort;
  /** The service's clock: the `at` of each message a visitor sends. */
  clock: Clock;
  log: Logger;
  /** Resolves once the signing secret is loaded. */
  identity: () => Promise<VisitorIdentity>;
  origins: OriginPolicy;
  limiter: RateLimiter;
  limits: Limits;
  /** How often dead connections are looked for (ping/pong). */
  heartbeatMs?: number;
}

interface Connection {
  ws: WebSocket;
  visitorId?: string;
  /** The highest message id this connection has been sent. */
  cursor: number;
  alive: boolean;
  /** The connection's frames are handled one after another, in the order they came. */
  chain: Promise<void>;
}

const HELLO_TIMEOUT_MS = 10_000;

/**
 * The web chat's live side: a WebSocket per open widget (tab). Every connection of a
 * visitor is sent the same messages, read from the messages table after that
 * connection's cursor, so two tabs show one conversation and a reconnect fills its gap.
 */
export class SocketHub {
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly byVisitor = new Map<string, Set<Connection>>();
  /** A visitor's syncs run one after another, so its tabs' cursors move in order. */
  private readonly syncs = new KeyedSerialQueue();
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly deps: SocketHubDeps) {
    // A frame holds one message; JSON escaping can at most sextuple its characters.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: Math.max(16 * 1024, deps.limits.maxChars * 6 + 1024) });
  }

  /** Takes the upgrades for the socket path; other paths are left to other listeners. */
  attach(server: http.Server): void {
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== WEBCHAT_PATHS.socket) return;
      if (this.closed || !this.deps.origins.allows(req.headers.origin, req.headers.host)) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
    this.heartbeat ??= setInterval(() => this.beat(), this.deps.heartbeatMs ?? 30_000);
    this.heartbeat.unref();
  }

  /** Pushes whatever the visitor's connections have not been sent yet. */
  sync(visitorId: string): Promise<void> {
    return this.syncs.run(visitorId, () => this.syncNow(visitorId));
  }

  /** Number of open, identified connections (for status). */
  get openConnections(): number {
    let n = 0;
    for (const set of this.byVisitor.values()) n += set.size;
    return n;
  }

  /** Closes every connection and waits for the turns already under way. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    const pending = [...this.connections].map((c) => c.chain);
    for (const c of this.connections) c.ws.terminate();
    await Promise.allSettled(pending);
    await this.syncs.idle();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(ws: WebSocket): void {
    const conn: Connection = { ws, cursor: 0, alive: true, chain: Promise.resolve() };
    this.connections.add(conn);
    const helloTimer = setTimeout(() => {
      if (!conn.visitorId) ws.close(1008, 'hello expected');
    }, HELLO_TIMEOUT_MS);
    helloTimer.unref();
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      conn.chain = conn.chain.then(() => this.onFrame(conn, data, isBinary)).catch((err: unknown) => {
        this.deps.log.error({ err }, 'webchat frame failed');
      });
    });
    ws.on('close', () => {
      clearTimeout(helloTimer);
      this.connections.delete(conn);
      if (conn.visitorId) {
        const set = this.byVisitor.get(conn.visitorId);
        set?.delete(conn);
        if (set?.size === 0) this.byVisitor.delete(conn.visitorId);
      }
    });
    ws.on('error', (err) => this.deps.log.debug({ err }, 'webchat socket error'));
  }

  private beat(): void {
    for (const conn of this.connections) {
      if (!conn.alive) {
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }

  private push(conn: Connection, frame: ServerFrame): void {
    if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(JSON.stringify(frame));
  }

  private broadcast(visitorId: string, frame: ServerFrame): void {
    for (const conn of this.byVisitor.get(visitorId) ?? []) this.push(conn, frame);
  }

  private async onFrame(conn: Connection, data: RawData, isBinary: boolean): Promise<void> {
    const frame = isBinary ? undefined : parseFrame(data);
    if (!frame) {
      this.push(conn, { type: 'error', code: 'invalid', message: 'expected a JSON frame' });
      return;
    }
    if (frame.type === 'hello') {
      await this.onHello(conn, frame);
      return;
    }
    if (!conn.visitorId) {
      conn.ws.close(1008, 'hello expected');
      return;
    }
    await this.onMessage(conn, conn.visitorId, frame);
  }

  private async onHello(conn: Connection, hello: Extract<ClientFrame, { type: 'hello' }>): Promise<void> {
    const visitorId = (await this.deps.identity()).verify(hello.token);
    if (!visitorId || conn.visitorId) {
      this.push(conn, { type: 'error', code: 'bad_signature' });
      conn.ws.close(CLOSE_BAD_SIGNATURE, 'bad signature');
      return;
    }
    conn.visitorId = visitorId;
    conn.cursor = Number.isSafeInteger(hello.after) && hello.after > 0 ? hello.after : 0;
    let set = this.byVisitor.get(visitorId);
    if (!set) this.byVisitor.set(visitorId, (set = new Set()));
    set.add(conn);
    this.push(conn, { type: 'welcome', visitorId, limits: this.deps.limits });
    await this.sync(visitorId);
  }

  private async onMessage(conn: Connection, visitorId: string, frame: Extract<ClientFrame, { type: 'message' }>): Promise<void> {
    const { clientId } = frame;
    const text = typeof frame.text === 'string' ? frame.text.trim() : undefined;
    const buttonId = typeof frame.buttonId === 'string' && frame.buttonId.length <= 200 ? frame.buttonId : undefined;
    if (typeof clientId !== 'string' || !CLIENT_ID_PATTERN.test(clientId) || (!text && !buttonId)) {
      this.push(conn, { type: 'error', code: 'invalid', ...(typeof clientId === 'string' ? { clientId } : {}), message: 'a message needs a clientId and text' });
      return;
    }
    if (text && text.length > this.deps.limits.maxChars) {
      this.push(conn, { type: 'error', code: 'too_long', clientId, message: `the limit is ${this.deps.limits.maxChars} characters` });
      return;
    }
    const allowed = this.deps.limiter.take(visitorId);
    if (!allowed.ok) {
      this.push(conn, { type: 'error', code: 'rate_limited', clientId, retryAfterMs: allowed.retryAfterMs });
      return;
    }

    this.broadcast(visitorId, { type: 'typing', on: true });
    let duplicate: boolean;
    try {
      const result = await this.deps.handler.handle({
        channel: 'webchat',
        from: visitorId,
        messageId: inboundMessageId(visitorId, clientId),
        ...(text ? { text } : {}),
        ...(buttonId ? { buttonId } : {}),
        at: this.deps.clock.now(),
      });
      duplicate = result.duplicate;
    } catch (err) {
      this.deps.log.error({ err }, 'webchat turn failed');
      this.broadcast(visitorId, { type: 'typing', on: false });
      this.push(conn, { type: 'error', code: 'unavailable', clientId, retryAfterMs: 3000 });
      return;
    }
    // The turn committed its inbound row and replies: every tab gets them now.
    await this.sync(visitorId);
    this.broadcast(visitorId, { type: 'typing', on: false });
    this.push(conn, { type: 'ack', clientId, duplicate });
  }

  private async syncNow(visitorId: string): Promise<void> {
    const conns = [...(this.byVisitor.get(visitorId) ?? [])];
    if (!conns.length) return;
    const from = Math.min(...conns.map((c) => c.cursor));
    let messages;
    try {
      messages = await readHistory(this.deps.history, visitorId, from);
    } catch (err) {
      this.deps.log.warn({ err }, 'webchat could not read the conversation');
      return;
    }
    for (const conn of conns) {
      const fresh = messages.filter((m) => m.id > conn.cursor);
      if (!fresh.length) continue;
      this.push(conn, { type: 'messages', messages: fresh });
      conn.cursor = fresh[fresh.length - 1]!.id;
    }
  }
}

function parseFrame(data: RawData): ClientFrame | undefined {
  try {
    const value = JSON.parse(data.toString()) as unknown;
    if (typeof value !== 'object' || value === null) return undefined;
    const type = (value as { type?: unknown }).type;
    return type === 'hello' || type === 'message' ? (value as ClientFrame) : undefined;
  } catch {
    return undefined;
  }
}
