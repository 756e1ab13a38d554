/**
 * The outbox: every reply is a row written in its turn's transaction, sent right after
 * commit through the channel's OutboundChannel, and retried with backoff when the send
 * fails. Rows are claimed with FOR UPDATE SKIP LOCKED, so any number of processes can
 * run the worker; a process only claims rows for channels it has registered (a
 * WhatsApp Web session lives in one process). Replies to one recipient go out in order.
 *
 * Delivery is at least once: a process that dies mid-send leaves the row "sending"
 * with a lease; when the lease ends another worker sends it again. A send that fails
 * part-way is not repeated from the start: the channel reports how many replies went
 * out (ChannelApiError's `delivered`), the row keeps that in sent_count with the
 * messages' ids in outbox_messages, and the retry, by any process, sends only the rest.
 */
import type { Knex } from 'knex';
import { ChannelApiError, type Clock, type DeliveryStatusUpdate } from '../core/index.js';
import { UNPROMPTED_KINDS } from '../compliance/index.js';
import type { Logger } from '../log.js';
import { outboxDepth, outboxFailures, messagesTotal } from '../metrics.js';
import type { Db } from './conversations.js';
import type { ChannelName, OutboundChannel, Reply, SendResult } from '../core/index.js';

export interface OutboxRow {
  id: number;
  conversation_id: string | null;
  channel: ChannelName;
  recipient: string;
  kind: string;
  payload: Reply[];
  status: string;
  attempts: number;
  /** How many of `payload`'s replies earlier attempts delivered; a send starts after them. */
  sent_count: number;
  next_attempt_at: Date;
  last_error: string | null;
  channel_ref: unknown;
}

export interface BackoffOptions {
  /** The first retry waits this long; each next one twice as long. */
  baseMs: number;
  maxMs: number;
}

export interface OutboxOptions {
  knex: Knex;
  log: Logger;
  /** The service's clock: due times, leases and every timestamp the outbox writes. */
  clock: Clock;
  backoff?: BackoffOptions;
  /** How long a claimed row is reserved for its sender before another worker may retry it. */
  leaseMs?: number;
  batchSize?: number;
  /**
   * The last look before a row is sent (the compliance guard, for campaigns,
   * reminders and timeout warnings): send it, hold it until `at` (status deferred), or
   * cancel it (status failed, `last_error` says why). Must answer 'send' for rows it
   * does not govern.
   */
  beforeSend?: (row: OutboxRow, now: Date) => Promise<SendDecision>;
}

export type SendDecision = { action: 'send' } | { action: 'defer'; at: Date; reason: string } | { action: 'cancel'; reason: string };

/**
 * Messages the agency starts (the compliance guard's kinds): they may wait in 'deferred'
 * for the next allowed contact time, so they never hold back a recipient's later replies.
 */
export { UNPROMPTED_KINDS };

export interface Outbox {
  /** Sends this channel's rows from this process. */
  registerChannel(channel: OutboundChannel): void;
  channels(): ChannelName[];
  /** Sends the given rows now (their transaction has committed). Never throws. */
  dispatch(ids: number[]): Promise<void>;
  /** One pass of the retry worker: claims due rows and sends them; resolves with how many it tried. */
  runOnce(): Promise<number>;
  /** Runs the worker every `intervalMs` until stop(). */
  start(intervalMs?: number): void;
  stop(): Promise<void>;
  /** Resolves when every send started so far has finished. */
  idle(): Promise<void>;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 2_000, maxMs: 10 * 60_000 };

/** The wait before retry number `attempts` (1 = the first retry). */
export function backoffDelay(attempts: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  return Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempts - 1));
}

/**
 * Queues replies for a recipient outside a turn (an agent's reply, a campaign message),
 * in the caller's transaction. `now` is the caller's clock reading: the row is due then
 * (or at `notBefore`), so the outbox, reading the same clock, sends it on its next pass.
 * Returns the row id; pass it to Outbox.dispatch after commit.
 */
export async function enqueueReplies(
  db: Db,
  row: { conversationId?: string | null; channel: ChannelName; recipient: string; replies: Reply[]; kind?: string; notBefore?: Date },
  now: Date,
): Promise<number> {
  const [inserted] = (await db('outbox')
    .insert({
      conversation_id: row.conversationId ?? null,
      channel: row.channel,
      recipient: row.recipient,
      kind: row.kind ?? 'reply',
      payload: JSON.stringify(row.replies),
      status: 'pending',
      next_attempt_at: row.notBefore ?? now,
      created_at: now,
      updated_at: now,
    })
    .returning('id')) as { id: number }[];
  return (inserted as { id: number }).id;
}

/** The message ids a channel returned: every message's, or at least the last one's. */
function messageIds(result: SendResult | void | undefined): string[] {
  if (!result || typeof result !== 'object') return [];
  if (result.externalIds?.length) return result.externalIds;
  return result.externalId ? [result.externalId] : [];
}

const UNSENT = `('pending', 'sending', 'deferred')`;
const UNPROMPTED = `(${UNPROMPTED_KINDS.map((k) => `'${k}'`).join(', ')})`;

export function createOutbox(options: OutboxOptions): Outbox {
  const { knex, log } = options;
  const clock = options.clock;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const leaseMs = options.leaseMs ?? 60_000;
  const batchSize = options.batchSize ?? 50;
  const registered = new Map<ChannelName, OutboundChannel>();
  const inFlight = new Set<Promise<unknown>>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;

  function track<T>(p: Promise<T>): Promise<T> {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  /** Claims due rows (optionally only `ids`, or only one recipient's), oldest first, skipping rows others hold. */
  async function claim(filter: { ids?: number[]; recipient?: { channel: string; recipient: string } }): Promise<OutboxRow[]> {
    const channels = [...registered.keys()];
    if (!channels.length) return [];
    const now = clock.now();
    const where: string[] = [`c.status in ${UNSENT}`, 'c.next_attempt_at <= ?', 'c.channel = any(?)'];
    const bindings: Knex.RawBinding[] = [now, channels];
    if (filter.ids) {
      where.push('c.id = any(?)');
      bindings.push(filter.ids);
    }
    if (filter.recipient) {
      where.push('c.channel = ? and c.recipient = ?');
      bindings.push(filter.recipient.channel, filter.recipient.recipient);
    }
    const { rows } = (await knex.raw(
      `update outbox o set status = 'sending', attempts = o.attempts + 1, next_attempt_at = ?, updated_at = ?
       where o.id in (
         select c.id from outbox c
         where ${where.join(' and ')}
           and not exists (
             select 1 from outbox e
             where e.channel = c.channel and e.recipient = c.recipient and e.id < c.id and e.status in ${UNSENT}
               and e.kind not in ${UNPROMPTED})
         order by c.id
         limit ?
         for update skip locked)
       returning o.id, o.conversation_id, o.channel, o.recipient, o.kind, o.payload, o.status, o.attempts, o.sent_count, o.next_attempt_at,
         o.last_error, (select cv.channel_ref from conversations cv where cv.id = o.conversation_id) as channel_ref`,
      [new Date(now.getTime() + leaseMs), now, ...bindings, batchSize],
    )) as { rows: OutboxRow[] };
    return rows.sort((a, b) => a.id - b.id);
  }

  async function sendRow(row: OutboxRow): Promise<boolean> {
    const channel = registered.get(row.channel);
    if (!channel) return false;
    try {
      if (options.beforeSend) {
        const decision = await options.beforeSend(row, clock.now());
        if (decision.action !== 'send') {
          const now = clock.now();
          await knex('outbox')
            .where({ id: row.id })
            .update(
              decision.action === 'defer'
                ? { status: 'deferred', next_attempt_at: decision.at, attempts: Math.max(0, row.attempts - 1), updated_at: now, last_error: `deferred: ${decision.reason}` }
                : { status: 'failed', updated_at: now, last_error: `cancelled: ${decision.reason}` },
            );
          log.info({ outboxId: row.id, kind: row.kind, ...decision }, decision.action === 'defer' ? 'outbound message held until contact is allowed' : 'outbound message cancelled');
          // Held or cancelled, it no longer stands before the recipient's next messages.
          return true;
        }
      }
      // A retry starts after the replies an earlier attempt delivered.
      const replies = row.payload.slice(row.sent_count);
      const result = replies.length ? await channel.send(row.recipient, replies, { channelRef: row.channel_ref ?? undefined }) : undefined;
      const ids = messageIds(result);
      const now = clock.now();
      await recordProgress(row, replies.length, ids, {
        status: 'sent',
        sent_at: now,
        updated_at: now,
        last_error: null,
        external_id: (result && typeof result === 'object' ? result.externalId : undefined) ?? ids.at(-1) ?? null,
      });
      messagesTotal.inc({ channel: row.channel, direction: 'out' }, replies.length);
      return true;
    } catch (err) {
      outboxFailures.inc({ channel: row.channel });
      const permanent = err instanceof ChannelApiError && !err.options.retryable;
      const retryAfter = err instanceof ChannelApiError ? (err.options.retryAfterMs ?? 0) : 0;
      const delay = Math.max(retryAfter, backoffDelay(row.attempts, backoff));
      const now = clock.now();
      const message = err instanceof Error ? err.message : String(err);
      // What went out before the failure is kept even when the failure is permanent.
      const unsent = Math.max(0, row.payload.length - row.sent_count);
      const delivered = err instanceof ChannelApiError ? Math.min(unsent, Math.max(0, Math.floor(err.options.delivered ?? 0))) : 0;
      const ids = err instanceof ChannelApiError ? (err.options.externalIds ?? []) : [];
      await recordProgress(row, delivered, ids, {
        status: permanent ? 'failed' : 'pending',
        next_attempt_at: new Date(now.getTime() + delay),
        updated_at: now,
        last_error: message.slice(0, 1000),
        ...(ids.length ? { external_id: ids.at(-1) } : {}),
      }).catch((e: unknown) => log.error({ err: e, outboxId: row.id }, 'could not record a failed send; the lease will expire and it will be retried'));
      if (delivered) messagesTotal.inc({ channel: row.channel, direction: 'out' }, delivered);
      log.warn({ err, outboxId: row.id, channel: row.channel, attempts: row.attempts, delivered, permanent, retryInMs: permanent ? undefined : delay }, 'reply send failed');
      return false;
    }
  }

  /**
   * Stores how far a send of `row` got, under the row's lock: `delivered` more replies
   * (counted from where this attempt started), their messages' ids in order after the
   * ones earlier attempts stored, and the row's new state. A row that finished sending
   * after a status callback reported one of its earlier messages failed is failed.
   */
  async function recordProgress(row: OutboxRow, delivered: number, ids: string[], update: Record<string, unknown>): Promise<void> {
    await knex.transaction(async (trx) => {
      await trx.raw('select id from outbox where id = ? for update', [row.id]);
      if (ids.length) {
        const { rows } = (await trx.raw('select coalesce(max(position) + 1, 0)::int as next from outbox_messages where outbox_id = ?', [row.id])) as {
          rows: { next: number }[];
        };
        const first = rows[0]?.next ?? 0;
        // Every update of a send carries the clock's reading in updated_at: the messages' time too.
        const at = update.updated_at as Date;
        await trx('outbox_messages').insert(ids.map((externalId, i) => ({ outbox_id: row.id, position: first + i, external_id: externalId, created_at: at })));
      }
      if (update.status === 'sent') {
        const failed = (await trx('outbox_messages').where({ outbox_id: row.id, status: 'failed' }).orderBy('position').first('error')) as
          | { error: string | null }
          | undefined;
        if (failed) Object.assign(update, { status: 'failed', last_error: failed.error ?? 'the channel reported a message of this row as failed' });
      }
      await trx('outbox')
        .where({ id: row.id })
        .update({ ...update, sent_count: row.sent_count + delivered });
    });
  }

  /** Sends claimed rows in order; after a success, the recipient's next waiting reply goes too. */
  async function sendAll(rows: OutboxRow[]): Promise<void> {
    const byRecipient = new Map<string, OutboxRow[]>();
    for (const r of rows) {
      const key = `${r.channel}\u0000${r.recipient}`;
      byRecipient.set(key, [...(byRecipient.get(key) ?? []), r]);
    }
    await Promise.all(
      [...byRecipient.values()].map(async (list) => {
        let ok = true;
        for (const r of list) ok = (await sendRow(r)) && ok;
        const first = list[0] as OutboxRow;
        if (ok) {
          const more = await claim({ recipient: { channel: first.channel, recipient: first.recipient } });
          if (more.length) await sendAll(more);
        }
      }),
    );
  }

  const outbox: Outbox = {
    registerChannel(channel) {
      registered.set(channel.name, channel);
    },
    channels: () => [...registered.keys()],
    dispatch(ids) {
      if (!ids.length || !registered.size) return Promise.resolve();
      return track(
        claim({ ids })
          .then(sendAll)
          .catch((err: unknown) => log.error({ err, ids }, 'outbox dispatch failed; the worker will retry')),
      );
    },
    runOnce() {
      running ??= track(
        (async () => {
          const rows = await claim({});
          await sendAll(rows);
          const depth = (await knex('outbox').whereRaw(`status in ${UNSENT}`).select('status').count('* as n').groupBy('status')) as {
            status: string;
            n: string | number;
          }[];
          for (const s of ['pending', 'sending', 'deferred']) outboxDepth.set({ status: s }, Number(depth.find((d) => d.status === s)?.n ?? 0));
          return rows.length;
        })().finally(() => {
          running = undefined;
        }),
      );
      return running;
    },
    start(intervalMs = 1000) {
      if (timer) return;
      timer = setInterval(() => {
        outbox.runOnce().catch((err: unknown) => log.error({ err }, 'outbox worker pass failed'));
      }, intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await outbox.idle();
    },
    async idle() {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
  };
  return outbox;
}

/** Ranks message statuses: a status only moves to a higher rank, so "failed" never undoes a delivery. */
const rankSql = (column: string) => `(case ${column} when 'sent' then 1 when 'failed' then 2 when 'delivered' then 3 when 'read' then 4 else 0 end)`;
const RANK: Record<DeliveryStatusUpdate['status'], number> = { sent: 1, failed: 2, delivered: 3, read: 4 };
const PAYLOAD_LENGTH = `(case when jsonb_typeof(o.payload) = 'array' then jsonb_array_length(o.payload) else 1 end)`;

/**
 * Records a message's delivery status and moves its outbox row on. Providers do not
 * promise the order of their callbacks, so each message's status only moves forward
 * (a late "delivered" never overwrites "read"). The row, found by any of its messages,
 * is failed when any of its messages failed; otherwise, once all its replies went out,
 * it takes its last message's status, never moving backwards: the earlier messages'
 * "delivered" says nothing about the last one. `update.at` is the provider's time for the
 * status (kept on the message); `now`, the service's clock, stamps the row's update.
 * Returns how many rows changed status
 * (0 for an unknown id, a status already passed, or a row still being sent).
 */
export async function applyDeliveryStatus(knex: Knex, update: DeliveryStatusUpdate, now: Date): Promise<number> {
  return knex.transaction(async (trx) => {
    // The row's lock first, as the outbox takes it when it records progress. (A union, not
    // an "or": each side uses its index, where an "or" scans the whole outbox.)
    const { rows: owners } = (await trx.raw(
      `select o.id, not exists (select 1 from outbox_messages m where m.outbox_id = o.id) as untracked
         from outbox o
        where o.channel = ?
          and o.id in (select m.outbox_id from outbox_messages m where m.external_id = ? union select x.id from outbox x where x.external_id = ?)
        order by o.id
        for update`,
      [update.channel, update.externalId, update.externalId],
    )) as { rows: { id: number; untracked: boolean }[] };
    if (!owners.length) return 0;
    const ids = owners.map((o) => o.id);
    const untracked = owners.filter((o) => o.untracked).map((o) => o.id);
    if (untracked.length) {
      // A row whose external_id was written without the outbox's progress (older code, imports): its one known message.
      await trx.raw(
        `insert into outbox_messages (outbox_id, position, external_id, status, status_at, created_at)
         select o.id, 0, o.external_id, case when o.status in ('delivered', 'read', 'failed') then o.status else 'sent' end, o.updated_at, o.updated_at
           from outbox o where o.id = any(?)`,
        [untracked],
      );
      await trx.raw(
        `update outbox o set sent_count = greatest(o.sent_count, ${PAYLOAD_LENGTH})
          where o.id = any(?) and o.status in ('sent', 'delivered', 'read', 'failed')`,
        [untracked],
      );
    }
    await trx.raw(
      `update outbox_messages set status = ?, error = coalesce(?, error), status_at = ?
        where outbox_id = any(?) and external_id = ? and ${rankSql('status')} < ?`,
      [update.status, update.error ?? null, update.at, ids, update.externalId, RANK[update.status]],
    );
    const moved = (await trx.raw(
      `update outbox o
          set status = agg.next,
              last_error = case when agg.next = 'failed' then coalesce(agg.error, o.last_error) else o.last_error end,
              sent_at = case when agg.next = 'failed' then o.sent_at else coalesce(o.sent_at, ?) end,
              updated_at = ?
         from (select outbox_id,
                      case when bool_or(status = 'failed') then 'failed' else (array_agg(status order by position desc))[1] end as next,
                      (array_agg(error order by position) filter (where status = 'failed'))[1] as error
                 from outbox_messages where outbox_id = any(?) group by outbox_id) agg
        where o.id = agg.outbox_id
          and o.status in ('sent', 'delivered', 'read', 'failed')
          and o.status <> agg.next
          and (agg.next = 'failed' or (o.sent_count >= ${PAYLOAD_LENGTH} and ${rankSql('agg.next')} > ${rankSql('o.status')}))`,
      [update.at, now, ids],
    )) as { rowCount: number | null };
    return moved.rowCount ?? 0;
  });
}
