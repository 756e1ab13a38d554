/**
 * Keeps sending under Telegram's limits: about 30 messages a second overall and one a
 * second in a chat (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this).
 * Each send reserves a slot synchronously, so concurrent sends queue in call order.
 */

/** Time as the scheduler sees it; tests pass a fake clock. */
export interface SchedulerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: SchedulerClock = {
  // Pacing measures durations, paired with real timers: monotonic time, not the domain clock.
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface SendLimits {
  /** Messages a second across all chats. */
  perSecond: number;
  /** Milliseconds between two messages to one chat. */
  perChatIntervalMs: number;
}

export const TELEGRAM_LIMITS: SendLimits = { perSecond: 30, perChatIntervalMs: 1000 };

export class SendScheduler {
  private readonly slotMs: number;
  /** Global slots taken, by index (slot k starts at k * slotMs). One message a slot. */
  private readonly takenSlots = new Set<number>();
  /** When each chat may receive its next message. */
  private readonly chatNextAt = new Map<string, number>();

  constructor(
    private readonly limits: SendLimits = TELEGRAM_LIMITS,
    private readonly clock: SchedulerClock = realClock,
  ) {
    this.slotMs = 1000 / limits.perSecond;
  }

  /**
   * Waits until a message to `chatId` may go out, and counts it as sent at that time.
   */
  async acquire(chatId: string): Promise<void> {
    const at = this.reserve(chatId);
    const wait = at - this.clock.now();
    if (wait > 0) await this.clock.sleep(wait);
  }

  /** Telegram answered 429 for this chat: nothing more goes to it for `ms`. */
  pause(chatId: string, ms: number): void {
    const until = this.clock.now() + ms;
    this.chatNextAt.set(chatId, Math.max(this.chatNextAt.get(chatId) ?? 0, until));
  }

  private reserve(chatId: string): number {
    const now = this.clock.now();
    this.forgetPast(now);
    const earliest = Math.max(now, this.chatNextAt.get(chatId) ?? 0);
    let slot = Math.ceil(earliest / this.slotMs);
    while (this.takenSlots.has(slot)) slot += 1;
    this.takenSlots.add(slot);
    const at = Math.max(earliest, slot * this.slotMs);
    this.chatNextAt.set(chatId, at + this.limits.perChatIntervalMs);
    return at;
  }

  /** Drops slots and chat entries in the past, so memory follows the traffic. */
  private forgetPast(now: number): void {
    const currentSlot = Math.floor(now / this.slotMs);
    for (const slot of this.takenSlots) if (slot < currentSlot) this.takenSlots.delete(slot);
    if (this.chatNextAt.size > 1000) {
      for (const [chat, nextAt] of this.chatNextAt) if (nextAt <= now) this.chatNextAt.delete(chat);
    }
  }
}
