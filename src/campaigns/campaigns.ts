/**
 * Outbound campaigns: the agency writes first to a portfolio's debtors on one channel.
 *
 * `startCampaign` fixes the campaign's targets (one row per debtor), then queues each
 * target in its own transaction: the guard decides when (now, paced, or deferred to
 * the next allowed time), the outbox row and the target's new status commit together.
 * A crash leaves the unfinished targets pending; starting again resumes the same
 * campaign, and a target already queued is never queued again.
 */
import type { Config } from '../core/index.js';
import { decideContact, hasOpenDispute, isChannelRevoked, queueUnprompted } from '../compliance/index.js';
import type { Knex } from '../store/index.js';
import { createPacer } from './pacing.js';

export const CAMPAIGN_CHANNELS = ['whatsapp-cloud', 'whatsapp-web', 'telegram'] as const;
export type CampaignChannel = (typeof CAMPAIGN_CHANNELS)[number];

export function isCampaignChannel(name: string): name is CampaignChannel {
  return (CAMPAIGN_CHANNELS as readonly string[]).includes(name);
}

/** Why a debtor is not contacted (shown by --dry-run and campaign status). */
export type SkipReason =
  | 'sin_telefono'
  | 'telefono_fijo'
  | 'sin_chat_telegram'
  | 'canal_revocado'
  | 'disputa_abierta'
  | 'acuerdo_vigente'
  | 'solicitud_datos_abierta'
  | 'en_conversacion'
  | 'destinatario_repetido'
  | 'ya_contactado';

export const SKIP_REASONS: Record<SkipReason, string> = {
  sin_telefono: 'no phone number in the portfolio file',
  telefono_fijo: 'the phone is a landline, with no WhatsApp',
  sin_chat_telegram: 'has never written to the Telegram bot, and a bot cannot write first',
  canal_revocado: 'revoked this channel (no_contactar)',
  disputa_abierta: 'disputes the debt; waiting for a person to answer',
  acuerdo_vigente: 'already has an active payment agreement',
  solicitud_datos_abierta: 'has an open personal-data request (Ley 1581) waiting for a person',
  en_conversacion: 'is in a live conversation right now',
  destinatario_repetido: 'shares the address with another debtor of this campaign',
  ya_contactado: 'an earlier campaign on this portfolio and channel already reached them (use --repeat to write again)',
};

/** A debtor as a campaign sees them. */
export interface CampaignDebtor {
  id: number;
  cedula: string;
  nombre_del_cliente: string;
  phone: string | null;
  tier: string;
}

/** What a campaign sends a debtor: the outbox payload (replies, or a template). */
export type CampaignContent = (debtor: CampaignDebtor) => unknown;

export interface CampaignSettings {
  /** Campaign messages a minute, per channel. */
  ratePerMinute: Record<CampaignChannel, number>;
}

interface TargetRow {
  id: number;
  debtor_id: number;
  recipient: string | null;
  status: string;
}

/** The address of a debtor on a channel, or why there is none. */
async function addressFor(
  db: Knex | Knex.Transaction,
  channel: CampaignChannel,
  debtor: CampaignDebtor,
): Promise<{ recipient: string } | { skip: SkipReason }> {
  // A Telegram bot can only write to people who wrote to it first, and a debtor without a
  // phone has no other address: either way, the chat of their latest conversation.
  if (channel === 'telegram' || !debtor.phone) {
    const known = (await db('conversations')
      .where({ channel, debtor_id: debtor.id })
      .orderBy('last_activity_at', 'desc')
      .first('user_id')) as { user_id: string } | undefined;
    if (known) return { recipient: known.user_id };
    return { skip: channel === 'telegram' ? 'sin_chat_telegram' : 'sin_telefono' };
  }
  // Phones are stored as 57 + 10 digits; 60x numbers are landlines.
  if (/^5760\d{8}$/.test(debtor.phone)) return { skip: 'telefono_fijo' };
  return { recipient: debtor.phone };
}

/** The reason a debtor with an address is not contacted, if any. */
async function eligibility(
  db: Knex | Knex.Transaction,
  channel: CampaignChannel,
  debtor: CampaignDebtor,
  recipient: string,
  scope: { campaignId?: number; repeat?: boolean },
): Promise<SkipReason | undefined> {
  if (await isChannelRevoked(db, { channel, recipient, debtorId: debtor.id })) return 'canal_revocado';
  if (!scope.repeat) {
    // Running `campaign start` twice must not write to everyone twice.
    const earlier = await db('campaign_targets as t')
      .join('campaigns as c', 'c.id', 't.campaign_id')
      .leftJoin('outbox as o', 'o.id', 't.outbox_id')
      .where({ 't.debtor_id': debtor.id, 't.status': 'queued', 'c.channel': channel })
      .whereNot('c.id', scope.campaignId ?? 0)
      .where((q) => q.whereNull('o.id').orWhereNot('o.status', 'failed'))
      .first('t.id');
    if (earlier) return 'ya_contactado';
  }
  if (await hasOpenDispute(db, debtor.id)) return 'disputa_abierta';
  const agreement = await db('agreements').where({ debtor_id: debtor.id, status: 'vigente' }).first('id');
  if (agreement) return 'acuerdo_vigente';
  const dataRequest = await db('opt_outs').where({ debtor_id: debtor.id, kind: 'borrar_datos', status: 'open' }).first('id');
  if (dataRequest) return 'solicitud_datos_abierta';
  const live = await db('conversations')
    .whereIn('status', ['open', 'handoff'])
    .where((q) => q.where({ debtor_id: debtor.id }).orWhere((w) => w.where({ channel, user_id: recipient })))
    .first('id');
  if (live) return 'en_conversacion';
  return undefined;
}

async function portfolioId(knex: Knex, name: string): Promise<number> {
  const row = (await knex('portfolios').where({ name }).first('id')) as { id: number } | undefined;
  if (!row) throw new CampaignError(`no portfolio named "${name}"`);
  return row.id;
}

export class CampaignError extends Error {
  override name = 'CampaignError';
}

export interface PlanEntry {
  debtor: CampaignDebtor;
  recipient: string | null;
  action: 'send' | 'defer' | 'skip';
  /** When it would go out (send, defer). */
  at?: Date;
  /** Why it is deferred (guard) or skipped. */
  reason?: string;
}

export interface CampaignPlan {
  portfolio: string;
  channel: CampaignChannel;
  /** An unfinished campaign `start` would resume instead of creating one. */
  resumes?: { id: number; pending: number };
  entries: PlanEntry[];
}

const DEBTOR_COLUMNS = ['id', 'cedula', 'nombre_del_cliente', 'phone', 'tier'] as const;

/** --dry-run: who would be contacted and when, and who is skipped and why. Writes nothing. */
export async function planCampaign(
  knex: Knex,
  opts: { portfolio: string; channel: CampaignChannel; now: Date; repeat?: boolean },
): Promise<CampaignPlan> {
  const pid = await portfolioId(knex, opts.portfolio);
  const running = (await knex('campaigns').where({ portfolio_id: pid, channel: opts.channel, status: 'running' }).first('id')) as
    | { id: number }
    | undefined;
  let debtors: CampaignDebtor[];
  let resumes: CampaignPlan['resumes'];
  if (running) {
    debtors = (await knex('campaign_targets as t')
      .join('debtors as d', 'd.id', 't.debtor_id')
      .where({ 't.campaign_id': running.id, 't.status': 'pending' })
      .orderBy('t.id')
      .select(DEBTOR_COLUMNS.map((c) => `d.${c}`))) as CampaignDebtor[];
    resumes = { id: running.id, pending: debtors.length };
  } else {
    debtors = (await knex('debtors').where({ portfolio_id: pid }).orderBy('id').select(...DEBTOR_COLUMNS)) as CampaignDebtor[];
  }
  const seen = new Set<string>();
  const entries: PlanEntry[] = [];
  for (const debtor of debtors) {
    const address = await addressFor(knex, opts.channel, debtor);
    if ('skip' in address) {
      entries.push({ debtor, recipient: null, action: 'skip', reason: address.skip });
      continue;
    }
    const { recipient } = address;
    const skip = seen.has(recipient)
      ? 'destinatario_repetido'
      : await eligibility(knex, opts.channel, debtor, recipient, { campaignId: running?.id, repeat: opts.repeat });
    seen.add(recipient);
    if (skip) {
      entries.push({ debtor, recipient, action: 'skip', reason: skip });
      continue;
    }
    const decision = await decideContact(knex, { channel: opts.channel, recipient, debtorId: debtor.id, kind: 'campaign', at: opts.now });
    if (decision.action === 'block') entries.push({ debtor, recipient, action: 'skip', reason: decision.reason });
    else if (decision.action === 'defer') entries.push({ debtor, recipient, action: 'defer', at: decision.at, reason: decision.reason });
    else entries.push({ debtor, recipient, action: 'send', at: decision.at });
  }
  return { portfolio: opts.portfolio, channel: opts.channel, ...(resumes ? { resumes } : {}), entries };
}

export interface StartOptions {
  portfolio: string;
  channel: CampaignChannel;
  /** The flow message or approved WhatsApp template name, recorded with the campaign. */
  template: string;
  content: CampaignContent;
  settings: CampaignSettings;
  now: () => Date;
  /** Also write to debtors an earlier campaign on this portfolio and channel already reached. */
  repeat?: boolean;
  /** Called after each target's transaction commits (progress bars, the CLI). */
  onProgress?: (done: number, total: number) => void;
  /** Called with the outbox ids due now after each commit, to send them at once. */
  dispatch?: (outboxIds: number[]) => void;
  /** Test seam: runs inside each target's transaction just before commit. */
  beforeCommit?: (target: { id: number; debtorId: number }) => void | Promise<void>;
}

export interface StartResult {
  campaignId: number;
  resumed: boolean;
  queued: number;
  deferred: number;
  skipped: number;
}

/** Creates the campaign (or finds the unfinished one) and fixes its targets. */
async function openCampaign(knex: Knex, opts: StartOptions): Promise<{ id: number; resumed: boolean }> {
  const pid = await portfolioId(knex, opts.portfolio);
  return knex.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`acuerdo:campaign:${pid}:${opts.channel}`]);
    const running = (await trx('campaigns').where({ portfolio_id: pid, channel: opts.channel, status: 'running' }).first('id', 'template')) as
      | { id: number; template: string }
      | undefined;
    if (running) {
      if (running.template !== opts.template) {
        throw new CampaignError(
          `campaign #${running.id} on this portfolio and channel is unfinished and uses "${running.template}"; resume it with --template ${running.template}, or cancel it first (campaign cancel ${running.id})`,
        );
      }
      return { id: running.id, resumed: true };
    }
    const [created] = (await trx('campaigns')
      .insert({ portfolio_id: pid, channel: opts.channel, template: opts.template, status: 'running', created_at: opts.now() })
      .returning('id')) as { id: number }[];
    const id = created!.id;
    await trx.raw(
      `insert into campaign_targets (campaign_id, debtor_id, status) select ?, d.id, 'pending' from debtors d where d.portfolio_id = ? order by d.id`,
      [id, pid],
    );
    return { id, resumed: false };
  });
}

/**
 * Starts (or resumes) a campaign and queues every pending target. Safe to run again
 * after a crash, and from two processes at once: each target is taken under a row
 * lock and queued exactly once.
 */
export async function startCampaign(knex: Knex, opts: StartOptions): Promise<StartResult> {
  const { id, resumed } = await openCampaign(knex, opts);
  const result: StartResult = { campaignId: id, resumed, queued: 0, deferred: 0, skipped: 0 };
  const pace = createPacer(knex, opts.channel, opts.settings.ratePerMinute[opts.channel]);
  const total = Number(((await knex('campaign_targets').where({ campaign_id: id, status: 'pending' }).count('* as n').first()) as { n: string }).n);
  let done = 0;
  opts.onProgress?.(0, total);
  for (;;) {
    const batch = (await knex('campaign_targets').where({ campaign_id: id, status: 'pending' }).orderBy('id').limit(100).select('id')) as {
      id: number;
    }[];
    if (!batch.length) break;
    for (const { id: targetId } of batch) {
      let dueNow: number | undefined;
      const outcome = await knex.transaction(async (trx) => {
        const target = (await trx('campaign_targets').where({ id: targetId, status: 'pending' }).forUpdate().skipLocked().first()) as
          | TargetRow
          | undefined;
        if (!target) return undefined;
        const debtor = (await trx('debtors').where({ id: target.debtor_id }).first(...DEBTOR_COLUMNS)) as CampaignDebtor;
        const now = opts.now();
        const skip = async (reason: string, recipient: string | null) => {
          await trx('campaign_targets').where({ id: target.id }).update({ status: 'skipped', reason, recipient });
          await opts.beforeCommit?.({ id: target.id, debtorId: debtor.id });
          return 'skipped' as const;
        };
        const address = await addressFor(trx, opts.channel, debtor);
        if ('skip' in address) return skip(address.skip, null);
        const { recipient } = address;
        const repeated = await trx('campaign_targets')
          .where({ campaign_id: id, recipient, status: 'queued' })
          .first('id');
        const reason = repeated
          ? 'destinatario_repetido'
          : await eligibility(trx, opts.channel, debtor, recipient, { campaignId: id, repeat: opts.repeat });
        if (reason) return skip(reason, recipient);
        const queued = await queueUnprompted(trx, {
          channel: opts.channel,
          recipient,
          debtorId: debtor.id,
          kind: 'campaign',
          campaignId: id,
          at: now,
          payload: opts.content(debtor),
          pace,
        });
        if (queued.status === 'blocked') return skip(queued.reason, recipient);
        await trx('campaign_targets')
          .where({ id: target.id })
          .update({ status: 'queued', recipient, outbox_id: queued.outboxId, queued_at: now, reason: queued.status === 'deferred' ? queued.reason : null });
        await opts.beforeCommit?.({ id: target.id, debtorId: debtor.id });
        if (queued.status === 'queued' && queued.sendAt <= now) dueNow = queued.outboxId;
        return queued.status;
      });
      if (outcome === 'queued') result.queued++;
      else if (outcome === 'deferred') result.deferred++;
      else if (outcome === 'skipped') result.skipped++;
      if (dueNow !== undefined) opts.dispatch?.([dueNow]);
      opts.onProgress?.(++done, total);
    }
  }
  await knex('campaigns').where({ id, status: 'running' }).update({ status: 'queued', queued_at: opts.now() });
  return result;
}

/** Stops a campaign: nothing more is queued, and its messages not yet sent are cancelled. */
export async function cancelCampaign(knex: Knex, campaignId: number, now: Date): Promise<{ cancelled: number } | undefined> {
  return knex.transaction(async (trx) => {
    const updated = await trx('campaigns').where({ id: campaignId }).whereNot('status', 'cancelled').update({ status: 'cancelled', cancelled_at: now });
    if (!updated) return undefined;
    await trx('campaign_targets').where({ campaign_id: campaignId, status: 'pending' }).update({ status: 'skipped', reason: 'campaña_cancelada' });
    const cancelled = await trx('outbox')
      .whereIn('id', trx('campaign_targets').where({ campaign_id: campaignId }).whereNotNull('outbox_id').select('outbox_id'))
      .whereIn('status', ['pending', 'deferred'])
      .update({ status: 'failed', last_error: 'cancelled: campaign cancelled', updated_at: now });
    return { cancelled };
  });
}

export interface CampaignProgress {
  id: number;
  portfolio: string;
  channel: string;
  template: string;
  status: string;
  created_at: string;
  targets: number;
  /** Not yet handled by `campaign start` (it was interrupted). */
  pending: number;
  /** In the outbox, waiting for its paced slot. */
  queued: number;
  /** Held by the guard until the next allowed time. */
  deferred: number;
  sent: number;
  failed: number;
  skipped: number;
  skipped_by_reason: Record<string, number>;
  /** Debtors who wrote back after the campaign message reached them. */
  replied: number;
}

type TargetCounts = Omit<CampaignProgress, 'id' | 'portfolio' | 'channel' | 'template' | 'status' | 'created_at' | 'skipped_by_reason'>;

/** A campaign without targets (its portfolio had no debtors). */
const NO_TARGETS: TargetCounts = { targets: 0, pending: 0, queued: 0, deferred: 0, sent: 0, failed: 0, skipped: 0, replied: 0 };

/** Progress of campaigns (one, a portfolio's, or all), newest first. */
export async function campaignStatus(knex: Knex, filter: { campaignId?: number; portfolio?: string } = {}): Promise<CampaignProgress[]> {
  const q = knex('campaigns as c').join('portfolios as p', 'p.id', 'c.portfolio_id').orderBy('c.id', 'desc').select('c.*', 'p.name as portfolio');
  if (filter.campaignId !== undefined) q.where('c.id', filter.campaignId);
  if (filter.portfolio !== undefined) q.where('p.name', filter.portfolio);
  const campaigns = (await q) as { id: number; portfolio: string; channel: string; template: string; status: string; created_at: Date }[];
  if (!campaigns.length) return [];
  const ids = campaigns.map((c) => c.id);
  // The counts of every listed campaign in one query.
  const { rows: counts } = (await knex.raw(
    `select t.campaign_id,
       count(*)::int as targets,
       count(*) filter (where t.status = 'pending')::int as pending,
       count(*) filter (where t.status = 'queued' and o.status in ('pending', 'sending'))::int as queued,
       count(*) filter (where t.status = 'queued' and o.status = 'deferred')::int as deferred,
       count(*) filter (where t.status = 'queued' and o.status in ('sent', 'delivered', 'read'))::int as sent,
       count(*) filter (where t.status = 'queued' and (o.status = 'failed' or o.id is null))::int as failed,
       count(*) filter (where t.status = 'skipped')::int as skipped,
       count(*) filter (where t.status = 'queued' and o.sent_at is not null and exists (
         select 1 from conversations cv join messages m on m.conversation_id = cv.id
         where cv.channel = c.channel and cv.user_id = t.recipient and m.direction = 'in' and m.created_at >= o.sent_at))::int as replied
     from campaign_targets t join campaigns c on c.id = t.campaign_id left join outbox o on o.id = t.outbox_id
     where t.campaign_id = any(?::int[])
     group by t.campaign_id`,
    [ids],
  )) as { rows: (TargetCounts & { campaign_id: number })[] };
  const reasons = (await knex('campaign_targets')
    .whereIn('campaign_id', ids)
    .where({ status: 'skipped' })
    .groupBy('campaign_id', 'reason')
    .select('campaign_id', 'reason', knex.raw('count(*)::int as n'))) as { campaign_id: number; reason: string; n: number }[];
  const countsOf = new Map(counts.map(({ campaign_id, ...n }) => [campaign_id, n]));
  return campaigns.map((c) => ({
    id: c.id,
    portfolio: c.portfolio,
    channel: c.channel,
    template: c.template,
    status: c.status,
    created_at: c.created_at.toISOString(),
    ...(countsOf.get(c.id) ?? NO_TARGETS),
    skipped_by_reason: Object.fromEntries(reasons.filter((r) => r.campaign_id === c.id).map((r) => [r.reason, r.n])),
  }));
}

/** The campaign pacing the configuration sets (messages a minute per channel). */
export function campaignSettings(config: Config): CampaignSettings {
  return {
    ratePerMinute: {
      'whatsapp-cloud': config.CAMPAIGN_RATE_WHATSAPP_CLOUD,
      'whatsapp-web': config.CAMPAIGN_RATE_WHATSAPP_WEB,
      telegram: config.CAMPAIGN_RATE_TELEGRAM,
    },
  };
}
