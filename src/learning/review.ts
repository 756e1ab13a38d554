/**
 * The review inbox: turns the bot was unsure about — the model under the threshold, the
 * OpenAI fallback or the keyword rules answered, the flow fell back ("no le entendí"), or
 * a person took the conversation after it. A supervisor confirms the intent, corrects it
 * (one of the flow's intents) or marks the item not useful; confirmed and corrected
 * examples train the next model version.
 */
import { z } from 'zod';
import type { Clock } from '../core/index.js';
import { INTENTS, type NluResult } from '../nlu/index.js';
import type { Knex } from '../store/index.js';
import { hasWords, maskPersonalData } from './mask.js';

export const REVIEW_REASONS = ['low_confidence', 'openai', 'rules', 'flow_fallback', 'handoff'] as const;
export type ReviewReason = (typeof REVIEW_REASONS)[number];

/** What the engine's turn said, as far as the inbox cares. */
export interface TurnFacts {
  channel: string;
  messageId: string;
  nlu?: NluResult;
  /** The rule that fired ("fallback" when the flow did not understand). */
  matched?: string;
  status: string;
  previousStatus?: string;
  state: string;
  conversationId: string;
}

/** Why this turn belongs in the inbox; empty when it does not. */
export function reviewReasons(turn: TurnFacts, threshold: number): ReviewReason[] {
  const reasons: ReviewReason[] = [];
  const nlu = turn.nlu;
  if (nlu && nlu.text !== '' && nlu.source !== 'cedula') {
    if (nlu.source === 'model' && nlu.confidence < threshold) reasons.push('low_confidence');
    if (nlu.source === 'openai') reasons.push('openai');
    if (nlu.source === 'rules') reasons.push('rules');
  }
  if (turn.matched === 'fallback') reasons.push('flow_fallback');
  if (turn.status === 'handoff' && turn.previousStatus !== 'handoff') reasons.push('handoff');
  return reasons;
}

/** The debtor's names, to mask them. */
async function debtorNames(knex: Knex, debtorId: number | null): Promise<string[]> {
  if (debtorId === null) return [];
  const row = (await knex('debtors').where({ id: debtorId }).first('nombre_del_cliente')) as { nombre_del_cliente: string } | undefined;
  return row ? [row.nombre_del_cliente] : [];
}

/** The agreement a conversation is about: the one recorded in it, else the debtor's latest. */
export async function agreementOf(knex: Knex, conversationId: string, debtorId: number | null): Promise<number | null> {
  const own = (await knex('agreements').where({ conversation_id: conversationId }).orderBy('id', 'desc').first('id')) as { id: number } | undefined;
  if (own) return Number(own.id);
  if (debtorId === null) return null;
  const latest = (await knex('agreements').where({ debtor_id: debtorId }).orderBy('id', 'desc').first('id')) as { id: number } | undefined;
  return latest ? Number(latest.id) : null;
}

/** Puts a turn in the inbox when it belongs there (once per inbound message). */
export async function recordForReview(knex: Knex, turn: TurnFacts, threshold: number, clock: Clock): Promise<number | undefined> {
  const reasons = reviewReasons(turn, threshold);
  if (reasons.length === 0) return undefined;
  // Masking the debtor's names can only remove words: a text with no words left without
  // them has none with them either, and nothing needs to be read for it.
  if (turn.nlu && !hasWords(maskPersonalData(turn.nlu.text, { names: [] }))) return undefined;
  const message = (await knex('messages as m')
    .join('conversations as c', 'c.id', 'm.conversation_id')
    .where({ 'm.channel': turn.channel, 'm.external_id': turn.messageId, 'm.direction': 'in' })
    .first('m.id', 'm.text', 'm.conversation_id', 'c.debtor_id', 'c.portfolio_id')) as
    | { id: number; text: string | null; conversation_id: string; debtor_id: number | null; portfolio_id: number | null }
    | undefined;
  if (!message?.text) return undefined;
  const debtorId = message.debtor_id === null ? null : Number(message.debtor_id);
  const masked = maskPersonalData(message.text, { names: await debtorNames(knex, debtorId) });
  // A number alone (an identity answer, a cédula mistyped) teaches the model nothing.
  if (!hasWords(masked)) return undefined;
  const [row] = (await knex('review_items')
    .insert({
      conversation_id: message.conversation_id,
      message_id: message.id,
      channel: turn.channel,
      debtor_id: debtorId,
      agreement_id: await agreementOf(knex, message.conversation_id, debtorId),
      portfolio_id: message.portfolio_id,
      text_masked: masked,
      predicted_intent: turn.nlu?.intent ?? null,
      confidence: turn.nlu?.confidence ?? null,
      source: turn.nlu?.source ?? null,
      reasons: reasons.join(','),
      state: turn.state,
      status: 'open',
      created_at: clock.now(),
    })
    .onConflict('message_id')
    .ignore()
    .returning('id')) as { id: number }[];
  return row ? Number(row.id) : undefined;
}

export interface InboxItem {
  id: number;
  conversation_id: string;
  channel: string;
  debtor_id: number | null;
  agreement_id: number | null;
  portfolio: string | null;
  text_masked: string;
  predicted_intent: string | null;
  confidence: number | null;
  source: string | null;
  reasons: string[];
  state: string | null;
  status: string;
  reviewed_intent: string | null;
  reviewed_by: string | null;
  reviewed_at: Date | null;
  created_at: Date;
  /** The messages around it (masked): up to 3 before and 2 after. */
  around: { id: number; direction: string; author: string; text: string; this: boolean }[];
}

export async function listInbox(knex: Knex, options: { status?: string; limit?: number; debtorId?: number; id?: number } = {}): Promise<InboxItem[]> {
  const q = knex('review_items as r')
    .leftJoin('portfolios as p', 'p.id', 'r.portfolio_id')
    .select('r.*', 'p.name as portfolio')
    .orderBy('r.id', 'desc')
    .limit(options.limit ?? 50);
  if (options.status && options.status !== 'all') q.where('r.status', options.status);
  if (options.debtorId !== undefined) q.where('r.debtor_id', options.debtorId);
  if (options.id !== undefined) q.where('r.id', options.id);
  const rows = (await q) as (Record<string, unknown> & { message_id: number | null; conversation_id: string; debtor_id: number | null })[];
  const out: InboxItem[] = [];
  for (const r of rows) {
    const names = await debtorNames(knex, r.debtor_id === null ? null : Number(r.debtor_id));
    let around: InboxItem['around'] = [];
    if (r.message_id !== null) {
      const id = Number(r.message_id);
      const before = (await knex('messages').where({ conversation_id: r.conversation_id }).where('id', '<', id).orderBy('id', 'desc').limit(3).select('id', 'direction', 'author', 'text')) as {
        id: number;
        direction: string;
        author: string;
        text: string | null;
      }[];
      const after = (await knex('messages').where({ conversation_id: r.conversation_id }).where('id', '>=', id).orderBy('id').limit(3).select('id', 'direction', 'author', 'text')) as typeof before;
      around = [...before.reverse(), ...after].map((m) => ({
        id: Number(m.id),
        direction: m.direction,
        author: m.author,
        text: maskPersonalData(m.text ?? '', { names }),
        this: Number(m.id) === id,
      }));
    }
    out.push({
      id: Number(r.id),
      conversation_id: r.conversation_id,
      channel: String(r.channel),
      debtor_id: r.debtor_id === null ? null : Number(r.debtor_id),
      agreement_id: r.agreement_id === null ? null : Number(r.agreement_id),
      portfolio: (r.portfolio as string | null) ?? null,
      text_masked: String(r.text_masked),
      predicted_intent: (r.predicted_intent as string | null) ?? null,
      confidence: r.confidence === null ? null : Number(r.confidence),
      source: (r.source as string | null) ?? null,
      reasons: String(r.reasons).split(','),
      state: (r.state as string | null) ?? null,
      status: String(r.status),
      reviewed_intent: (r.reviewed_intent as string | null) ?? null,
      reviewed_by: (r.reviewed_by as string | null) ?? null,
      reviewed_at: (r.reviewed_at as Date | null) ?? null,
      created_at: r.created_at as Date,
      around,
    });
  }
  return out;
}

export const reviewDecision = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('confirm') }),
  z.strictObject({ action: z.literal('correct'), intent: z.enum(INTENTS) }),
  z.strictObject({ action: z.literal('not_useful') }),
]);
export type ReviewDecision = z.infer<typeof reviewDecision>;

export class ReviewError extends Error {
  override name = 'ReviewError';
}

/** Records a supervisor's decision on an item, with who and when. */
export async function reviewItem(knex: Knex, id: number, decision: ReviewDecision, by: string, clock: Clock): Promise<InboxItem | undefined> {
  const item = (await knex('review_items').where({ id }).first('id', 'predicted_intent')) as { id: number; predicted_intent: string | null } | undefined;
  if (!item) return undefined;
  let values: Record<string, unknown>;
  if (decision.action === 'confirm') {
    if (!item.predicted_intent || !(INTENTS as readonly string[]).includes(item.predicted_intent)) throw new ReviewError('there is no predicted intent to confirm; correct it instead');
    values = { status: 'confirmed', reviewed_intent: item.predicted_intent };
  } else if (decision.action === 'correct') {
    values = { status: 'corrected', reviewed_intent: decision.intent };
  } else {
    values = { status: 'not_useful', reviewed_intent: null };
  }
  await knex('review_items').where({ id }).update({ ...values, reviewed_by: by, reviewed_at: clock.now() });
  return (await listInbox(knex, { status: 'all', id }))[0];
}
