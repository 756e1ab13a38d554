/**
 * What a campaign says. The opening never carries debt details: the phone may not be
 * the debtor's (Ley 2300, art. 4), so it only asks for the cédula, and the engine
 * shows the debt once the cédula matches.
 */
import type { Reply } from '../core/index.js';
import { firstName } from '../flows/index.js';
import type { CampaignContent, CampaignDebtor } from './campaigns.js';

/** An approved WhatsApp template, as the whatsapp-cloud channel's sendTemplate takes it. */
export interface CampaignTemplate {
  name: string;
  language: string;
  bodyParameters?: string[];
}

/** A reply that is really a template: how campaign rows for whatsapp-cloud look in the outbox. */
export interface TemplateReply extends Reply {
  template: CampaignTemplate;
}

export function isTemplateReply(reply: unknown): reply is TemplateReply {
  if (typeof reply !== 'object' || reply === null) return false;
  const t = (reply as { template?: unknown }).template;
  return typeof t === 'object' && t !== null && typeof (t as { name?: unknown }).name === 'string';
}

/** The variables a template parameter may name: only what is safe before identification. */
export const TEMPLATE_PARAMETERS = { nombre: (d: CampaignDebtor) => firstName(d.nombre_del_cliente) } as const;
export type TemplateParameterName = keyof typeof TEMPLATE_PARAMETERS;

export function isTemplateParameterName(name: string): name is TemplateParameterName {
  return Object.prototype.hasOwnProperty.call(TEMPLATE_PARAMETERS, name);
}

/** Plain text for telegram and whatsapp-web. */
export function textContent(text: (debtor: CampaignDebtor) => string): CampaignContent {
  return (debtor) => [{ text: text(debtor) }] satisfies Reply[];
}

/** An approved template for whatsapp-cloud; the text is what transcripts show. */
export function templateContent(name: string, language: string, parameters: readonly TemplateParameterName[] = []): CampaignContent {
  return (debtor) => {
    const bodyParameters = parameters.map((p) => TEMPLATE_PARAMETERS[p](debtor));
    const template: CampaignTemplate = { name, language, ...(bodyParameters.length ? { bodyParameters } : {}) };
    return [{ text: `[plantilla de WhatsApp "${name}"]`, template }] satisfies TemplateReply[];
  };
}
