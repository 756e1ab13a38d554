/**
 * What acuerdo writes to a debtor about an agreement without being asked: reminders
 * before and on a due date, the follow-up after a missed one, and the paz y salvo.
 * Each is an unprompted message (outbox kind 'reminder'), so it goes through the
 * compliance guard (contact window, one contact a day, revoked channels; deferred,
 * never dropped), to the address where the debtor made the agreement. On WhatsApp
 * Cloud it is an approved template (outside the 24-hour window nothing else goes).
 * One notice per installment and kind: agreement_notices remembers what was queued.
 */
// outbound.js directly: compliance/index.js loaded before the engine meets an import cycle (engine/signals → compliance/opt-outs).
import { queueUnprompted } from '../compliance/index.js';
import { InvariantError, type Reply } from '../core/index.js';
import { firstName, formatDate, formatMoney } from '../flows/index.js';
import type { Knex } from '../store/index.js';

export const NOTICE_KINDS = ['recordatorio_previo', 'recordatorio_vencimiento', 'seguimiento', 'paz_y_salvo'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/** The approved WhatsApp Cloud template per notice (README lists their texts to submit to Meta). */
export const NOTICE_TEMPLATES: Record<NoticeKind, string> = {
  recordatorio_previo: 'acuerdo_recordatorio',
  recordatorio_vencimiento: 'acuerdo_vencimiento',
  seguimiento: 'acuerdo_seguimiento',
  paz_y_salvo: 'acuerdo_paz_y_salvo',
};

export interface NoticeFacts {
  name: string;
  reference: string;
  installment?: number;
  installments?: number;
  amount?: number;
  dueDate?: string;
  howToPay?: string;
  link?: string;
  code?: string;
}

/** The notice's text (Colombian Spanish, usted; no threats, never "why didn't you pay") and its template parameters. */
export function noticeContent(kind: NoticeKind, f: NoticeFacts): { text: string; parameters: string[] } {
  const nombre = firstName(f.name);
  const cuota = f.installment !== undefined && f.installments !== undefined && f.installments > 1 ? `la cuota ${f.installment} de ${f.installments}` : 'el pago';
  const monto = f.amount !== undefined ? formatMoney(f.amount) : '';
  const fecha = f.dueDate ? formatDate(f.dueDate) : '';
  const pay = f.howToPay ? ` ${f.howToPay}` : '';
  switch (kind) {
    case 'recordatorio_previo':
      return {
        text: `Hola, ${nombre}. Le recordamos que ${cuota} de su acuerdo ${f.reference}, por ${monto}, vence el ${fecha}.${pay} Si ya pagó, muchas gracias; no tiene que hacer nada más.`,
        parameters: [nombre, cuota, monto, fecha, f.reference],
      };
    case 'recordatorio_vencimiento':
      return {
        text: `Hola, ${nombre}. Hoy vence ${cuota} de su acuerdo ${f.reference}, por ${monto}.${pay} Si ya pagó, muchas gracias; no tiene que hacer nada más.`,
        parameters: [nombre, cuota, monto, f.reference],
      };
    case 'seguimiento':
      return {
        text:
          `Hola, ${nombre}. ${cuota.charAt(0).toUpperCase()}${cuota.slice(1)} de su acuerdo ${f.reference}, que vencía el ${fecha}, aparece pendiente por ${monto}. ` +
          `¿Sucedió algo con el pago? Si ya pagó, cuéntenos y lo revisamos. ` +
          `Si le queda mejor otra fecha u otro plan, podemos reprogramar su acuerdo: escríbanos «reprogramar» y buscamos juntos la opción que más le sirva.`,
        parameters: [nombre, cuota, fecha, monto, f.reference],
      };
    case 'paz_y_salvo':
      return {
        text:
          `¡Felicitaciones, ${nombre}! Su acuerdo ${f.reference} quedó pagado en su totalidad. ` +
          `Puede descargar su paz y salvo aquí: ${f.link ?? ''} (el enlace vence en 7 días; después puede pedirlo de nuevo por este chat). ` +
          `Código de verificación: ${f.code ?? ''}.`,
        parameters: [nombre, f.reference, f.link ?? '', f.code ?? ''],
      };
  }
}

/** Where the debtor made the agreement: the address reminders go to. */
export interface AgreementAddress {
  agreementId: number;
  debtorId: number;
  conversationId: string | null;
  channel: string | null;
  recipient: string | null;
}

export async function agreementAddress(db: Knex | Knex.Transaction, agreementId: number): Promise<AgreementAddress> {
  const row = (await db('agreements as a')
    .leftJoin('conversations as c', 'c.id', 'a.conversation_id')
    .where('a.id', agreementId)
    .first('a.id', 'a.debtor_id', 'a.conversation_id', 'c.channel', 'c.user_id')) as
    | { id: number; debtor_id: number; conversation_id: string | null; channel: string | null; user_id: string | null }
    | undefined;
  if (!row) throw new InvariantError('no such agreement', { agreementId });
  return { agreementId: row.id, debtorId: row.debtor_id, conversationId: row.conversation_id, channel: row.channel, recipient: row.user_id };
}

export interface QueueNoticeOptions {
  agreementId: number;
  installmentId: number | null;
  kind: NoticeKind;
  facts: NoticeFacts;
  now: Date;
  /** WhatsApp template language (CAMPAIGN_TEMPLATE_LANGUAGE). */
  templateLanguage: string;
}

export type NoticeResult =
  | { status: 'queued' | 'deferred'; outboxId: number; sendAt: Date }
  | { status: 'blocked'; reason: string }
  | { status: 'exists' };

/**
 * Queues one notice inside `trx` (once per installment and kind). Channels that only
 * answer inline (the REST chat API) cannot be written to first: the notice is recorded
 * as blocked so the job does not try again.
 */
export async function queueNotice(trx: Knex.Transaction, o: QueueNoticeOptions): Promise<NoticeResult> {
  const seen = (await trx('agreement_notices')
    .where({ agreement_id: o.agreementId, kind: o.kind })
    .where((q) => (o.installmentId === null ? q.whereNull('installment_id') : q.where('installment_id', o.installmentId)))
    .first('id')) as { id: number } | undefined;
  if (seen) return { status: 'exists' };
  const address = await agreementAddress(trx, o.agreementId);
  const record = (status: string, outboxId: number | null) =>
    trx('agreement_notices').insert({ agreement_id: o.agreementId, installment_id: o.installmentId, kind: o.kind, outbox_id: outboxId, status, created_at: o.now });
  if (!address.channel || !address.recipient || address.channel === 'api') {
    await record('blocked', null);
    return { status: 'blocked', reason: 'sin_canal' };
  }
  const content = noticeContent(o.kind, o.facts);
  // The paz y salvo also goes as a document where the channel can carry one.
  const pdf = o.kind === 'paz_y_salvo' && o.facts.link && o.facts.code ? { url: o.facts.link, filename: `paz-y-salvo-${o.facts.code}.pdf` } : undefined;
  const template = {
    name: NOTICE_TEMPLATES[o.kind],
    language: o.templateLanguage,
    bodyParameters: content.parameters,
    // acuerdo_paz_y_salvo is approved with a DOCUMENT header.
    ...(pdf ? { components: [{ type: 'header', parameters: [{ type: 'document', document: { link: pdf.url, filename: pdf.filename } }] }] } : {}),
  };
  const payload: Reply[] =
    address.channel === 'whatsapp-cloud'
      ? [{ text: content.text, template } as Reply]
      : [{ text: content.text, ...(pdf && address.channel === 'telegram' ? { document: pdf } : {}) }];
  const queued = await queueUnprompted(trx, {
    channel: address.channel,
    recipient: address.recipient,
    debtorId: address.debtorId,
    conversationId: address.conversationId,
    kind: 'reminder',
    at: o.now,
    payload,
  });
  if (queued.status === 'blocked') {
    await record('blocked', null);
    return { status: 'blocked', reason: queued.reason };
  }
  await record(queued.status, queued.outboxId);
  return { status: queued.status, outboxId: queued.outboxId, sendAt: queued.sendAt };
}
