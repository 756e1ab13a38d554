/**
 * The agreements service as the composition root wires it: payments from the gateway
 * (webhook → look the payment up by id → allocate, once) and from the bank's file,
 * online payment pages per agreement, the paz y salvo (PDF, signed link, public
 * verification) and what operations read (one agreement's schedule and payments, the
 * unmatched payments, the dashboard's figures).
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/index.js';
import type { Logger } from '../log.js';
import type { Knex } from '../store/index.js';
import { bogotaDate } from '../core/index.js';
import { loadCertificate, renderCertificatePdf, type CertificateData } from './certificate.js';
import type { LinkSigner } from './links.js';
import { queueNotice } from './notices.js';
import { importPayments, type PaymentImportOptions, type PaymentImportResult } from './payments-import.js';
import { cancelPendingNotices, recordPayment, type IncomingPayment, type PaymentOutcome } from './payments.js';
import { externalReference, parseExternalReference, type PaymentProvider, type WebhookRequest } from './provider.js';

export const CERTIFICATE_LINK_TTL_MS = 7 * 24 * 60 * 60 * 1000;
export const PAYMENT_LINK_TTL_MS = 60 * 24 * 60 * 60 * 1000;

export interface AgreementsServiceOptions {
  knex: Knex;
  clock: Clock;
  log: Logger;
  /** Signs the debtor's links; absent without PUBLIC_URL (then no links are sent). */
  signer?: LinkSigner;
  provider?: PaymentProvider;
  /** The agency named on the paz y salvo. */
  agency: string;
  publicUrl: string;
  templateLanguage: string;
  dispatch?(ids: number[]): void;
}

export type WebhookOutcome =
  | { status: 'invalid'; reason: string }
  | { status: 'ignored'; reason: string }
  | { status: 'not_approved'; paymentStatus: string }
  | { status: 'recorded'; outcome: PaymentOutcome['status'] };

export interface AgreementsService {
  readonly provider?: PaymentProvider;
  /** Records a payment and, when it completes the agreement, queues the paz y salvo message. */
  record(payment: IncomingPayment): Promise<PaymentOutcome>;
  handleWebhook(request: WebhookRequest): Promise<WebhookOutcome>;
  /**
   * After an agreement replaced another in the chat: what the old one had received is
   * credited to the new one (once; a payment of source 'traslado'), and the old one's
   * waiting reminders are cancelled. Nobody pays the same installment twice.
   */
  carryOver(reference: string): Promise<PaymentOutcome[]>;
  importFile(file: string, options: Omit<PaymentImportOptions, 'now'>): Promise<PaymentImportResult>;
  /** The signed page that opens the gateway's checkout for the agreement's next installment. */
  paymentLink(reference: string): string | undefined;
  /** The gateway checkout URL for the next open installment of a vigente agreement. */
  checkoutUrl(reference: string): Promise<string | undefined>;
  certificate(code: string): Promise<CertificateData | undefined>;
  certificatePdf(code: string): Promise<Uint8Array | undefined>;
  certificateLink(code: string): string | undefined;
  queueCertificateNotice(trx: Knex.Transaction, agreementId: number, code: string): Promise<number | undefined>;
}

const REFERENCE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
/** A fresh agreement reference (the engine's format: AC- and six characters). */
export function newAgreementReference(): string {
  let out = 'AC-';
  for (const b of randomBytes(6)) out += REFERENCE_ALPHABET[b % REFERENCE_ALPHABET.length];
  return out;
}

export function createAgreementsService(o: AgreementsServiceOptions): AgreementsService {
  const { knex, clock, log } = o;
  const base = o.publicUrl.replace(/\/+$/, '');

  const service: AgreementsService = {
    provider: o.provider,

    async queueCertificateNotice(trx, agreementId, code) {
      const link = service.certificateLink(code);
      const a = (await trx('agreements as a').join('debtors as d', 'd.id', 'a.debtor_id').where('a.id', agreementId).first('a.reference', 'd.nombre_del_cliente')) as {
        reference: string;
        nombre_del_cliente: string;
      };
      const res = await queueNotice(trx, {
        agreementId,
        installmentId: null,
        kind: 'paz_y_salvo',
        now: clock.now(),
        templateLanguage: o.templateLanguage,
        facts: { name: a.nombre_del_cliente, reference: a.reference, link: link ?? `${base}/verificar/${code}`, code },
      });
      return res.status === 'queued' ? res.outboxId : undefined;
    },

    async record(payment) {
      let due: number | undefined;
      const outcome = await knex.transaction(async (trx) => {
        const out = await recordPayment(trx, payment, clock.now());
        if (out.status === 'applied' && out.completed && out.certificateCode) due = await service.queueCertificateNotice(trx, out.agreementId, out.certificateCode);
        return out;
      });
      if (due !== undefined) o.dispatch?.([due]);
      return outcome;
    },

    async handleWebhook(request) {
      if (!o.provider) return { status: 'ignored', reason: 'no payment provider is configured' };
      const check = o.provider.verifyNotification(request);
      if (check.kind === 'invalid') {
        log.warn({ provider: o.provider.name, reason: check.reason }, 'payment notification refused: bad signature');
        return { status: 'invalid', reason: check.reason };
      }
      if (check.kind === 'ignored') return { status: 'ignored', reason: check.reason };
      // The notification says only "look at payment N": the amount and status come from the gateway.
      const p = await o.provider.getPayment(check.paymentId);
      if (p.status !== 'approved') return { status: 'not_approved', paymentStatus: p.status };
      const ref = parseExternalReference(p.externalReference);
      const outcome = await service.record({
        source: 'gateway',
        provider: o.provider.name,
        externalId: p.id,
        idempotencyKey: `${o.provider.name}:${p.id}`,
        reference: ref?.reference ?? null,
        amount: p.amount,
        paidOn: bogotaDate(p.at),
        method: p.method,
        details: { external_reference: p.externalReference },
      });
      log.info({ provider: o.provider.name, paymentId: p.id, outcome: outcome.status }, 'gateway payment recorded');
      return { status: 'recorded', outcome: outcome.status };
    },

    async carryOver(reference) {
      const now = clock.now();
      let due: number | undefined;
      const outcomes = await knex.transaction(async (trx) => {
        const fresh = (await trx('agreements').where({ reference }).first('id')) as { id: number } | undefined;
        if (!fresh) return [];
        const replaced = (await trx('agreements as a')
          .where('a.replaced_by', fresh.id)
          .select('a.id', 'a.reference', trx.raw('(select coalesce(sum(i.paid_amount), 0)::bigint from agreement_installments i where i.agreement_id = a.id) as paid'))) as {
          id: number;
          reference: string;
          paid: number;
        }[];
        const out: PaymentOutcome[] = [];
        for (const old of replaced) {
          const ids = ((await trx('agreement_installments').where({ agreement_id: old.id }).select('id')) as { id: number }[]).map((i) => i.id);
          await cancelPendingNotices(trx, ids, now, 'acuerdo reemplazado');
          if (Number(old.paid) <= 0) continue;
          const outcome = await recordPayment(
            trx,
            {
              source: 'traslado',
              idempotencyKey: `traslado:${old.id}`,
              agreementId: fresh.id,
              amount: Number(old.paid),
              paidOn: bogotaDate(now),
              method: `acuerdo ${old.reference}`,
              details: { replaced_agreement_id: old.id },
            },
            now,
          );
          if (outcome.status === 'applied' && outcome.completed && outcome.certificateCode) due = await service.queueCertificateNotice(trx, fresh.id, outcome.certificateCode);
          out.push(outcome);
        }
        return out;
      });
      if (due !== undefined) o.dispatch?.([due]);
      return outcomes;
    },

    async importFile(file, options) {
      const result = await importPayments(knex, file, { ...options, now: clock.now() });
      const due: number[] = [];
      for (const agreementId of result.completed) {
        await knex.transaction(async (trx) => {
          const c = (await trx('paz_y_salvo').where({ agreement_id: agreementId }).first('code')) as { code: string } | undefined;
          if (!c) return;
          const id = await service.queueCertificateNotice(trx, agreementId, c.code);
          if (id !== undefined) due.push(id);
        });
      }
      if (due.length) o.dispatch?.(due);
      return result;
    },

    paymentLink(reference) {
      if (!o.provider || !o.signer) return undefined;
      return o.signer.sign(`/pagar/${reference}`, PAYMENT_LINK_TTL_MS);
    },

    async checkoutUrl(reference) {
      if (!o.provider) return undefined;
      const next = (await knex('agreement_installments as i')
        .join('agreements as a', 'a.id', 'i.agreement_id')
        .where('a.reference', reference)
        .where('a.status', 'vigente')
        .whereRaw('i.paid_amount < i.amount')
        .orderBy('i.number')
        .first('i.id', 'i.number', 'i.amount', 'i.paid_amount', 'a.installments')) as
        | { id: number; number: number; amount: number; paid_amount: number; installments: number }
        | undefined;
      if (!next) return undefined;
      const amount = Number(next.amount) - Number(next.paid_amount);
      const existing = (await knex('payment_links').where({ installment_id: next.id, provider: o.provider.name, amount }).orderBy('id', 'desc').first('url')) as { url: string } | undefined;
      if (existing) return existing.url;
      const checkout = await o.provider.createCheckout({
        externalReference: externalReference(reference, next.number),
        amount,
        title: next.installments > 1 ? `Acuerdo de pago ${reference} - cuota ${next.number} de ${next.installments}` : `Acuerdo de pago ${reference}`,
        notificationUrl: `${base}/webhooks/${o.provider.name}`,
        backUrl: `${base}/pagar/gracias`,
      });
      await knex('payment_links').insert({ installment_id: next.id, provider: o.provider.name, preference_id: checkout.id, url: checkout.url, amount, created_at: clock.now() });
      return checkout.url;
    },

    certificate: (code) => loadCertificate(knex, code, { agency: o.agency, publicUrl: base }),

    async certificatePdf(code) {
      const c = await service.certificate(code);
      return c ? renderCertificatePdf(c) : undefined;
    },

    certificateLink(code) {
      return o.signer?.sign(`/paz-y-salvo/${code}.pdf`, CERTIFICATE_LINK_TTL_MS);
    },
  };
  return service;
}
