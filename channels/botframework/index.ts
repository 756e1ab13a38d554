/**
 * The Microsoft Bot Framework channel (Azure Bot Service: Teams, Web Chat, and the
 * Bot Framework Emulator), on botbuilder's CloudAdapter, at POST /api/messages.
 *
 * With MicrosoftAppId set, every request must carry a token the Bot Framework signed
 * (401 otherwise). Without it the channel runs in local Emulator mode: no
 * authentication, so it only answers service URLs on this machine and is refused
 * when NODE_ENV=production. Never expose that mode publicly.
 *
 * Inbound: each activity becomes one InboundMessage whose channelRef (the
 * ConversationReference) the engine keeps on the conversation. Outbound: the outbox
 * calls send() with that reference, and the reply reaches the debtor through
 * continueConversationAsync, whenever it is sent.
 */
import express, { type ErrorRequestHandler, type Express, type Request, type Response } from 'express';
import {
  CallerIdConstants,
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type Activity,
  type ConversationReference,
  type TurnContext,
} from 'botbuilder';
import { AuthenticationConstants, AuthenticationError } from 'botframework-connector';
import type { OutboundChannel, Reply, SendResult } from '../../src/core/index.js';
import { ChannelApiError, ConfigError, withSendProgress } from '../../src/core/index.js';
import type { ChannelAdapter, ChannelPorts } from '../types.js';
import { activitySchema, conversationReferenceSchema, interpretActivity, type ActivityJson } from './activities.js';
import { renderReply } from './render.js';

export const MESSAGES_PATH = '/api/messages';

/** Hosts an Emulator-mode bot will talk to: this machine only. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function isLoopback(serviceUrl: string): boolean {
  try {
    return LOOPBACK_HOSTS.has(new URL(serviceUrl).hostname);
  } catch {
    return false;
  }
}

/**
 * A connector failure as the outbox understands it. botbuilder has already retried
 * 429 (after Retry-After) and 5xx by the time one reaches here.
 */
export function toChannelError(err: unknown): ChannelApiError {
  if (err instanceof ChannelApiError) return err;
  const status = (err as { statusCode?: unknown }).statusCode;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof status === 'number') {
    const retryAfter = Number((err as { response?: { headers?: { get?(name: string): string | undefined } } }).response?.headers?.get?.('retry-after'));
    return new ChannelApiError(`bot framework connector answered ${status}: ${message}`, 'botframework', {
      retryable: status === 429 || status >= 500,
      ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
      code: status,
      cause: err,
    });
  }
  return new ChannelApiError(`bot framework send failed: ${message}`, 'botframework', { retryable: true, code: 'network', cause: err });
}

/**
 * The public cloud's settings with another OpenID metadata URL. botbuilder takes any one
 * of these settings as "all of them are given": setting only the metadata URL would leave
 * the token issuer empty and refuse every token.
 */
function publicCloudWith(openIdMetadataUrl: string): Record<string, string | boolean> {
  return {
    ValidateAuthority: true,
    ToChannelFromBotLoginUrl: AuthenticationConstants.ToChannelFromBotLoginUrl,
    ToChannelFromBotOAuthScope: AuthenticationConstants.ToChannelFromBotOAuthScope,
    ToBotFromChannelTokenIssuer: AuthenticationConstants.ToBotFromChannelTokenIssuer,
    OAuthUrl: AuthenticationConstants.OAuthUrl,
    ToBotFromChannelOpenIdMetadataUrl: openIdMetadataUrl,
    ToBotFromEmulatorOpenIdMetadataUrl: AuthenticationConstants.ToBotFromEmulatorOpenIdMetadataUrl,
    CallerId: CallerIdConstants.PublicAzureChannel,
  };
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

/**
 * True when token verification failed because the OpenID metadata or its keys could not
 * be fetched (the library's "Failed to load …" with a 5xx status, or a network error),
 * rather than because the token is bad.
 */
export function metadataUnavailable(err: unknown): boolean {
  if (err instanceof AuthenticationError) return (err.statusCode ?? 0) >= 500;
  for (let e = err as { code?: unknown; type?: unknown; name?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
    if (e.name === 'FetchError' && e.type === 'system') return true;
    if (typeof e.message === 'string' && /^fetch failed|network|socket hang up/i.test(e.message)) return true;
  }
  return false;
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message.slice(0, 200) : String(err).slice(0, 200);
}

class BotFrameworkOutbound implements OutboundChannel {
  readonly name = 'botframework' as const;

  constructor(
    private readonly adapter: CloudAdapter,
    private readonly appId: string | undefined,
  ) {}

  async send(to: string, replies: Reply[], options: { channelRef?: unknown } = {}): Promise<SendResult> {
    const parsed = conversationReferenceSchema.safeParse(options.channelRef);
    if (!parsed.success) {
      throw new ChannelApiError(`no conversation reference stored for ${to}`, 'botframework', { retryable: false, code: 'no_reference' });
    }
    const reference = parsed.data;
    if (!this.appId && !isLoopback(reference.serviceUrl)) {
      throw new ChannelApiError('emulator mode only answers service URLs on this machine', 'botframework', { retryable: false, code: 'not_loopback' });
    }
    const activities = replies.map((r) => renderReply(r, reference.channelId, reference.user?.id));
    const externalIds: string[] = [];
    let delivered = 0;
    try {
      // The reference's required fields were checked above; the SDK type also lists optional account fields as required.
      const sdkReference = reference as unknown as ConversationReference;
      await this.adapter.continueConversationAsync(this.appId ?? '', sdkReference, async (context: TurnContext) => {
        // One activity at a time, so a failure can say how many replies went out.
        for (const activity of activities) {
          const response = await context.sendActivity(activity);
          if (response?.id) externalIds.push(response.id);
          delivered += 1;
        }
      });
    } catch (err) {
      throw withSendProgress(toChannelError(err), 'botframework', delivered, externalIds);
    }
    const last = externalIds.at(-1);
    return last ? { externalId: last, externalIds } : {};
  }
}

export class BotFrameworkChannel implements ChannelAdapter {
  readonly name = 'botframework' as const;
  readonly outbound: OutboundChannel;
  /** True without MicrosoftAppId: no authentication, loopback service URLs only. */
  readonly emulatorMode: boolean;
  private readonly auth: ConfigurationBotFrameworkAuthentication;
  private readonly adapter: CloudAdapter;
  private readonly appId: string | undefined;
  private handled = 0;

  constructor(private readonly ports: ChannelPorts) {
    const { config } = ports;
    this.appId = config.MicrosoftAppId;
    this.emulatorMode = !this.appId;
    const problems: { variable: string; expected: string }[] = [];
    if (this.emulatorMode && config.NODE_ENV === 'production') {
      problems.push({ variable: 'MicrosoftAppId', expected: 'the Azure Bot app id: without it the channel has no authentication, which production refuses' });
    }
    if (this.appId && config.MicrosoftAppType !== 'UserAssignedMSI' && !config.MicrosoftAppPassword) {
      problems.push({ variable: 'MicrosoftAppPassword', expected: `the client secret of app ${this.appId}` });
    }
    if (this.appId && config.MicrosoftAppType !== 'MultiTenant' && !config.MicrosoftAppTenantId) {
      problems.push({ variable: 'MicrosoftAppTenantId', expected: `the Entra tenant id (required for ${config.MicrosoftAppType})` });
    }
    if (problems.length) throw new ConfigError(problems);

    this.auth = new ConfigurationBotFrameworkAuthentication(
      this.appId
        ? {
            MicrosoftAppId: this.appId,
            MicrosoftAppType: config.MicrosoftAppType,
            ...(config.MicrosoftAppPassword ? { MicrosoftAppPassword: config.MicrosoftAppPassword } : {}),
            ...(config.MicrosoftAppTenantId ? { MicrosoftAppTenantId: config.MicrosoftAppTenantId } : {}),
            ...(config.BotOpenIdMetadata ? publicCloudWith(config.BotOpenIdMetadata) : {}),
          }
        : {},
    );
    // No onTurnError: a failed turn rejects processActivityDirect, and the request answers 500.
    this.adapter = new CloudAdapter(this.auth);
    this.outbound = new BotFrameworkOutbound(this.adapter, this.appId);
  }

  mount(app: Express): void {
    const badBody: ErrorRequestHandler = (err: { status?: number; message?: string }, _req, res, next) => {
      if (err.status === 400 || err.status === 413) res.status(err.status).json({ error: 'invalid_activity', details: err.message });
      else next(err);
    };
    app.post(MESSAGES_PATH, express.json({ limit: '256kb' }), (req: Request, res: Response) => this.onRequest(req, res), badBody);
  }

  status(): Record<string, unknown> {
    return { state: 'ready', mode: this.emulatorMode ? 'emulator' : 'azure', handled: this.handled };
  }

  private async onRequest(req: Request, res: Response): Promise<void> {
    const parsed = activitySchema.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({
        error: 'invalid_activity',
        details: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`),
      });
      return;
    }
    const activity = parsed.data;
    if (this.emulatorMode && !isLoopback(activity.serviceUrl)) {
      res.status(403).json({ error: 'forbidden', details: 'emulator mode (no MicrosoftAppId) only answers service URLs on this machine' });
      return;
    }
    const header = req.headers.authorization ?? '';
    let authenticated;
    try {
      authenticated = await this.auth.authenticateRequest(activity as unknown as Activity, header);
    } catch (err) {
      if (metadataUnavailable(err)) {
        // Microsoft's keys could not be read: not the caller's fault; the Bot Connector delivers again.
        this.ports.log.warn({ channelId: activity.channelId, reason: reasonOf(err) }, 'bot framework request not checked: the OpenID metadata is unreachable; answered 503');
        res.setHeader('Retry-After', '5');
        res.status(503).json({ error: 'auth_metadata_unavailable', details: 'the Bot Framework signing keys could not be loaded; retry shortly' });
        return;
      }
      // Whatever else failed (no token, another key's signature, wrong audience or issuer, expired): 401.
      this.ports.log.warn({ channelId: activity.channelId, reason: reasonOf(err) }, 'bot framework request refused: not authenticated');
      res.status(401).json({ error: 'unauthorized' });
      return;
    }
    try {
      await this.adapter.processActivityDirect(authenticated, activity as unknown as Activity, async () => {
        await this.onActivity(activity);
      });
    } catch (err) {
      this.ports.log.error({ err, channelId: activity.channelId, type: activity.type }, 'bot framework activity failed');
      res.status(500).json({ error: 'internal_error' });
      return;
    }
    res.status(200).end();
  }

  private async onActivity(activity: ActivityJson): Promise<void> {
    const action = interpretActivity(activity, this.ports.clock.now());
    if (action.kind === 'ignore') {
      this.ports.log.debug({ type: activity.type, channelId: activity.channelId, reason: action.reason }, 'bot framework activity ignored');
      return;
    }
    this.handled += 1;
    await this.ports.engine.handle(action.message);
  }
}

/** The adapter loadChannels() adds when BOTFRAMEWORK_ENABLED=true or MicrosoftAppId is set. */
export function createBotFrameworkChannel(ports: ChannelPorts): BotFrameworkChannel {
  return new BotFrameworkChannel(ports);
}
