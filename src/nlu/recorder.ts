/**
 * Where OpenAI calls are recorded: the llm_calls audit table, or nowhere.
 */
import type { Clock } from '../core/index.js';
import type { Knex } from 'knex';
import type { LlmCallRecord, LlmCallRecorder } from './types.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The llm_calls row for a call (see migrations/20261121000000_core.ts). */
export function llmCallRow(call: LlmCallRecord, provider = 'openai') {
  return {
    provider,
    model: call.model,
    purpose: call.purpose,
    tokens_in: Math.max(0, Math.round(call.tokensIn)),
    tokens_out: Math.max(0, Math.round(call.tokensOut)),
    latency_ms: Math.max(0, Math.round(call.latencyMs)),
    status: call.status,
    error: call.error?.slice(0, 1000) ?? null,
    cost_usd: call.costUsd,
    // The column is a uuid: an id from elsewhere (a test, a CLI run) is not a conversation.
    conversation_id: call.conversationId && UUID.test(call.conversationId) ? call.conversationId : null,
  };
}

/** Records each call as one row of llm_calls. The knex instance is injected; nothing connects here. */
export function createKnexLlmCallRecorder(knex: Knex, options: { provider?: string; clock: Clock }): LlmCallRecorder {
  return {
    async record(call) {
      // Stamped when the call is recorded, by the service's clock (alert and usage windows read it).
      await knex('llm_calls').insert({ ...llmCallRow(call, options.provider), created_at: options.clock.now() });
    },
  };
}
