/**
 * The two OpenAI calls the documents make, through the official SDK: embeddings of chunks
 * and questions, and an answer written only from the retrieved passages. A debtor's
 * question leaves masked (maskForExternal: it may hold a cédula, a phone, a name or an
 * address); the agency's own passages leave as written — they are what it publishes to
 * every debtor, and masking them would hide the very addresses and numbers asked for.
 */
import OpenAI from 'openai';
import { whileRemote } from '../core/index.js';
import { estimateCostUsd, maskForExternal, type LlmCallRecorder } from '../nlu/index.js';

export const DEFAULT_EMBEDDING_MODEL = 'text-embedding-3-small';

export interface OpenAiConnection {
  apiKey: string;
  baseURL?: string;
  timeoutMs?: number;
  maxRetries?: number;
  /** Where each call is recorded (llm_calls: tokens, latency, estimated cost), as the NLU's are. */
  recorder?: LlmCallRecorder;
}

/** US$ per million input tokens of the embedding models (OpenAI's list prices). */
const EMBEDDING_PRICES: Record<string, number> = { 'text-embedding-3-small': 0.02, 'text-embedding-3-large': 0.13, 'text-embedding-ada-002': 0.1 };

/** Records one call; a recorder's failure never fails the call. */
async function recordCall(c: OpenAiConnection, call: Parameters<LlmCallRecorder['record']>[0]): Promise<void> {
  await c.recorder?.record(call).catch(() => undefined);
}

const statusOf = (err: unknown): 'timeout' | 'error' => ((err as Error).name === 'APIConnectionTimeoutError' ? 'timeout' : 'error');

/** Turns texts into vectors, as given (callers mask a debtor's words); `model` is stored beside each vector. */
export interface Embedder {
  readonly model: string;
  embed(texts: string[]): Promise<number[][]>;
}

/** A passage given to the writer: where it comes from and what it says. */
export interface Passage {
  title: string;
  heading: string;
  text: string;
}

export interface GeneratedAnswer {
  /** False when the passages do not answer the question (the writer says so). */
  answered: boolean;
  answer: string;
  /** Which passage (0-based) the answer mostly rests on. */
  source: number;
}

/** Writes a short answer from the passages only. */
export interface AnswerWriter {
  write(question: string, passages: Passage[]): Promise<GeneratedAnswer>;
}

function client(c: OpenAiConnection): OpenAI {
  return new OpenAI({ apiKey: c.apiKey, baseURL: c.baseURL ?? 'https://api.openai.com/v1', timeout: c.timeoutMs ?? 15_000, maxRetries: c.maxRetries ?? 2 });
}

/** Embeddings through OpenAI (batches of 96 texts). */
export function createOpenAiEmbedder(c: OpenAiConnection & { model?: string }): Embedder {
  const openai = client(c);
  const model = c.model ?? DEFAULT_EMBEDDING_MODEL;
  return {
    model,
    async embed(texts) {
      const out: number[][] = [];
      for (let i = 0; i < texts.length; i += 96) {
        const batch = texts.slice(i, i + 96);
        const started = performance.now();
        let response;
        try {
          response = await whileRemote(() => openai.embeddings.create({ model, input: batch, encoding_format: 'float' }));
        } catch (err) {
          await recordCall(c, { model, purpose: 'document_embedding', tokensIn: 0, tokensOut: 0, latencyMs: performance.now() - started, status: statusOf(err), error: (err as Error).message, costUsd: 0 });
          throw err;
        }
        const tokens = response.usage?.prompt_tokens ?? 0;
        await recordCall(c, {
          model,
          purpose: 'document_embedding',
          tokensIn: tokens,
          tokensOut: 0,
          latencyMs: performance.now() - started,
          status: 'ok',
          costUsd: Number((((EMBEDDING_PRICES[model] ?? 0) * tokens) / 1_000_000).toFixed(6)),
        });
        const sorted = [...response.data].sort((a, b) => a.index - b.index);
        for (const item of sorted) out.push(item.embedding);
      }
      return out;
    },
  };
}

export const ANSWER_RULES = [
  'Usted es el asistente de una agencia de cobranza en Colombia. Responde preguntas generales de deudores.',
  'Reglas:',
  '1. Responda SOLO con lo que dicen los pasajes. Si los pasajes no responden la pregunta, responda answered=false y no invente nada.',
  '2. Español de Colombia, trate al deudor de usted, máximo tres frases cortas, sin saludos.',
  '3. Nunca hable de la deuda, el saldo, las cuotas o el acuerdo propios del deudor: eso no está en los pasajes.',
  '4. Nunca prometa nada sobre reportes en centrales de riesgo (Datacrédito, TransUnion) ni sobre resultados legales (embargos, demandas, prescripción).',
  '5. Conteste en JSON: {"answered": boolean, "answer": string, "source": número del pasaje en que se basa}.',
].join('\n');

/** Answers written by an OpenAI chat model from the passages, as JSON. */
export function createOpenAiAnswerWriter(c: OpenAiConnection & { model: string }): AnswerWriter {
  const openai = client(c);
  return {
    async write(question, passages) {
      const context = passages.map((p, i) => `[${i}] ${p.title}${p.heading ? ` — ${p.heading}` : ''}\n${p.text}`).join('\n\n');
      const started = performance.now();
      const call = { model: c.model, purpose: 'document_answer' };
      const completion = await openai.chat.completions
        .create({
        model: c.model,
        temperature: 0,
        max_tokens: 300,
        response_format: { type: 'json_object' },
        messages: [
          { role: 'system', content: ANSWER_RULES },
          { role: 'user', content: `Pasajes:\n${context}\n\nPregunta del deudor: ${maskForExternal(question)}` },
        ],
      })
        .catch(async (err: unknown) => {
          await recordCall(c, { ...call, tokensIn: 0, tokensOut: 0, latencyMs: performance.now() - started, status: statusOf(err), error: (err as Error).message, costUsd: 0 });
          throw err;
        });
      const tokensIn = completion.usage?.prompt_tokens ?? 0;
      const tokensOut = completion.usage?.completion_tokens ?? 0;
      const usage = { tokensIn, tokensOut, latencyMs: performance.now() - started, costUsd: estimateCostUsd(completion.model || c.model, tokensIn, tokensOut) };
      const content = completion.choices[0]?.message?.content ?? '';
      let parsed: Partial<GeneratedAnswer>;
      try {
        parsed = JSON.parse(content) as Partial<GeneratedAnswer>;
      } catch {
        await recordCall(c, { ...call, ...usage, status: 'malformed', error: 'the answer is not JSON' });
        return { answered: false, answer: '', source: 0 };
      }
      await recordCall(c, { ...call, ...usage, status: 'ok' });
      const answer = typeof parsed.answer === 'string' ? parsed.answer.trim() : '';
      const source = typeof parsed.source === 'number' && parsed.source >= 0 && parsed.source < passages.length ? Math.floor(parsed.source) : 0;
      return { answered: parsed.answered === true && answer.length > 0, answer, source };
    },
  };
}
