import type { ChannelAdapter, ChannelDeps } from './types.js';

export type { ChannelAdapter, ChannelDeps } from './types.js';

/**
 * The channel adapters the configuration enables. Each is imported only when enabled,
 * so an SDK that is not used is never loaded.
 */
export async function loadChannels(deps: ChannelDeps): Promise<ChannelAdapter[]> {
  const adapters: ChannelAdapter[] = [];
  // Each channel's folder adds its line here: `if (enabled) adapters.push(await (await import('./x/index.js')).createXChannel(deps));`
  void deps;
  return adapters;
}
