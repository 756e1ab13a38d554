import { openaiCost, openaiFailures, openaiTokens } from '../metrics.js';
import type { LlmCallRecorder } from '../nlu/index.js';

/**
 * Wraps the NLU's audit recorder so every OpenAI call also counts in Prometheus:
 * tokens by model and kind, estimated cost by model, failures by status. The audit
 * row is still written by the wrapped recorder.
 */
export function observeLlmCalls(recorder: LlmCallRecorder): LlmCallRecorder {
  return {
    async record(call) {
      if (call.tokensIn > 0) openaiTokens.inc({ model: call.model, kind: 'in' }, call.tokensIn);
      if (call.tokensOut > 0) openaiTokens.inc({ model: call.model, kind: 'out' }, call.tokensOut);
      if (call.costUsd > 0) openaiCost.inc({ model: call.model }, call.costUsd);
      if (call.status !== 'ok') openaiFailures.inc({ status: call.status });
      await recorder.record(call);
    },
  };
}
