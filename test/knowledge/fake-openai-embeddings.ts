/**
 * A local OpenAI-compatible server for the documents: POST /v1/embeddings and
 * POST /v1/chat/completions, in the real protocol, so the official `openai` client talks
 * to it unchanged. Embeddings are deterministic: hashed character trigrams of the
 * accent-folded words (texts sharing words point the same way) — a stand-in for a real
 * model's geometry, not a measure of it. Chat completions answer with the JSON the
 * answer writer asks for, from `answerWith` (default: the first sentence of passage 0).
 *
 * Run it alone for `npx acuerdo docs eval` with embeddings:
 *   npx tsx test/knowledge/fake-openai-embeddings.ts    (prints OPENAI_BASE_URL=…)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const FAKE_DIMENSIONS = 256;

export interface EmbeddingRequest {
  model: string;
  input: string[];
}

export interface ChatRequest {
  model: string;
  messages: { role: string; content: string }[];
  response_format?: { type: string };
}

/** What the writer answers: the passages as the user message lists them, and the question. */
export type AnswerFn = (question: string, passages: string[]) => { answered: boolean; answer: string; source: number };

export function fakeEmbedding(text: string, dimensions = FAKE_DIMENSIONS): number[] {
  const v = new Array<number>(dimensions).fill(0);
  const words = text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 2);
  for (const word of words) {
    const padded = ` ${word} `;
    for (let i = 0; i + 3 <= padded.length; i++) {
      let h = 2166136261;
      for (const ch of padded.slice(i, i + 3)) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
      v[(h >>> 0) % dimensions]! += 1;
    }
  }
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => x / norm);
}

export const firstSentenceAnswer: AnswerFn = (_question, passages) => {
  const first = passages[0]?.split('\n').slice(1).join(' ') ?? '';
  return { answered: Boolean(first), answer: first.split(/(?<=\.)\s/)[0] ?? first, source: 0 };
};

export class FakeOpenAiDocuments {
  readonly embeddings: EmbeddingRequest[] = [];
  readonly chats: ChatRequest[] = [];
  answerWith: AnswerFn = firstSentenceAnswer;
  /** Status to answer every embeddings request with instead (e.g. 500), for failure tests. */
  failEmbeddings?: number;
  private readonly server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        return send(400, { error: { message: 'the body is not JSON', type: 'invalid_request_error' } });
      }
      if (req.url === '/v1/embeddings') {
        const r = body as { model: string; input: string | string[] };
        const input = Array.isArray(r.input) ? r.input : [r.input];
        this.embeddings.push({ model: r.model, input });
        if (this.failEmbeddings) return send(this.failEmbeddings, { error: { message: 'failing on purpose', type: 'server_error' } });
        return send(200, {
          object: 'list',
          model: r.model,
          data: input.map((text, index) => ({ object: 'embedding', index, embedding: fakeEmbedding(text) })),
          usage: { prompt_tokens: input.join(' ').length, total_tokens: input.join(' ').length },
        });
      }
      if (req.url === '/v1/chat/completions') {
        const r = body as ChatRequest;
        this.chats.push(r);
        const user = r.messages.find((m) => m.role === 'user')?.content ?? '';
        const question = /Pregunta del deudor: ([\s\S]*)$/.exec(user)?.[1]?.trim() ?? '';
        const passages = (/Pasajes:\n([\s\S]*?)\n\nPregunta del deudor:/.exec(user)?.[1] ?? '').split(/\n\n(?=\[\d+\] )/);
        const content = JSON.stringify(this.answerWith(question, passages));
        return send(200, {
          id: `chatcmpl-${this.chats.length}`,
          object: 'chat.completion',
          created: 1_700_000_000,
          model: r.model,
          choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content, refusal: null } }],
          usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 },
        });
      }
      send(404, { error: { message: `no route ${req.url}`, type: 'invalid_request_error' } });
    });
  });

  /** Starts listening; returns the base URL for the client (…/v1). */
  async start(port = 0): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

if (require.main === module) {
  const fake = new FakeOpenAiDocuments();
  void fake.start(Number(process.env.PORT ?? 0)).then((url) => process.stdout.write(`OPENAI_BASE_URL=${url}\n`));
}
