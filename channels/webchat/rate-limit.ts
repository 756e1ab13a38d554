/**
 * A token bucket per key: `perMinute` messages in a burst, refilled evenly over a
 * minute. In memory, per process: with N processes a visitor gets at most N times the
 * rate, which still stops a runaway script.
 */
export interface RateLimiter {
  /** Takes one token for `key`: ok, or how long until the next one. */
  take(key: string): { ok: true } | { ok: false; retryAfterMs: number };
}

export function createRateLimiter(perMinute: number, now: () => number = Date.now): RateLimiter {
  const msPerToken = 60_000 / perMinute;
  const buckets = new Map<string, { tokens: number; at: number }>();

  const sweep = (t: number) => {
    // Full buckets carry no information; forget them so the map stays small.
    for (const [key, b] of buckets) if (b.tokens + (t - b.at) / msPerToken >= perMinute) buckets.delete(key);
  };

  return {
    take(key) {
      const t = now();
      if (buckets.size > 10_000) sweep(t);
      const bucket = buckets.get(key) ?? { tokens: perMinute, at: t };
      bucket.tokens = Math.min(perMinute, bucket.tokens + (t - bucket.at) / msPerToken);
      bucket.at = t;
      buckets.set(key, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { ok: true };
      }
      return { ok: false, retryAfterMs: Math.ceil((1 - bucket.tokens) * msPerToken) };
    },
  };
}
