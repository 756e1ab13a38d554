/**
 * Spaces campaign sends on a channel: at most `perMinute` campaign messages a minute,
 * at least 60/perMinute seconds apart. The slots live in the outbox itself
 * (next_attempt_at of the channel's campaign rows), so a resumed or second campaign
 * respects the ones already queued; each minute is read once per run and then cached.
 */
import type { Knex } from '../store/index.js';

const MINUTE_MS = 60_000;

export type Pacer = (candidate: Date) => Promise<Date>;

interface MinuteUse {
  count: number;
  /** The latest slot taken in the minute, epoch ms. */
  last: number;
}

export function createPacer(knex: Knex | Knex.Transaction, channel: string, perMinute: number): Pacer {
  const minutes = new Map<number, MinuteUse>();
  const spacing = MINUTE_MS / perMinute;

  async function use(minute: number): Promise<MinuteUse> {
    const cached = minutes.get(minute);
    if (cached) return cached;
    const row = (await knex('outbox')
      .where({ kind: 'campaign', channel })
      .whereNot('status', 'failed')
      .where('next_attempt_at', '>=', new Date(minute))
      .where('next_attempt_at', '<', new Date(minute + MINUTE_MS))
      .first(knex.raw('count(*)::int as count'), knex.raw('max(next_attempt_at) as last'))) as { count: number; last: Date | null } | undefined;
    const found: MinuteUse = { count: row?.count ?? 0, last: row?.last ? row.last.getTime() : -Infinity };
    minutes.set(minute, found);
    return found;
  }

  return async (candidate) => {
    let minute = Math.floor(candidate.getTime() / MINUTE_MS) * MINUTE_MS;
    let earliest = candidate.getTime();
    for (;;) {
      const u = await use(minute);
      const slot = Math.max(earliest, Math.ceil(u.last + spacing));
      if (u.count < perMinute && slot < minute + MINUTE_MS) {
        u.count++;
        u.last = slot;
        return new Date(slot);
      }
      minute += MINUTE_MS;
      earliest = Math.max(earliest, minute);
    }
  };
}
