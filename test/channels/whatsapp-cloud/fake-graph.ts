import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the fake Graph API received. */
export interface GraphRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

export interface ScriptedResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/**
 * A local stand-in for graph.facebook.com's send endpoint,
 * POST /{version}/{phone-number-id}/messages. It records every request and answers
 * from a script (queued responses first), else with a fresh wamid as Meta does.
 */
export class FakeGraphApi {
  readonly requests: GraphRequest[] = [];
  private readonly script: ScriptedResponse[] = [];
  private server?: http.Server;
  private counter = 0;
  url = '';

  /** The next requests get these answers, in order. */
  answer(...responses: ScriptedResponse[]): void {
    this.script.push(...responses);
  }

  /** The messages sent, as Graph API bodies. */
  get sent(): Record<string, unknown>[] {
    return this.requests.map((r) => r.body);
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        this.requests.push({
          method: req.method ?? '',
          path: req.url ?? '',
          authorization: req.headers.authorization,
          body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
        });
        const scripted = this.script.shift();
        const reply: ScriptedResponse = scripted ?? {
          status: 200,
          body: {
            messaging_product: 'whatsapp',
            contacts: [{ input: String((JSON.parse(text || '{}') as { to?: string }).to), wa_id: String((JSON.parse(text || '{}') as { to?: string }).to) }],
            messages: [{ id: `wamid.FAKE${String(++this.counter).padStart(6, '0')}` }],
          },
        };
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  reset(): void {
    this.requests.length = 0;
    this.script.length = 0;
    this.counter = 0;
  }
}
