/**
 * The OpenAI fallback: asked only when the local model is unsure. Chat completions with
 * a JSON-schema answer constrained to the 13 intents; personal numbers masked before
 * anything leaves the process; retries with exponential backoff on 429 and 5xx; a
 * circuit breaker; every call recorded for the llm_calls audit.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { z } from 'zod';
import { whileRemote } from '../core/index.js';
import { log as processLog, type Logger } from '../log.js';
import { INTENTS, type Intent, type LlmCallRecord, type LlmCallRecorder } from './types.js';

export interface OpenAiOptions {
  /** Without a key there is no OpenAI layer. */
  apiKey?: string;
  model: string;
  /** Any OpenAI-compatible server; defaults to OpenAI's. */
  baseURL?: string;
  /** Per attempt (the turn's budget may cut it shorter). */
  timeoutMs: number;
  /**
   * The whole fallback of one turn: every attempt, every backoff and every Retry-After
   * wait fit in it. A retry that could not finish inside it is not tried. Default 3 s.
   */
  budgetMs?: number;
  /** Retries after the first attempt, on 429, 5xx and dropped connections (not on timeouts). */
  maxRetries: number;
  /** First backoff delay; it doubles on every retry. Default 500 ms. */
  backoffBaseMs?: number;
  /** Longest backoff delay, also the cap on a server's Retry-After. Default 8 s. */
  backoffMaxMs?: number;
  /** Consecutive failed calls that open the circuit (a timeout opens it at once). Default 5. */
  breakerThreshold?: number;
  /** How long an open circuit waits before letting one probe call through. Default 30 s. */
  breakerCooldownMs?: number;
  /** Clock for the breaker, in ms. Default Date.now. */
  now?: () => number;
  /** How to wait between retries. Default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** Monotonic milliseconds for the turn budget. Default performance.now. */
  elapsed?: () => number;
}

/** Default per-turn budget of the whole fallback, in ms. */
export const DEFAULT_BUDGET_MS = 3000;
/** An attempt given less time than this is not worth starting. */
const MIN_ATTEMPT_MS = 250;

export interface OpenAiAnswer {
  intent: Intent;
  /** The model's own estimate, clamped to [0, 1]; not a calibrated probability. */
  confidence: number;
}

/** USD per million tokens, from OpenAI's price list; the longest matching prefix wins. */
export const PRICES_PER_MILLION: Record<string, { input: number; output: number }> = {
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-5-nano': { input: 0.05, output: 0.4 },
  'gpt-5-mini': { input: 0.25, output: 2 },
  'gpt-5': { input: 1.25, output: 10 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
};

/** Estimated cost of a call; 0 for a model missing from the price table (e.g. a local server). */
export function estimateCostUsd(model: string, tokensIn: number, tokensOut: number): number {
  let best: string | undefined;
  for (const prefix of Object.keys(PRICES_PER_MILLION)) {
    if (model.startsWith(prefix) && (!best || prefix.length > best.length)) best = prefix;
  }
  if (!best) return 0;
  const price = PRICES_PER_MILLION[best]!;
  return Number(((tokensIn * price.input + tokensOut * price.output) / 1_000_000).toFixed(6));
}

import { maskForExternal } from './mask.js';

export { maskForExternal, type MaskOptions } from './mask.js';

/**
 * Opens after `threshold` consecutive failures, or at the first timeout (a provider that
 * hangs makes every caller wait: one is enough to know); after `cooldownMs` lets one
 * probe through, a single attempt.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | undefined;
  private probing = false;

  constructor(
    private readonly threshold: number,
    private readonly cooldownMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): 'closed' | 'open' | 'half-open' {
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt >= this.cooldownMs ? 'half-open' : 'open';
  }

  /** True when a call may go out now. In half-open, only one call at a time. */
  allow(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.probing) return false;
    this.probing = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.openedAt = undefined;
    this.probing = false;
  }

  /** True while the one half-open probe is out. */
  get isProbing(): boolean {
    return this.probing;
  }

  failure(kind: 'timeout' | 'error' = 'error'): void {
    this.failures++;
    if (this.probing || kind === 'timeout' || this.failures >= this.threshold) this.openedAt = this.now();
    this.probing = false;
  }
}

const SYSTEM_PROMPT = `You classify one chat message written to a debt-collection bot in Colombia by a debtor, in Colombian Spanish (slang, typos, no accents). Digits that could identify a person were replaced by #.
Answer with the single best intent and your confidence (0 to 1):
- saludo: a greeting, or an opener led by one
- despedida: goodbye, or thanks-and-bye
- identificacion: offers to identify or asks how, without giving the number
- consulta_deuda: asks what or how much they owe, which entity, why they are contacted
- intencion_pago: wants to pay; asks how or where (accounts, links, Efecty, Baloto, PSE)
- solicitud_plan: asks for installments, a discount, refinancing or a lower amount, or proposes an amount or term
- confirmacion: yes, agrees, accepts an offer
- rechazo: no, declines, with no reason given
- sin_capacidad_pago: cannot pay now: unemployment, illness, no money, "next month"
- disputa: already paid, not my debt, wrong amount, identity theft, prescribed, asks for proof
- solicitar_asesor: wants a human
- no_contactar: stop contacting me, unsubscribe, delete my data, harassment complaint
- fuera_de_tema: anything unrelated`;

const RESPONSE_FORMAT = {
  type: 'json_schema',
  json_schema: {
    name: 'intent_classification',
    strict: true,
    schema: {
      type: 'object',
      properties: {
        intent: { type: 'string', enum: [...INTENTS] },
        confidence: { type: 'number' },
      },
      required: ['intent', 'confidence'],
      additionalProperties: false,
    },
  },
} as const;

const answerSchema = z.object({
  intent: z.enum(INTENTS),
  confidence: z.number().optional(),
});

/** The answer's JSON, or null when it is not one of the 13 labels. */
export function parseAnswer(content: string | null | undefined): OpenAiAnswer | null {
  if (!content) return null;
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch {
    return null;
  }
  const parsed = answerSchema.safeParse(json);
  if (!parsed.success) return null;
  const c = parsed.data.confidence;
  const confidence = c === undefined || !Number.isFinite(c) ? 0.7 : Math.min(1, Math.max(0, c));
  return { intent: parsed.data.intent, confidence };
}

type Failure = { status: 'timeout' | 'error'; retryable: boolean; message: string; retryAfterMs?: number };

function describeFailure(err: unknown): Failure {
  if (err instanceof APIUserAbortError) {
    return { status: 'timeout', retryable: false, message: 'cut short: the circuit opened on another call\'s timeout' };
  }
  if (err instanceof APIConnectionTimeoutError) {
    return { status: 'timeout', retryable: false, message: 'timed out' };
  }
  if (err instanceof APIConnectionError) {
    return { status: 'error', retryable: true, message: `connection failed: ${err.message}` };
  }
  if (err instanceof APIError) {
    const status = err.status ?? 0;
    const retryable = status === 429 || status >= 500;
    return { status: 'error', retryable, message: `${status} ${err.message}`.slice(0, 500), retryAfterMs: retryAfter(err.headers) };
  }
  return { status: 'error', retryable: false, message: err instanceof Error ? err.message.slice(0, 500) : String(err) };
}

function retryAfter(headers: Headers | undefined): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Number(ms);
  const s = headers?.get('retry-after');
  if (s && Number.isFinite(Number(s))) return Number(s) * 1000;
  return undefined;
}

function isReasoningModel(model: string): boolean {
  return /^(?:gpt-5|o\d)/.test(model);
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A conversation id now, or one known once the turn commits (a new conversation's). */
export type ConversationIdSource = string | PromiseLike<string | undefined> | undefined;

/** Classifies messages with an OpenAI-compatible chat model; never throws. */
export class OpenAiClassifier {
  readonly breaker: CircuitBreaker;
  private readonly client: OpenAI;

  constructor(
    private readonly options: OpenAiOptions & { apiKey: string },
    private readonly recorder?: LlmCallRecorder,
    private readonly logger: Logger = processLog,
  ) {
    this.client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseURL ?? 'https://api.openai.com/v1',
      timeout: options.timeoutMs,
      maxRetries: 0, // retries are ours: counted, backed off, and recorded once per call
    });
    this.breaker = new CircuitBreaker(options.breakerThreshold ?? 5, options.breakerCooldownMs ?? 30_000, options.now);
  }

  get model(): string {
    return this.options.model;
  }

  /** The intent, or null when the call was skipped, failed, answered nonsense or ran out of budget. */
  async classify(text: string, conversationId?: ConversationIdSource, names?: readonly string[]): Promise<OpenAiAnswer | null> {
    // The turn waits on the network here, not on this machine (the HTTP bound lets in another).
    return whileRemote(() => this.classifyRemotely(text, conversationId, names));
  }

  private async classifyRemotely(text: string, conversationId?: ConversationIdSource, names?: readonly string[]): Promise<OpenAiAnswer | null> {
    const base = { model: this.options.model, purpose: 'intent' };
    if (!this.breaker.allow()) {
      this.record({ ...base, tokensIn: 0, tokensOut: 0, latencyMs: 0, status: 'circuit_open', costUsd: 0, error: 'circuit open' }, conversationId);
      return null;
    }
    // A half-open probe is one attempt: a still-broken provider costs one debtor one try.
    const probe = this.breaker.isProbing;
    const elapsed = this.options.elapsed ?? (() => performance.now());
    const started = elapsed();
    const budget = this.options.budgetMs ?? DEFAULT_BUDGET_MS;
    const remaining = () => budget - (elapsed() - started);
    const body = {
      model: this.options.model,
      // Reasoning models refuse a temperature and spend tokens thinking: no cap for them.
      ...(isReasoningModel(this.options.model) ? {} : { temperature: 0, max_completion_tokens: 60 }),
      messages: [
        { role: 'system' as const, content: SYSTEM_PROMPT },
        { role: 'user' as const, content: maskForExternal(text, { names }) },
      ],
      response_format: RESPONSE_FORMAT,
    };
    const maxRetries = probe ? 0 : this.options.maxRetries;
    const baseDelay = this.options.backoffBaseMs ?? 500;
    const maxDelay = this.options.backoffMaxMs ?? 8000;
    const sleep = this.options.sleep ?? defaultSleep;
    const abort = new AbortController();
    this.inFlight.add(abort);
    const latency = () => Math.round(elapsed() - started);
    try {
      for (let attempt = 0; ; attempt++) {
        const timeout = Math.max(1, Math.floor(Math.min(this.options.timeoutMs, remaining())));
        try {
          const completion = await this.client.chat.completions.create(body, { timeout, maxRetries: 0, signal: abort.signal });
          const tokensIn = completion.usage?.prompt_tokens ?? 0;
          const tokensOut = completion.usage?.completion_tokens ?? 0;
          const costUsd = estimateCostUsd(completion.model || this.options.model, tokensIn, tokensOut);
          const answer = parseAnswer(completion.choices?.[0]?.message?.content);
          if (!answer) {
            this.breaker.failure();
            this.record({ ...base, tokensIn, tokensOut, latencyMs: latency(), costUsd, status: 'malformed', error: 'answer is not one of the intents' }, conversationId);
            this.logger.warn({ model: this.options.model }, 'OpenAI answered something that is not an intent; using the rules');
            return null;
          }
          this.breaker.success();
          this.record({ ...base, tokensIn, tokensOut, latencyMs: latency(), costUsd, status: 'ok' }, conversationId);
          return answer;
        } catch (err) {
          const failure = describeFailure(err);
          let error = attempt > 0 ? `${failure.message} (after ${attempt + 1} attempts)` : failure.message;
          if (failure.retryable && attempt < maxRetries) {
            const backoff = Math.min(maxDelay, baseDelay * 2 ** attempt);
            const wait = Math.min(maxDelay, Math.max(backoff, failure.retryAfterMs ?? 0));
            // Wait and try again only if the retry still fits in the turn's budget.
            if (wait + MIN_ATTEMPT_MS <= remaining() && (failure.retryAfterMs ?? 0) <= maxDelay) {
              await sleep(wait);
              continue;
            }
            error += `; no retry: waiting ${wait} ms would exceed the turn budget of ${budget} ms`;
          }
          const wasOpen = this.breaker.state !== 'closed';
          this.breaker.failure(failure.status);
          // The first timeout of a burst opens the circuit: the calls still waiting give up now.
          if (failure.status === 'timeout' && !wasOpen) this.abortOthers(abort);
          this.record({ ...base, tokensIn: 0, tokensOut: 0, latencyMs: latency(), costUsd: 0, status: failure.status, error }, conversationId);
          this.logger.warn({ model: this.options.model, status: failure.status, error, circuit: this.breaker.state }, 'OpenAI call failed; using the rules');
          return null;
        }
      }
    } finally {
      this.inFlight.delete(abort);
    }
  }

  private readonly inFlight = new Set<AbortController>();
  private abortOthers(self: AbortController): void {
    for (const other of this.inFlight) if (other !== self) other.abort();
  }

  /** Pending audit writes (tests and shutdown may wait for them). */
  readonly pending = new Set<Promise<void>>();

  /**
   * Records the call without holding the turn: when the conversation id is known only
   * once the turn commits (a new conversation), the row is written then, with it.
   */
  private record(call: Omit<LlmCallRecord, 'conversationId'>, conversationId: ConversationIdSource): void {
    const recorder = this.recorder;
    if (!recorder) return;
    const withId = (id: string | undefined) => recorder.record({ ...call, ...(id ? { conversationId: id } : {}) });
    const started =
      typeof conversationId === 'object' && conversationId !== null
        ? Promise.resolve(conversationId).then(withId)
        : new Promise<void>((resolve) => resolve(withId(conversationId)));
    const write: Promise<void> = started
      .catch((err: unknown) => {
        // The audit must never break a conversation turn.
        this.logger.warn({ err }, 'could not record an LLM call');
      })
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
  }

  /** Resolves when every audit row started so far is written (or failed). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
