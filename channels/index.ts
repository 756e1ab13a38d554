import type { ChannelAdapter, ChannelDeps } from './types.js';

export type { ChannelAdapter, ChannelDeps } from './types.js';

/**
 * The channel adapters the configuration enables. Each is imported only when enabled,
 * so an SDK that is not used is never loaded.
 */
export async function loadChannels(deps: ChannelDeps): Promise<ChannelAdapter[]> {
  const adapters: ChannelAdapter[] = [];
  // Each channel's folder adds its line here: `if (enabled) adapters.push(await (await import('./x/index.js')).createXChannel(deps));`
  if (deps.config.WEBCHAT_ENABLED) adapters.push((await import('./webchat/index.js')).createWebchatChannel(deps));
  if (deps.config.WHATSAPP_WEB_ENABLED) adapters.push((await import('./whatsapp-web/index.js')).createWhatsAppWebChannel(deps));
  if (deps.config.WHATSAPP_CLOUD_ENABLED) adapters.push((await import('./whatsapp-cloud/index.js')).createWhatsAppCloudChannel(deps));
  if (deps.config.TELEGRAM_BOT_TOKEN) adapters.push((await import('./telegram/index.js')).createTelegramChannel(deps));
  if (deps.config.BOTFRAMEWORK_ENABLED || deps.config.MicrosoftAppId) adapters.push((await import('./botframework/index.js')).createBotFrameworkChannel(deps));
  return adapters;
}
