/**
 * The core: the types every part of acuerdo shares (the channel contract, the clock,
 * the error tree). It imports nothing of ours; channels/ import only this.
 */
export * from './channel-types.js';
export * from './clock.js';
export * from './errors.js';
export { safeEqual } from './safe-equal.js';
export * from './config.js';
export * from './channel-ports.js';
export { renderNumberedOptions } from './numbered-options.js';
export type { Logger } from 'pino';
export * from './calendar.js';
export { KeyedSerialQueue } from './keyed-queue.js';
export { hasControlCharacters, normalizeUserId } from './ids.js';
export { splitAtSentences } from './split-text.js';
export { remoteWaiting, whileRemote } from './remote-wait.js';
