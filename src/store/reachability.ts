import type { Knex } from 'knex';

/**
 * Channel users the platform says cannot be written to now (a Telegram user who blocked
 * the bot), until it says they can again. Updates arrive in any order after a retry, so
 * an older change never overrides a newer one.
 */
export async function markReachability(
  knex: Knex,
  update: { channel: string; userId: string; reachable: boolean; at: Date; reason: string },
): Promise<void> {
  const key = { channel: update.channel, user_id: update.userId };
  if (update.reachable) {
    await knex('channel_reachability').where(key).andWhere('since', '<=', update.at).delete();
    return;
  }
  await knex.raw(
    `insert into channel_reachability (channel, user_id, reason, since) values (?, ?, ?, ?)
     on conflict (channel, user_id) do update set reason = excluded.reason, since = excluded.since
     where channel_reachability.since <= excluded.since`,
    [update.channel, update.userId, update.reason, update.at],
  );
}

/** Why the channel user cannot be written to now, if they cannot. */
export async function unreachableReason(knex: Knex, channel: string, userId: string): Promise<string | undefined> {
  const row = (await knex('channel_reachability').where({ channel, user_id: userId }).first('reason')) as { reason: string } | undefined;
  return row?.reason;
}
