/**
 * The real understander (src/nlu) with the local model only, as the flow tests and
 * the benchmark use it: no OpenAI, so results are deterministic and offline.
 */
import { createLogger } from '../../../src/log.js';
import { createUnderstander, type Understander } from '../../../src/nlu/index.js';

let shared: Promise<Understander> | undefined;

export function localUnderstander(): Promise<Understander> {
  shared ??= createUnderstander({
    settings: () => ({ confidenceThreshold: 0.6, openaiEnabled: false, maxChars: 2000 }),
    log: createLogger({ level: 'silent', pretty: false }),
  });
  return shared;
}
