/**
 * The Telegram channel, on telegraf. Long polling when only TELEGRAM_BOT_TOKEN is set
 * (development); a webhook at POST /telegram/webhook when TELEGRAM_WEBHOOK_URL and
 * TELEGRAM_WEBHOOK_SECRET are set too (production).
 *
 * Inbound: every update becomes one InboundMessage for the engine, whose dedup on
 * (channel, messageId) drops a redelivered update_id, across restarts too, in the
 * same transaction as the turn. Outbound: TelegramOutbound, called by the outbox.
 */
import express, { type ErrorRequestHandler, type Express, type Request, type Response } from 'express';
import { Telegraf, type Context } from 'telegraf';
import { ConfigError } from '../../src/core/index.js';
import { KeyedSerialQueue } from '../../src/core/index.js';
import type { ChannelAdapter, ChannelPorts } from '../types.js';
import { TelegramOutbound } from './outbound.js';
import { realClock, SendScheduler, TELEGRAM_LIMITS, type SchedulerClock, type SendLimits } from './send-scheduler.js';
import { interpretUpdate } from './updates.js';
import { requireSecret, WEBHOOK_PATH } from './webhook.js';

export { WEBHOOK_PATH } from './webhook.js';

/** Only these updates are asked for; anything else that arrives is ignored. */
// my_chat_member: in a private chat, the user blocked or unblocked the bot.
const ALLOWED_UPDATES = ['message', 'callback_query', 'my_chat_member'] as const;

/** Said when a polled update could not be handled: polling does not redeliver it. */
const TRY_AGAIN_TEXT = 'Tuvimos un inconveniente para leer su mensaje 🙏 ¿Me lo puede escribir de nuevo, por favor?';

export interface TelegramChannelOptions {
  /** Time for the send pacing; tests pass a fake clock. */
  clock?: SchedulerClock;
  /** Sending limits; Telegram's by default. */
  limits?: SendLimits;
}

type Mode = 'polling' | 'webhook';

export class TelegramChannel implements ChannelAdapter {
  readonly name = 'telegram' as const;
  readonly outbound: TelegramOutbound;
  readonly mode: Mode;
  private readonly bot: Telegraf;
  private readonly botId: string;
  private readonly queue = new KeyedSerialQueue();
  /** Updates whose handling failed, so their webhook request can answer 500. */
  private readonly failed = new WeakSet<object>();
  private polling?: Promise<void>;
  private state: 'created' | 'starting' | 'ready' | 'stopped' | 'error' = 'created';
  private lastError?: string;

  constructor(
    private readonly ports: ChannelPorts,
    options: TelegramChannelOptions = {},
  ) {
    const { config } = ports;
    const token = config.TELEGRAM_BOT_TOKEN;
    if (!token) throw new ConfigError([{ variable: 'TELEGRAM_BOT_TOKEN', expected: 'the token BotFather gave' }]);
    if (Boolean(config.TELEGRAM_WEBHOOK_URL) !== Boolean(config.TELEGRAM_WEBHOOK_SECRET)) {
      const missing = config.TELEGRAM_WEBHOOK_URL ? 'TELEGRAM_WEBHOOK_SECRET' : 'TELEGRAM_WEBHOOK_URL';
      throw new ConfigError([{ variable: missing, expected: 'webhook mode needs both TELEGRAM_WEBHOOK_URL and TELEGRAM_WEBHOOK_SECRET' }]);
    }
    this.mode = config.TELEGRAM_WEBHOOK_URL ? 'webhook' : 'polling';
    this.botId = token.split(':')[0] ?? token;
    // webhookReply off: every Bot API call is a real request whose failure we see.
    this.bot = new Telegraf(token, { telegram: { apiRoot: config.TELEGRAM_API_ROOT, webhookReply: false } });
    // telegraf's default handler rethrows, which would take the process down.
    this.bot.catch((err, ctx) => this.onUpdateFailed(err, ctx));
    this.bot.use((ctx) => this.onUpdate(ctx));
    const clock = options.clock ?? realClock;
    this.outbound = new TelegramOutbound({
      telegram: this.bot.telegram,
      scheduler: new SendScheduler(options.limits ?? TELEGRAM_LIMITS, clock),
      log: ports.log,
    });
  }

  mount(app: Express): void {
    const secret = this.ports.config.TELEGRAM_WEBHOOK_SECRET;
    if (this.mode !== 'webhook' || !secret) return;
    const badBody: ErrorRequestHandler = (err: { status?: number; message?: string }, _req, res, next) => {
      if (err.status === 400 || err.status === 413) res.status(err.status).json({ error: 'invalid_update', details: err.message });
      else next(err);
    };
    app.post(WEBHOOK_PATH, requireSecret(secret), express.json({ limit: '1mb' }), async (req: Request, res: Response) => {
      const update: unknown = req.body;
      if (typeof update !== 'object' || update === null || typeof (update as { update_id?: unknown }).update_id !== 'number') {
        res.status(400).json({ error: 'invalid_update', details: 'expected a Telegram Update with an update_id' });
        return;
      }
      const { ok } = await this.handleUpdate(update);
      // A 5xx makes Telegram deliver the update again; the engine's dedup makes that safe.
      if (ok) res.status(200).json({ ok: true });
      else res.status(500).json({ error: 'internal_error' });
    }, badBody);
  }

  async start(): Promise<void> {
    this.state = 'starting';
    try {
      this.bot.botInfo ??= await this.bot.telegram.getMe();
      const url = this.ports.config.TELEGRAM_WEBHOOK_URL;
      if (this.mode === 'webhook' && url) {
        if (!new URL(url).pathname.endsWith(WEBHOOK_PATH)) {
          this.ports.log.warn({ path: new URL(url).pathname }, `TELEGRAM_WEBHOOK_URL does not end in ${WEBHOOK_PATH}; make sure a proxy forwards it there`);
        }
        await this.bot.telegram.setWebhook(url, {
          secret_token: this.ports.config.TELEGRAM_WEBHOOK_SECRET,
          allowed_updates: [...ALLOWED_UPDATES],
        });
      } else {
        this.polling = this.bot.launch({ allowedUpdates: [...ALLOWED_UPDATES] }).catch((err: unknown) => {
          if (this.state === 'stopped') return;
          this.state = 'error';
          this.lastError = err instanceof Error ? err.message : String(err);
          this.ports.log.error({ err }, 'telegram polling stopped');
        });
      }
      this.state = 'ready';
      this.ports.log.info({ mode: this.mode, bot: this.bot.botInfo.username }, 'telegram channel ready');
    } catch (err) {
      this.state = 'error';
      this.lastError = err instanceof Error ? err.message : String(err);
      throw err;
    }
  }

  async stop(): Promise<void> {
    const wasPolling = this.polling !== undefined;
    this.state = 'stopped';
    if (wasPolling) {
      this.bot.stop('shutdown');
      await this.polling;
      this.polling = undefined;
    }
  }

  status(): Record<string, unknown> {
    return {
      state: this.state,
      mode: this.mode,
      ...(this.bot.botInfo ? { bot: this.bot.botInfo.username } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  /** Handles one webhook delivery; `ok` is false when handling failed (already logged). */
  async handleUpdate(update: object): Promise<{ ok: boolean }> {
    await this.bot.handleUpdate(update as Parameters<Telegraf['handleUpdate']>[0]);
    const failed = this.failed.has(update);
    this.failed.delete(update);
    return { ok: !failed };
  }

  private async onUpdate(ctx: Context): Promise<void> {
    const action = interpretUpdate(ctx.update, this.botId, this.ports.clock.now());
    if (action.kind === 'ignore') {
      this.ports.log.debug({ updateId: ctx.update.update_id, reason: action.reason }, 'telegram update ignored');
      return;
    }
    if (action.kind === 'reachability') {
      // Blocked: nothing more can reach them here until they unblock the bot.
      await this.ports.reportReachability({ channel: 'telegram', userId: action.userId, reachable: action.reachable, at: action.at, reason: 'blocked' });
      this.ports.log.info({ reachable: action.reachable }, action.reachable ? 'telegram user unblocked the bot' : 'telegram user blocked the bot');
      return;
    }
    if (action.callbackQueryId !== undefined) {
      // Answered first and always, so the debtor's button stops spinning whatever follows.
      await this.bot.telegram.answerCbQuery(action.callbackQueryId).catch((err: unknown) => {
        this.ports.log.warn({ err }, 'telegram answerCallbackQuery failed');
      });
    }
    if (action.kind === 'answer-only') return;
    const message = action.message;
    const result = await this.queue.run(message.from, () => this.ports.engine.handle(message));
    if (result.duplicate) this.ports.log.debug({ updateId: ctx.update.update_id }, 'telegram update already handled');
  }

  private async onUpdateFailed(err: unknown, ctx: Context): Promise<void> {
    this.ports.log.error({ err, updateId: ctx.update.update_id }, 'telegram update failed');
    this.failed.add(ctx.update);
    if (this.mode !== 'polling') return;
    // Polling has moved past this update: ask the debtor to write again rather than stay silent.
    const action = interpretUpdate(ctx.update, this.botId, this.ports.clock.now());
    if (action.kind !== 'handle') return;
    await this.outbound.send(action.message.from, [{ text: TRY_AGAIN_TEXT }]).catch((sendErr: unknown) => {
      this.ports.log.warn({ err: sendErr }, 'telegram apology not sent');
    });
  }
}

/** The adapter loadChannels() adds when TELEGRAM_BOT_TOKEN is set. */
export function createTelegramChannel(ports: ChannelPorts, options: TelegramChannelOptions = {}): TelegramChannel {
  return new TelegramChannel(ports, options);
}
