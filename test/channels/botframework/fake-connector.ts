/**
 * A local stand-in for a Bot Framework channel's connector service (the Emulator, Web
 * Chat, Teams): the REST API bots post replies to, at the activity's serviceUrl.
 * POST /v3/conversations/{conversationId}/activities[/{activityId}] → { id }.
 */
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PostedActivity {
  conversationId: string;
  /** The activity replied to, when the bot used replyToActivity. */
  replyToId?: string;
  authorization?: string;
  activity: Record<string, unknown>;
}

export class FakeConnector extends EventEmitter {
  readonly posted: PostedActivity[] = [];
  private server?: http.Server;
  private readonly failures: { status: number; code: string; message: string }[] = [];

  get url(): string {
    const address = this.server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('fake connector not started');
    return `http://127.0.0.1:${address.port}`;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.route(req, res));
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** The next post fails with this status and the connector's error body. */
  failNext(status: number, code: string, message: string): void {
    this.failures.push({ status, code, message });
  }

  async waitFor(count: number): Promise<PostedActivity[]> {
    while (this.posted.length < count) await once(this, 'posted');
    return this.posted;
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const match = /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    if (req.method !== 'POST' || !match) {
      res.writeHead(404).end(JSON.stringify({ error: { code: 'NotFound', message: `${req.method} ${req.url}` } }));
      return;
    }
    const failure = this.failures.shift();
    if (failure) {
      res.writeHead(failure.status).end(JSON.stringify({ error: { code: failure.code, message: failure.message } }));
      return;
    }
    const posted: PostedActivity = {
      conversationId: decodeURIComponent(match[1] ?? ''),
      ...(match[2] ? { replyToId: decodeURIComponent(match[2]) } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      activity: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
    };
    this.posted.push(posted);
    res.writeHead(200).end(JSON.stringify({ id: `reply-${this.posted.length}` }));
    this.emit('posted', posted);
  }
}
