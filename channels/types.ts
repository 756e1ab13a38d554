/** The channel contract lives in the core; adapters import it from there. */
export type { ChannelAdapter, ChannelPorts } from '../src/core/index.js';
