/**
 * Delivers the engine's replies through the Bot API: rendered natively, paced under
 * Telegram's limits, 429s waited out in place, and a failure part-way reported with
 * how many replies went out, so the outbox's retry sends only the rest (the debtor
 * never reads a message twice, whichever process retries).
 */
import { TelegramError, type Telegram } from 'telegraf';
import type { OutboundChannel, Reply, SendResult } from '../../src/core/index.js';
import { ChannelApiError, withSendProgress } from '../../src/core/index.js';
import type { Logger } from '../../src/core/index.js';
import { renderReply, type OutgoingMessage } from './render.js';
import type { SendScheduler } from './send-scheduler.js';

/**
 * How long one send() may wait out 429s in place before leaving the retry to the
 * outbox: well inside the outbox's lease on the row (60 s), so no other worker sends
 * the same replies meanwhile.
 */
const IN_PLACE_WAIT_BUDGET_MS = 30_000;

export interface TelegramOutboundDeps {
  telegram: Pick<Telegram, 'sendMessage' | 'sendDocument'>;
  scheduler: SendScheduler;
  log: Logger;
}

export class TelegramOutbound implements OutboundChannel {
  readonly name = 'telegram' as const;

  constructor(private readonly deps: TelegramOutboundDeps) {}

  async send(to: string, replies: Reply[]): Promise<SendResult> {
    if (!/^-?\d+$/.test(to)) {
      throw new ChannelApiError(`not a Telegram chat id: ${to}`, 'telegram', { retryable: false, code: 'bad_recipient' });
    }
    const externalIds: string[] = [];
    let delivered = 0;
    const budget = { waitMs: IN_PLACE_WAIT_BUDGET_MS };
    try {
      for (const reply of replies) {
        // A reply longer than one message counts as delivered once all its pieces went out.
        for (const message of renderReply(reply).filter((m) => m.text.trim() !== '')) externalIds.push(await this.sendOne(to, message, budget));
        if (reply.document) externalIds.push(await this.sendOne(to, { document: reply.document }, budget));
        delivered += 1;
      }
    } catch (err) {
      throw withSendProgress(err, 'telegram', delivered, externalIds);
    }
    const externalId = externalIds.at(-1);
    return externalId !== undefined ? { externalId, externalIds } : {};
  }

  private async sendOne(chatId: string, message: OutgoingMessage | { document: { url: string; filename: string } }, budget: { waitMs: number }): Promise<string> {
    for (;;) {
      await this.deps.scheduler.acquire(chatId);
      try {
        const sent =
          'document' in message
            ? // Telegram fetches the file from its URL itself.
              await this.deps.telegram.sendDocument(chatId, { url: message.document.url, filename: message.document.filename })
            : await this.deps.telegram.sendMessage(chatId, message.text, message.reply_markup ? { reply_markup: message.reply_markup } : {});
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
