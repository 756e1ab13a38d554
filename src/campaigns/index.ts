/**
 * Outbound campaigns: start (resumable, never twice), dry-run, status and cancel, and
 * what they say (flow text, or an approved WhatsApp template).
 */
export {
  CAMPAIGN_CHANNELS,
  CampaignError,
  campaignStatus,
  cancelCampaign,
  isCampaignChannel,
  planCampaign,
  SKIP_REASONS,
  startCampaign,
  type CampaignChannel,
  type CampaignContent,
  type CampaignDebtor,
  type CampaignPlan,
  type CampaignProgress,
  type CampaignSettings,
  type PlanEntry,
  type SkipReason,
  type StartOptions,
  type StartResult,
} from './campaigns.js';
export {
  isTemplateReply,
  templateContent,
  textContent,
  type CampaignTemplate,
  type TemplateReply,
} from './content.js';
export { flowOpeningContent, renderOpening } from './opening.js';
export { createPacer, type Pacer } from './pacing.js';
export { templateAwareOutbound, type TemplateCapable } from './template-channel.js';
export { campaignSettings } from './campaigns.js';
export { isTemplateParameterName, type TemplateParameterName } from './content.js';
