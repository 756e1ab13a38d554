import type { ChannelAdapter, ChannelPorts } from '../src/core/index.js';

export type { ChannelAdapter, ChannelPorts } from '../src/core/index.js';

/**
 * The channel adapters the configuration enables. Each is imported only when enabled,
 * so an SDK that is not used is never loaded. Every adapter gets the same narrow ports.
 */
export async function loadChannels(ports: ChannelPorts): Promise<ChannelAdapter[]> {
  const { config } = ports;
  const adapters: ChannelAdapter[] = [];
  if (config.WEBCHAT_ENABLED) adapters.push((await import('./webchat/index.js')).createWebchatChannel(ports));
  if (config.WHATSAPP_WEB_ENABLED) adapters.push((await import('./whatsapp-web/index.js')).createWhatsAppWebChannel(ports));
  if (config.WHATSAPP_CLOUD_ENABLED) adapters.push((await import('./whatsapp-cloud/index.js')).createWhatsAppCloudChannel(ports));
  if (config.TELEGRAM_BOT_TOKEN) adapters.push((await import('./telegram/index.js')).createTelegramChannel(ports));
  if (config.BOTFRAMEWORK_ENABLED || config.MicrosoftAppId) adapters.push((await import('./botframework/index.js')).createBotFrameworkChannel(ports));
  return adapters;
}
