import express, { type Express, type Request, type Response } from 'express';
import type { OutboundChannel, Reply } from '../../src/core/index.js';
import { ChannelApiError, ConfigError, withSendProgress } from '../../src/core/index.js';
import { safeEqual } from '../../src/core/index.js';
import type { ChannelAdapter, ChannelPorts } from '../types.js';
import { GraphApi, OUTSIDE_WINDOW, type GraphApiSettings } from './graph-api.js';
import { parseWebhook, type ParsedWebhook } from './payload.js';
import { toGraphMessages } from './render.js';
import { hasValidSignature } from './signature.js';
import { applyStatus, describeErrors } from './statuses.js';
import { sendTemplate, type TemplateMessage } from './templates.js';

export { GraphApi, type GraphApiSettings } from './graph-api.js';
export { shortenLabel, toGraphMessage, toGraphMessages } from './render.js';
export { signatureFor } from './signature.js';
export { sendTemplate, toTemplateMessage, type TemplateComponent, type TemplateMessage, type TemplateParameter } from './templates.js';

/** Where Meta delivers webhooks; configure `<PUBLIC_URL>/whatsapp/webhook` in the Meta app. */
export const WEBHOOK_PATH = '/whatsapp/webhook';
/** Webhook bodies are small; Meta batches at most a few messages. */
const BODY_LIMIT = '1mb';

/** The official WhatsApp Business Cloud API as a channel, plus templates for the campaigns. */
export interface WhatsAppCloudChannel extends ChannelAdapter {
  readonly name: 'whatsapp-cloud';
  /** Sends an approved template (the only way to write first or after 24 h of silence); returns the wamid. */
  sendTemplate(to: string, template: TemplateMessage): Promise<{ externalId: string }>;
  status(): WhatsAppCloudStatus;
}

export interface WhatsAppCloudStatus extends Record<string, unknown> {
  state: 'ready';
  lastWebhookAt?: string;
  /** Replies that could not go out because the 24-hour window had closed: a template is needed. */
  templateNeeded: { count: number; lastAt?: string };
  lastError?: string;
}

/** The Graph API settings from the configuration; throws ConfigError naming what is missing. */
export function graphSettingsFromConfig(config: ChannelPorts['config']): GraphApiSettings & { verifyToken: string; appSecret: string } {
  const missing = (
    [
      ['WHATSAPP_CLOUD_TOKEN', config.WHATSAPP_CLOUD_TOKEN],
      ['WHATSAPP_CLOUD_PHONE_NUMBER_ID', config.WHATSAPP_CLOUD_PHONE_NUMBER_ID],
      ['WHATSAPP_CLOUD_VERIFY_TOKEN', config.WHATSAPP_CLOUD_VERIFY_TOKEN],
      ['WHATSAPP_CLOUD_APP_SECRET', config.WHATSAPP_CLOUD_APP_SECRET],
    ] as const
  ).filter(([, value]) => !value);
  if (missing.length) {
    throw new ConfigError(missing.map(([variable]) => ({ variable, expected: 'required when WHATSAPP_CLOUD_ENABLED=true' })));
  }
  return {
    token: config.WHATSAPP_CLOUD_TOKEN!,
    phoneNumberId: config.WHATSAPP_CLOUD_PHONE_NUMBER_ID!,
    verifyToken: config.WHATSAPP_CLOUD_VERIFY_TOKEN!,
    appSecret: config.WHATSAPP_CLOUD_APP_SECRET!,
    apiVersion: config.WHATSAPP_CLOUD_API_VERSION,
    baseUrl: config.WHATSAPP_CLOUD_BASE_URL,
  };
}

/**
 * The Cloud API adapter. Inbound: GET /whatsapp/webhook answers Meta's verification
 * handshake; POST /whatsapp/webhook checks X-Hub-Signature-256 over the raw body,
 * hands each debtor message to the engine (which drops repeated wamids) and moves
 * outbox rows along the statuses Meta reports. Outbound: replies as text,
 * interactive reply buttons (≤ 3 options), an interactive list (4–10) or numbered
 * text, through POST /{version}/{phone-number-id}/messages.
 */
export function createWhatsAppCloudChannel(ports: ChannelPorts): WhatsAppCloudChannel {
  const settings = graphSettingsFromConfig(ports.config);
  const api = new GraphApi(settings);
  const log = ports.log.child({ channel: 'whatsapp-cloud' });
  const state: WhatsAppCloudStatus = { state: 'ready', templateNeeded: { count: 0 } };

  function templateNeeded(recipient: string, explanation: string): void {
    state.templateNeeded = { count: state.templateNeeded.count + 1, lastAt: ports.clock.now().toISOString() };
    state.lastError = explanation;
    log.warn(
      { recipient, code: OUTSIDE_WINDOW },
      'WhatsApp reply not delivered: the 24-hour window is closed; send an approved message template to reopen the conversation',
    );
  }

  const outbound: OutboundChannel = {
    name: 'whatsapp-cloud',
    async send(to: string, replies: Reply[]) {
      // A reply is one Graph message, or several in order when its text is too long for one
      // (the buttons on the last). Progress counts whole replies: a reply cut short is sent again.
      const externalIds: string[] = [];
      let delivered = 0;
      for (const reply of replies) {
        for (const message of toGraphMessages(reply)) {
          try {
            externalIds.push(await api.sendMessage(to, message));
          } catch (err) {
            if (err instanceof ChannelApiError && err.options.code === OUTSIDE_WINDOW) templateNeeded(to, err.message);
            else if (err instanceof Error) state.lastError = err.message;
            throw withSendProgress(err, 'whatsapp-cloud', delivered, externalIds);
          }
        }
        delivered += 1;
      }
      const externalId = externalIds.at(-1);
      return externalId ? { externalId, externalIds } : undefined;
    },
  };

  async function processDelivery(parsed: ParsedWebhook): Promise<{ failed: number }> {
    let failed = 0;
    // In order: a debtor's messages in one delivery are turns in the order they wrote them.
    for (const message of parsed.messages) {
      try {
        const turn = await ports.engine.handle(message);
        if (turn.duplicate) log.debug({ messageId: message.messageId }, 'repeated WhatsApp delivery dropped');
      } catch (err) {
        failed++;
        log.error({ err, messageId: message.messageId }, 'WhatsApp message could not be handled; Meta will deliver it again');
      }
    }
    for (const update of parsed.statuses) {
      try {
        const moved = await applyStatus(ports.reportDeliveryStatus, update);
        if (update.status === 'failed') {
          const explanation = describeErrors(update.errors) ?? 'failed';
          if (update.errors.some((e) => e.code === OUTSIDE_WINDOW)) templateNeeded(update.externalId, explanation);
          else {
            state.lastError = explanation;
            log.warn({ externalId: update.externalId, moved, errors: update.errors.map((e) => e.code) }, 'WhatsApp message failed');
          }
        }
      } catch (err) {
        failed++;
        log.error({ err, externalId: update.externalId }, 'WhatsApp status could not be recorded');
      }
    }
    for (const error of parsed.errors) {
      state.lastError = describeErrors([error]);
      log.warn({ code: error.code, title: error.title }, 'WhatsApp Cloud API reported an error');
    }
    return { failed };
  }

  function verify(req: Request, res: Response): void {
    const query = new URL(req.originalUrl, 'http://localhost').searchParams;
    const mode = query.get('hub.mode');
    const token = query.get('hub.verify_token') ?? '';
    const challenge = query.get('hub.challenge') ?? '';
    if (mode === 'subscribe' && safeEqual(token, settings.verifyToken) && challenge) {
      log.info('Meta verified the WhatsApp webhook');
      res.status(200).type('text/plain').send(challenge);
      return;
    }
    log.warn({ mode }, 'WhatsApp webhook verification refused: wrong verify token');
    res.status(403).json({ error: 'forbidden', details: 'hub.verify_token does not match' });
  }

  async function receive(req: Request, res: Response): Promise<void> {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!hasValidSignature(raw, req.get('x-hub-signature-256'), settings.appSecret)) {
      log.warn({ hasSignature: Boolean(req.get('x-hub-signature-256')) }, 'WhatsApp webhook refused: bad or missing X-Hub-Signature-256');
      res.status(401).json({ error: 'unauthorized', details: 'invalid X-Hub-Signature-256' });
      return;
    }
    let parsed: ParsedWebhook;
    try {
      parsed = parseWebhook(JSON.parse(raw.toString('utf8')), settings.phoneNumberId, ports.clock.now());
    } catch {
      res.status(400).json({ error: 'invalid_payload', details: 'not a WhatsApp Business webhook' });
      return;
    }
    state.lastWebhookAt = ports.clock.now().toISOString();
    const { failed } = await processDelivery(parsed);
    // A 5xx makes Meta deliver again later; handled messages are then dropped as repeats.
    if (failed) res.status(500).json({ error: 'internal_error' });
    else res.status(200).json({ ok: true });
  }

  return {
    name: 'whatsapp-cloud',
    outbound,
    mount(app: Express) {
      app.get(WEBHOOK_PATH, verify);
      app.post(WEBHOOK_PATH, express.raw({ type: () => true, limit: BODY_LIMIT }), receive);
    },
    sendTemplate: (to, template) => sendTemplate(api, to, template),
    status: () => ({ ...state, templateNeeded: { ...state.templateNeeded } }),
  };
}
