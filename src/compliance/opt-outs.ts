/**
 * A debtor's say over contact and data:
 * - "STOP", "BAJA", "no me escriban más" (or the no_contactar intent) revokes the channel
 *   at once (Ley 2300, art. 2): recorded, acknowledged, and every campaign, reminder or
 *   warning queued for that channel is cancelled;
 * - "borren mis datos" is a data-protection request (Ley 1581 de 2012) recorded for a
 *   person, answered within 15 business days. The debt itself stays.
 */
import { addBusinessDays } from '../core/index.js';
import type { Knex } from '../store/index.js';
import { bogotaDay } from './contact-window.js';
import { UNPROMPTED_KINDS } from './guard.js';

export type ComplianceRequest = 'no_contactar' | 'borrar_datos';

/** The legal term for answering a data request, in business days. */
export const DATA_REQUEST_BUSINESS_DAYS = 15;

/** Lowercase, no accents, punctuation as spaces, single spaces. */
function fold(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

const WHOLE_MESSAGE_STOP = new Set(['stop', 'baja', 'darme de baja', 'dar de baja', 'de baja', 'unsubscribe', 'no contactar']);

const STOP_PATTERNS: RegExp[] = [
  // no me escriban (más), no nos vuelvan a escribir, ya no me contacten, no me llamen más
  /\bno (?:me|nos) (?:vuelvan|vuelvas|vuelva) a (?:escribir|contactar|llamar|molestar)\b/,
  /\bno (?:me|nos) (?:escriban|escribas|escriba|contacten|contactes|contacte|molesten|molestes|llamen|llames)\b/,
  /\b(?:dejen|deja|deje) de (?:escribirme|contactarme|molestarme|llamarme|escribir|enviarme|mandarme)\b/,
  /\bno quiero (?:que me (?:escriban|contacten|llamen)|recibir (?:mas )?mensajes|mas mensajes)\b/,
  /\b(?:darme|dar|denme|quiero la|quiero darme) de baja\b/,
  // no me manden más mensajes, no nos sigan escribiendo, paren de mandarme cosas
  /\bno (?:me|nos) (?:manden|mande|mandes|envien|envie|sigan (?:mandando|escribiendo|enviando|llamando|molestando))\b/,
  /\bno (?:escriban|contacten|llamen|manden|envien) mas\b/,
  /\b(?:paren|pare|para|dejen|deje|deja) de (?:mandar|enviar|escribir|contactar|llamar|molestar)\w*\b/,
  // no autoricé que me contactaran / no les he autorizado a escribirme (Ley 2300 art. 2)
  /\bno (?:les |le )?(?:autorice|autorizo|autorizado|he autorizado|hemos autorizado|di (?:la |mi )?autorizacion|doy (?:la |mi )?autorizacion)\b.{0,40}\b(?:contact|escrib|llam|mensaj|whatsapp|numero|datos)/,
  /\bno quiero (?:que me sigan|seguir recibiendo|volver a recibir)\b/,
];

const DATA_PATTERNS: RegExp[] = [
  /\b(?:borr|elimin|supr|quit|cancel)\w*\b(?: \w+){0,3} (?:datos|informacion)\b/,
  /\bhabeas ?data\b/,
  /\b(?:borr|elimin|sac)\w*me de (?:su|sus|la|las|esa|esta) (?:base|bases|lista|listas)\b/,
];

/**
 * What a message asks for, by its words alone (works without the NLU; the no_contactar
 * intent is the other way in). Empty when it asks for neither.
 */
export function detectComplianceRequests(text: string | undefined): Set<ComplianceRequest> {
  const found = new Set<ComplianceRequest>();
  if (!text) return found;
  const t = fold(text);
  if (!t) return found;
  if (WHOLE_MESSAGE_STOP.has(t) || STOP_PATTERNS.some((p) => p.test(t))) found.add('no_contactar');
  if (DATA_PATTERNS.some((p) => p.test(t))) found.add('borrar_datos');
  return found;
}

export interface RequestSource {
  channel: string;
  /** The sender's id on that channel. */
  userId: string;
  debtorId?: number | null;
  conversationId?: string | null;
  /** The debtor's words, kept as the record of the request. */
  message?: string | null;
  at: Date;
}

/**
 * The opt_outs row of a request, as every writer stores it (this module, and the
 * engine's turn, which writes it in the turn's own statement): a revocation takes effect
 * at once (status done); a data request waits for a person until its due date.
 */
export function requestRow(kind: ComplianceRequest, src: RequestSource, dueDate?: string): Record<string, unknown> {
  return {
    kind,
    channel: src.channel,
    user_id: src.userId,
    debtor_id: src.debtorId ?? null,
    conversation_id: src.conversationId ?? null,
    message: src.message ?? null,
    status: kind === 'no_contactar' ? 'done' : 'open',
    due_date: kind === 'borrar_datos' ? (dueDate ?? null) : null,
    created_at: src.at,
  };
}

/**
 * Revokes the channel for this person: records the opt-out (once) and cancels every
 * unprompted message still queued for them on that channel. Replies to messages they
 * send later are still answered; nothing the agency starts reaches them there again.
 */
export async function revokeChannel(trx: Knex.Transaction, src: RequestSource): Promise<{ optOutId: number; cancelled: number }> {
  const existing = (await trx('opt_outs')
    .where({ kind: 'no_contactar', channel: src.channel, user_id: src.userId })
    .whereNot('status', 'lifted')
    .first('id')) as { id: number } | undefined;
  let optOutId = existing?.id;
  if (optOutId === undefined) {
    const [row] = (await trx('opt_outs').insert(requestRow('no_contactar', src)).returning('id')) as { id: number }[];
    optOutId = row!.id;
  } else if (src.debtorId != null) {
    await trx('opt_outs').where({ id: optOutId }).whereNull('debtor_id').update({ debtor_id: src.debtorId });
  }
  const cancelled = await trx('outbox')
    .whereIn('status', ['pending', 'deferred'])
    .whereIn('kind', [...UNPROMPTED_KINDS])
    .where('channel', src.channel)
    .where((q) => {
      q.where('recipient', src.userId);
      if (src.debtorId != null) {
        q.orWhereIn('id', trx('contact_log').where({ debtor_id: src.debtorId, channel: src.channel }).whereNotNull('outbox_id').select('outbox_id'));
      }
    })
    .update({ status: 'failed', last_error: 'cancelled: canal_revocado', updated_at: src.at });
  return { optOutId, cancelled };
}

/**
 * Records a personal-data request (Ley 1581) for a person to handle, with its due date
 * (15 business days, Bogotá calendar). An open request from the same person is reused.
 */
export async function recordDataRequest(trx: Knex.Transaction, src: RequestSource): Promise<{ id: number; dueDate: string }> {
  const open = (await trx('opt_outs')
    .where({ kind: 'borrar_datos', channel: src.channel, user_id: src.userId, status: 'open' })
    .first('id', 'due_date')) as { id: number; due_date: string } | undefined;
  if (open) return { id: open.id, dueDate: open.due_date };
  const dueDate = addBusinessDays(bogotaDay(src.at), DATA_REQUEST_BUSINESS_DAYS);
  const [row] = (await trx('opt_outs').insert(requestRow('borrar_datos', src, dueDate)).returning('id')) as { id: number }[];
  return { id: row!.id, dueDate };
}
