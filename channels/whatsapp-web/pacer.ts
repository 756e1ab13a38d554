/** The timer functions the pacer and the session use; tests pass a fake clock's. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

export const realTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  // Pacing measures durations, paired with real timers: monotonic time, not the domain clock.
  now: () => performance.now(),
};

export interface PacingOptions {
  /** Milliseconds of "typing…" per character of a message. */
  msPerChar: number;
  /** A message's typing time never exceeds this. */
  maxTypingMs: number;
  /** At most this many messages leave the linked number in any 60 seconds. */
  maxPerMinute: number;
  /**
   * A send that would have to wait longer than this for its turn is not started; the
   * caller defers it (the outbox retries it later) instead of holding it for minutes.
   */
  maxQueueMs: number;
}

/** When one message starts "typing" and when it is sent, in the timers' milliseconds. */
export interface Slot {
  typingAt: number;
  sendAt: number;
}

const MINUTE = 60_000;

/**
 * Paces a linked phone's messages like a person: one message at a time, each after
 * a typing pause proportional to its length, and never more than `maxPerMinute` a
 * minute. Slots are reserved up front, so the wait for a whole reply is known before
 * anything is sent.
 */
export class Pacer {
  /** When the last reserved message goes out. */
  private busyUntil = 0;
  /** Send times of recent and reserved messages, ascending. */
  private sends: number[] = [];

  constructor(
    private readonly options: PacingOptions,
    private readonly timers: Timers,
  ) {}

  typingMs(text: string): number {
    return Math.min(Array.from(text).length * this.options.msPerChar, this.options.maxTypingMs);
  }

  /**
   * Reserves a slot for each text, in order. Returns `{ waitMs }` without reserving
   * anything when the first one could not start within `maxQueueMs`.
   */
  reserve(texts: string[]): { slots: Slot[] } | { waitMs: number } {
    const now = this.timers.now();
    this.sends = this.sends.filter((t) => t > now - MINUTE);
    const sends = [...this.sends];
    let free = Math.max(now, this.busyUntil);
    const slots: Slot[] = [];
    for (const text of texts) {
      const typing = this.typingMs(text);
      let sendAt = free + typing;
      const inWindow = sends.filter((t) => t > sendAt - MINUTE);
      if (inWindow.length >= this.options.maxPerMinute) {
        // Wait until enough of the minute's earlier sends have aged out.
        const expiring = inWindow[inWindow.length - this.options.maxPerMinute] as number;
        sendAt = Math.max(sendAt, expiring + MINUTE);
      }
      slots.push({ typingAt: sendAt - typing, sendAt });
      sends.push(sendAt);
      free = sendAt;
    }
    const first = slots[0];
    if (first && first.typingAt - now > this.options.maxQueueMs) return { waitMs: first.typingAt - now };
    this.sends = sends;
    this.busyUntil = free;
    return { slots };
  }
}

/** A cancellable sleep on the given timers. */
export class Sleeper {
  private readonly pending = new Map<unknown, (err: Error) => void>();

  constructor(private readonly timers: Timers) {}

  until(at: number): Promise<void> {
    const ms = at - this.timers.now();
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const handle = this.timers.setTimeout(() => {
        this.pending.delete(handle);
        resolve();
      }, ms);
      this.pending.set(handle, reject);
    });
  }

  /** Rejects every pending sleep with `err`. */
  cancelAll(err: Error): void {
    for (const [handle, reject] of this.pending) {
      this.timers.clearTimeout(handle);
      reject(err);
    }
    this.pending.clear();
  }
}
