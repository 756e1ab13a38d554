/**
 * A local stand-in for https://api.telegram.org: the Bot API's request and answer
 * shapes (POST /bot<token>/<method>, JSON in, { ok, result } or { ok:false,
 * error_code, description, parameters } out), recording every call.
 */
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ApiCall {
  method: string;
  body: Record<string, unknown>;
}

export interface ApiFailure {
  error_code: number;
  description: string;
  parameters?: { retry_after?: number };
}

export const BOT = { id: 7012345678, is_bot: true, first_name: 'Acuerdo', username: 'acuerdo_cobranza_bot' };
export const TOKEN = `${BOT.id}:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw`;

export class FakeBotApi extends EventEmitter {
  readonly calls: ApiCall[] = [];
  private server?: http.Server;
  private readonly failures = new Map<string, ApiFailure[]>();
  private readonly pendingUpdates: Record<string, unknown>[] = [];
  private readonly pollers = new Set<() => void>();
  private nextMessageId = 1000;

  get url(): string {
    const address = this.server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('fake Bot API not started');
    return `http://127.0.0.1:${address.port}`;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.route(req, res));
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  async close(): Promise<void> {
    for (const wake of this.pollers) wake();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** The next calls of `method` fail with these answers, in order. */
  failNext(method: string, ...failures: ApiFailure[]): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), ...failures]);
  }

  /** Queues updates for getUpdates (long polling). */
  pushUpdate(...updates: Record<string, unknown>[]): void {
    this.pendingUpdates.push(...updates);
    for (const wake of this.pollers) wake();
  }

  callsOf(method: string): Record<string, unknown>[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.body);
  }

  /** Resolves once `method` has been called `count` times in all. */
  async waitFor(method: string, count = 1): Promise<Record<string, unknown>[]> {
    while (this.callsOf(method).length < count) await once(this, 'call');
    return this.callsOf(method);
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const match = /^\/bot([^/]+)\/(\w+)$/.exec(req.url ?? '');
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (!match) return reply(404, { ok: false, error_code: 404, description: 'Not Found' });
    const [, token, method = ''] = match;
    if (token !== TOKEN) return reply(401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const text = Buffer.concat(chunks).toString('utf8');
    const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;

    if (method === 'getUpdates') return this.getUpdates(body, req, reply);

    this.calls.push({ method, body });
    const failure = this.failures.get(method)?.shift();
    this.emit('call', method);
    if (failure) return reply(failure.error_code, { ok: false, ...failure });
    reply(200, { ok: true, result: this.result(method, body) });
  }

  private result(method: string, body: Record<string, unknown>): unknown {
    switch (method) {
      case 'getMe':
        return { ...BOT, can_join_groups: false, can_read_all_group_messages: false, supports_inline_queries: false };
      case 'sendMessage':
        return {
          message_id: this.nextMessageId++,
          from: BOT,
          chat: { id: Number(body.chat_id), type: 'private' },
          date: Math.floor(Date.now() / 1000),
          text: body.text,
          ...(body.reply_markup ? { reply_markup: body.reply_markup } : {}),
        };
      default:
        // answerCallbackQuery, setWebhook, deleteWebhook…
        return true;
    }
  }

  /** Long polling: answers at once when updates at or after `offset` wait, else when one arrives. */
  private getUpdates(body: Record<string, unknown>, req: http.IncomingMessage, reply: (status: number, payload: unknown) => void): void {
    const offset = typeof body.offset === 'number' ? body.offset : 0;
    this.calls.push({ method: 'getUpdates', body });
    this.emit('call', 'getUpdates');
    const ready = () => this.pendingUpdates.filter((u) => (u.update_id as number) >= offset);
    const answer = () => {
      this.pollers.delete(answer);
      reply(200, { ok: true, result: ready() });
    };
    if (ready().length || body.limit === 1) return answer();
    this.pollers.add(answer);
    req.socket.once('close', () => this.pollers.delete(answer));
  }
}
