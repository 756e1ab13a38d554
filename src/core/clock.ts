/**
 * The one source of domain time. service.ts creates a single Clock and hands it to every
 * component; everything the service writes as a time (a message's timestamp, an outbox
 * row's next attempt, a due date, a retention cut-off) comes from it, never from the
 * database's now() or a stray `new Date()`. Tests pass a ManualClock and move it, so no
 * test waits for real time and none depends on today's date.
 *
 * Durations measured for metrics (performance.now()) are not domain time and do not
 * go through the clock.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that stands still until told to move. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start: Date | string) {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  set(at: Date | string): void {
    this.current = new Date(at).getTime();
  }

  advance(ms: number): Date {
    this.current += ms;
    return this.now();
  }
}
