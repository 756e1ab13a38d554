import type { GraphApi, GraphMessage } from './graph-api.js';

/** One parameter of a template component, as the Graph API takes it. */
export type TemplateParameter =
  | { type: 'text'; text: string }
  | { type: 'currency'; currency: { fallback_value: string; code: string; amount_1000: number } }
  | { type: 'date_time'; date_time: { fallback_value: string } }
  | { type: 'payload'; payload: string }
  /** A DOCUMENT header (e.g. the paz y salvo PDF), fetched by Meta from `link`. */
  | { type: 'document'; document: { link: string; filename: string } };

export interface TemplateComponent {
  type: 'header' | 'body' | 'button';
  /** For buttons: quick_reply or url. */
  sub_type?: 'quick_reply' | 'url';
  /** For buttons: the button's position, "0" to "9". */
  index?: string;
  parameters: TemplateParameter[];
}

/**
 * An approved message template: the only way to write first, or again after 24
 * hours of silence. `bodyParameters` is the common case (the {{1}}, {{2}}… of the
 * body, in order); `components` gives full control and is sent as given.
 */
export interface TemplateMessage {
  /** The template's name as approved in WhatsApp Manager, e.g. "recordatorio_deuda". */
  name: string;
  /** The template's language code, e.g. "es_CO" or "es". */
  language: string;
  bodyParameters?: string[];
  components?: TemplateComponent[];
}

/** The Graph API `template` message for `template`. */
export function toTemplateMessage(template: TemplateMessage): GraphMessage {
  const components: TemplateComponent[] = [...(template.components ?? [])];
  if (template.bodyParameters?.length && !components.some((c) => c.type === 'body')) {
    components.push({ type: 'body', parameters: template.bodyParameters.map((text) => ({ type: 'text', text })) });
  }
  return {
    type: 'template',
    template: {
      name: template.name,
      language: { code: template.language },
      ...(components.length ? { components } : {}),
    },
  };
}

/**
 * Sends an approved template to `to` (international digits, e.g. 573001234567) and
 * returns its wamid, which status webhooks will name. Throws ChannelApiError like
 * any send (retryable on rate limits).
 */
export async function sendTemplate(api: GraphApi, to: string, template: TemplateMessage): Promise<{ externalId: string }> {
  return { externalId: await api.sendMessage(to, toTemplateMessage(template)) };
}
