import type { MessageHandler, TurnResult } from '../core/index.js';
import type { NluResult } from '../nlu/index.js';
import type { TurnStats } from './turn-stats.js';

/**
 * Wraps a message handler (the engine) so every turn is counted in the turn
 * statistics: its time, whether it failed, and the NLU layer that understood it (from
 * the engine's result). Duplicate deliveries are not turns and are not counted. The
 * wrapper keeps every other member of the handler (reset, transcript…).
 */
export function observeTurns<H extends MessageHandler>(handler: H, stats: TurnStats): H {
  const handle: MessageHandler['handle'] = async (message) => {
    const started = performance.now();
    try {
      const result = await handler.handle(message);
      if (!result.duplicate) {
        const nlu = (result as TurnResult & { nlu?: NluResult }).nlu;
        stats.record({
          channel: message.channel,
          latencyMs: performance.now() - started,
          ok: true,
          source: nlu?.source ?? 'none',
          confidence: nlu?.confidence,
        });
      }
      return result;
    } catch (err) {
      stats.record({ channel: message.channel, latencyMs: performance.now() - started, ok: false, source: 'none' });
      throw err;
    }
  };
  const wrapped = Object.create(Object.getPrototypeOf(handler) as object) as H;
  Object.assign(wrapped, handler, { handle });
  return wrapped;
}
