/**
 * Hourly: warn debtors whose conversation has been silent for the tier's warning time,
 * and close (auto-close, reason "timeout") those silent for the tier's timeout. A
 * warning is an unprompted message, so it goes through the compliance guard: outside
 * the window it is deferred, and the close waits until the debtor has had the warning
 * for as long as the tier promises (timeout − warning). A message after the close
 * opens a fresh conversation; the closed one keeps its history.
 */
import { queueUnprompted, type QueueResult } from '../../compliance/index.js';
import type { Reply } from '../../core/index.js';
import type { Knex } from '../../store/index.js';
import type { Job, JobContext } from '../scheduler.js';

export const TIERS = ['default', 'premium', 'vip'] as const;
export type Tier = (typeof TIERS)[number];

export interface TierLimit {
  /** Hours of silence after which the conversation closes. */
  timeout_hours: number;
  /** Hours of silence after which the debtor is warned. */
  warning_hours: number;
  /** Inbound messages after which a person takes the conversation (enforced by the engine). */
  max_messages: number;
}

export type TierLimits = Record<Tier, TierLimit>;

/** The seed system's values (the admin API's PUT /config changes them at run time). */
export const SEED_TIER_LIMITS: TierLimits = {
  default: { timeout_hours: 12, warning_hours: 10, max_messages: 30 },
  premium: { timeout_hours: 24, warning_hours: 20, max_messages: 50 },
  vip: { timeout_hours: 48, warning_hours: 40, max_messages: 100 },
};

export function tierOf(tier: string | null | undefined): Tier {
  return (TIERS as readonly string[]).includes(tier ?? '') ? (tier as Tier) : 'default';
}

/** The conversation as the job sees it. */
export interface IdleConversation {
  id: string;
  channel: string;
  user_id: string;
  debtor_id: number | null;
  flow: string;
  state: string;
  context: Record<string, unknown>;
  tier: string;
  last_activity_at: Date;
  warned_at: Date | null;
}

export interface TimeoutJobDeps {
  /** The limits in force (read on every run, so a change applies without a restart). */
  limits: () => TierLimits;
  /** The warning's replies, from the conversation's flow. */
  warningFor: (conversation: IdleConversation, info: { hoursLeft: number; limit: TierLimit; tier: Tier }) => Reply[];
  /** Takes the same per-conversation lock as the engine's turns, inside `trx`. */
  lockConversation: (trx: Knex.Transaction, channel: string, userId: string) => Promise<void>;
  /**
   * Whether a channel can take a message the debtor did not prompt. The REST chat API
   * ("api") answers inline only, so its conversations close without a warning.
   */
  canWarn?: (channel: string) => boolean;
  /** Called after commit with the outbox ids queued due now, to send them at once. */
  dispatch?: (outboxIds: number[]) => void;
  batchSize?: number;
}

const HOUR_MS = 60 * 60 * 1000;

const defaultCanWarn = (channel: string) => channel !== 'api';

export interface TimeoutSummary extends Record<string, unknown> {
  warned: number;
  deferred: number;
  /** Warnings not sent because the debtor revoked the channel (the close still follows). */
  revoked: number;
  closed: number;
}

/** When a warned conversation may close: the tier's timeout, and never sooner than the promised notice. */
export function closeDueAt(conv: Pick<IdleConversation, 'last_activity_at' | 'warned_at'>, limit: TierLimit): Date {
  const byTimeout = conv.last_activity_at.getTime() + limit.timeout_hours * HOUR_MS;
  const notice = (limit.timeout_hours - limit.warning_hours) * HOUR_MS;
  const byNotice = conv.warned_at ? conv.warned_at.getTime() + notice : byTimeout;
  return new Date(Math.max(byTimeout, byNotice));
}

/** One pass over the silent open conversations. */
export async function processTimeouts(knex: Knex, now: Date, deps: TimeoutJobDeps): Promise<TimeoutSummary> {
  const limits = deps.limits();
  const summary: TimeoutSummary = { warned: 0, deferred: 0, revoked: 0, closed: 0 };
  const batch = deps.batchSize ?? 200;

  for (const tier of TIERS) {
    const limit = limits[tier];
    const silentSince = new Date(now.getTime() - limit.warning_hours * HOUR_MS);
    let afterId = '';
    for (;;) {
      const q = knex('conversations')
        .where({ status: 'open' })
        .where('last_activity_at', '<=', silentSince)
        .where('id', '>', afterId || '00000000-0000-0000-0000-000000000000')
        .orderBy('id')
        .limit(batch)
        .select('id');
      if (tier === 'default') q.whereNotIn('tier', TIERS.filter((t) => t !== 'default'));
      else q.where({ tier });
      const ids = ((await q) as { id: string }[]).map((r) => r.id);
      if (!ids.length) break;
      afterId = ids[ids.length - 1]!;
      for (const id of ids) {
        const done = await processOne(knex, id, now, tier, limit, deps);
        if (done === 'closed') summary.closed++;
        else if (done === 'revoked') summary.revoked++;
        else if (done?.status === 'queued') summary.warned++;
        else if (done?.status === 'deferred') summary.deferred++;
      }
      if (ids.length < batch) break;
    }
  }
  return summary;
}

async function processOne(
  knex: Knex,
  id: string,
  now: Date,
  tier: Tier,
  limit: TierLimit,
  deps: TimeoutJobDeps,
): Promise<'closed' | 'revoked' | QueueResult | undefined> {
  let dueNow: number | undefined;
  const outcome = await knex.transaction(async (trx) => {
    const head = (await trx('conversations').where({ id }).first('channel', 'user_id')) as { channel: string; user_id: string } | undefined;
    if (!head) return undefined;
    await deps.lockConversation(trx, head.channel, head.user_id);
    // Re-read under the lock: the debtor may have written since the query above.
    const conv = (await trx('conversations')
      .where({ id, status: 'open' })
      .first('id', 'channel', 'user_id', 'debtor_id', 'flow', 'state', 'context', 'tier', 'last_activity_at', 'warned_at')) as
      | IdleConversation
      | undefined;
    if (!conv) return undefined;
    const idleMs = now.getTime() - conv.last_activity_at.getTime();
    if (idleMs < limit.warning_hours * HOUR_MS) return undefined;

    const warned = conv.warned_at !== null && conv.warned_at >= conv.last_activity_at;
    if (!warned && !(deps.canWarn ?? defaultCanWarn)(conv.channel)) {
      // Nothing can reach it: the notice period starts now, and the close follows.
      await trx('conversations').where({ id }).update({ warned_at: now });
      return undefined;
    }
    if (!warned) {
      const hoursLeft = limit.timeout_hours - limit.warning_hours;
      const replies = deps.warningFor(conv, { hoursLeft, limit, tier });
      const queued = await queueUnprompted(trx, {
        channel: conv.channel,
        recipient: conv.user_id,
        debtorId: conv.debtor_id,
        conversationId: conv.id,
        kind: 'warning',
        at: now,
        payload: replies,
      });
      // warned_at: when the debtor gets (or got) the notice; the close counts from it.
      const warnedAt = queued.status === 'blocked' ? now : queued.sendAt;
      await trx('conversations').where({ id }).update({ warned_at: warnedAt });
      if (queued.status === 'queued' && queued.sendAt <= now) dueNow = queued.outboxId;
      if (queued.status === 'blocked') return 'revoked';
      if (queued.status !== 'deferred') {
        await trx('messages').insert(replies.map((r) => ({
          conversation_id: conv.id,
          direction: 'out',
          author: 'system',
          channel: conv.channel,
          text: r.text,
          buttons: r.buttons?.length ? JSON.stringify(r.buttons) : null,
          previous_state: conv.state,
          next_state: conv.state,
          created_at: now,
        })));
      }
      return queued;
    }

    if (now < closeDueAt(conv, limit)) return undefined;
    await trx('conversations').where({ id }).update({ status: 'closed', close_reason: 'timeout', closed_at: now });
    await trx('conversation_events').insert({
      conversation_id: id,
      debtor_id: conv.debtor_id,
      kind: 'auto_close',
      details: JSON.stringify({ reason: 'timeout', tier, idle_hours: Math.round((idleMs / HOUR_MS) * 10) / 10, state: conv.state }),
      created_at: now,
    });
    return 'closed';
  });
  if (dueNow !== undefined) deps.dispatch?.([dueNow]);
  return outcome;
}

/** The job's name: the admin endpoint runs it by this name. */
export const TIMEOUTS_JOB = 'conversation-timeouts';

export function conversationTimeoutsJob(deps: TimeoutJobDeps): Job {
  return {
    name: TIMEOUTS_JOB,
    schedule: '0 * * * *',
    description: "hourly: warn silent conversations and auto-close those past their tier's timeout",
    run: (ctx: JobContext) => processTimeouts(ctx.knex, ctx.now, deps),
  };
}
