/**
 * Delivers the engine's replies through the Bot API: rendered natively, paced under
 * Telegram's limits, 429s waited out in place, and a half-delivered batch resumed
 * where it stopped when the outbox retries it (so the debtor never reads a message twice).
 */
import crypto from 'node:crypto';
import { TelegramError, type Telegram } from 'telegraf';
import type { OutboundChannel, Reply } from '../../src/engine/types.js';
import { ChannelApiError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { renderReply, type OutgoingMessage } from './render.js';
import type { SchedulerClock, SendScheduler } from './send-scheduler.js';

/**
 * How long one send() may wait out 429s in place before leaving the retry to the
 * outbox: well inside the outbox's lease on the row (60 s), so no other worker sends
 * the same replies meanwhile.
 */
const IN_PLACE_WAIT_BUDGET_MS = 30_000;
/** How long a half-delivered batch is remembered for the outbox's retry. */
const PROGRESS_TTL_MS = 60 * 60 * 1000;

export interface TelegramOutboundDeps {
  telegram: Pick<Telegram, 'sendMessage'>;
  scheduler: SendScheduler;
  clock: SchedulerClock;
  log: Logger;
}

export class TelegramOutbound implements OutboundChannel {
  readonly name = 'telegram' as const;
  /** Batches that failed part-way: how many of their messages already went out. */
  private readonly progress = new Map<string, { sent: number; at: number }>();

  constructor(private readonly deps: TelegramOutboundDeps) {}

  async send(to: string, replies: Reply[]): Promise<{ externalId?: string }> {
    if (!/^-?\d+$/.test(to)) {
      throw new ChannelApiError(`not a Telegram chat id: ${to}`, 'telegram', { retryable: false, code: 'bad_recipient' });
    }
    const messages = replies.flatMap(renderReply).filter((m) => m.text.trim() !== '');
    const key = this.batchKey(to, replies);
    this.forgetOld();
    let sent = this.progress.get(key)?.sent ?? 0;
    let externalId: string | undefined;
    const budget = { waitMs: IN_PLACE_WAIT_BUDGET_MS };
    for (const message of messages.slice(sent)) {
      try {
        externalId = await this.sendOne(to, message, budget);
      } catch (err) {
        if (sent > 0) this.progress.set(key, { sent, at: this.deps.clock.now() });
        throw err;
      }
      sent += 1;
    }
    this.progress.delete(key);
    return externalId !== undefined ? { externalId } : {};
  }

  private async sendOne(chatId: string, message: OutgoingMessage, budget: { waitMs: number }): Promise<string> {
    for (;;) {
      await this.deps.scheduler.acquire(chatId);
      try {
        const sent = await this.deps.telegram.sendMessage(chatId, message.text, message.reply_markup ? { reply_markup: message.reply_markup } : {});
        return String(sent.message_id);
      } catch (err) {
        const failure = toChannelError(err);
        const waitMs = failure.options.retryAfterMs;
        if (failure.options.code === 429 && waitMs !== undefined && waitMs <= budget.waitMs) {
          budget.waitMs -= waitMs;
          this.deps.log.warn({ retryAfterMs: waitMs }, 'telegram asked to slow down; waiting before retrying');
          this.deps.scheduler.pause(chatId, waitMs);
          continue;
        }
        throw failure;
      }
    }
  }

  /** Identifies a batch by recipient and content; the outbox retries with the same replies. */
  private batchKey(to: string, replies: Reply[]): string {
    return crypto.createHash('sha256').update(to).update('\0').update(JSON.stringify(replies)).digest('base64url');
  }

  private forgetOld(): void {
    const cutoff = this.deps.clock.now() - PROGRESS_TTL_MS;
    for (const [key, entry] of this.progress) if (entry.at < cutoff) this.progress.delete(key);
  }
}

/**
 * A Bot API failure as the outbox understands it: 429 and 5xx and network failures
 * are retryable (429 with Telegram's retry_after); 400/401/403/404 are not (bad
 * request, wrong token, the debtor blocked the bot, no such chat).
 */
export function toChannelError(err: unknown): ChannelApiError {
  if (err instanceof ChannelApiError) return err;
  if (err instanceof TelegramError) {
    const code = err.code;
    const retryAfter = err.parameters?.retry_after;
    const method = (err.on as { method?: string }).method ?? 'call';
    return new ChannelApiError(`telegram ${method} failed: ${err.description}`, 'telegram', {
      retryable: code === 429 || code >= 500,
      ...(retryAfter !== undefined ? { retryAfterMs: retryAfter * 1000 } : {}),
      code,
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ChannelApiError(`telegram call failed: ${message}`, 'telegram', { retryable: true, code: 'network', cause: err });
}
