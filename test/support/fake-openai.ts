/**
 * A local OpenAI-compatible server for tests: POST /v1/chat/completions answered from a
 * script of behaviours (an answer, an HTTP status with headers, garbage, or a hang).
 * It speaks the real protocol, so the official `openai` client talks to it unchanged.
 *
 *   const fake = new FakeOpenAi();
 *   const baseURL = await fake.start();           // http://127.0.0.1:PORT/v1
 *   fake.then(answer('saludo'), { kind: 'status', status: 429, headers: { 'retry-after': '30' } });
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the fake server does with one request. */
export type FakeBehaviour =
  | { kind: 'answer'; content: string; usage?: { prompt_tokens: number; completion_tokens: number } }
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  /** A 200 whose body is not a chat completion (not even JSON). */
  | { kind: 'garbage'; body?: string }
  /** Never answers; the client must time out. */
  | { kind: 'hang' };

export interface FakeRequest {
  body: {
    model: string;
    messages: { role: string; content: string }[];
    response_format: { type: string; json_schema: { strict: boolean; schema: { properties: { intent: { enum: string[] } } } } };
  };
  authorization: string | undefined;
  /** When the request arrived, by performance.now(). */
  at: number;
}

/** A chat-completion answer whose content is the intent JSON the classifier expects. */
export const answer = (intent: string, confidence = 0.9): FakeBehaviour => ({ kind: 'answer', content: JSON.stringify({ intent, confidence }) });

export class FakeOpenAi {
  readonly received: FakeRequest[] = [];
  private script: FakeBehaviour[] = [];
  private hanging: http.ServerResponse[] = [];
  /** What happens when the script is used up. */
  fallback: FakeBehaviour = { kind: 'status', status: 500 };
  private readonly server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      let body: FakeRequest['body'];
      try {
        body = JSON.parse(raw) as FakeRequest['body'];
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'the body is not JSON', type: 'invalid_request_error' } }));
        return;
      }
      this.received.push({ body, authorization: req.headers.authorization, at: performance.now() });
      const behaviour = this.script.shift() ?? this.fallback;
      if (behaviour.kind === 'hang') {
        this.hanging.push(res);
        return;
      }
      if (behaviour.kind === 'garbage') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(behaviour.body ?? '<html>upstream error</html>');
        return;
      }
      if (behaviour.kind === 'status') {
        res.writeHead(behaviour.status, { 'content-type': 'application/json', ...behaviour.headers });
        res.end(JSON.stringify({ error: { message: `fake ${behaviour.status}`, type: 'fake' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'chatcmpl-fake',
          object: 'chat.completion',
          created: 1_790_000_000,
          model: 'gpt-4o-mini-2024-07-18',
          choices: [{ index: 0, message: { role: 'assistant', content: behaviour.content, refusal: null }, finish_reason: 'stop' }],
          usage: { ...(behaviour.usage ?? { prompt_tokens: 310, completion_tokens: 12 }), total_tokens: 0 },
        }),
      );
    });
  });

  /** Starts listening on a free local port; returns the base URL to give the client. */
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  /** Queues behaviours for the next requests, in order. */
  then(...behaviours: FakeBehaviour[]): this {
    this.script.push(...behaviours);
    return this;
  }

  /** The user messages the server has received (what left the process). */
  sentTexts(): string[] {
    return this.received.map((r) => r.body.messages.filter((m) => m.role === 'user').map((m) => m.content).join('\n'));
  }

  reset(): void {
    this.script = [];
    this.received.length = 0;
    this.fallback = { kind: 'status', status: 500 };
    // Requests left hanging by the previous case are dropped, so they do not pile up.
    for (const res of this.hanging) res.destroy();
    this.hanging = [];
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
