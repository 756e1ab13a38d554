/**
 * At most one log line per `everyMs` for a failure that repeats (a database that is down
 * fails every query, every pool acquire, every request): the first is written at once,
 * the next ones are counted and the count rides on the next line written.
 */
export function throttled<A extends unknown[]>(write: (suppressed: number, ...args: A) => void, everyMs = 10_000): (...args: A) => void {
  let last: number | undefined;
  let suppressed = 0;
  return (...args) => {
    const now = performance.now();
    if (last !== undefined && now - last < everyMs) {
      suppressed += 1;
      return;
    }
    write(suppressed, ...args);
    last = now;
    suppressed = 0;
  };
}
