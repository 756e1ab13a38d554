/**
 * The Mercado Pago adapter of the payment provider port, through the official SDK
 * (`mercadopago`): a Checkout Pro preference per installment (PSE, cards and Efecty in
 * Colombia), the webhook's `x-signature` checked with the SDK's validator (HMAC-SHA256
 * over `id:<data.id>;request-id:<x-request-id>;ts:<ts>;` with the application's secret),
 * and payments read back by id. SDK types stay in this file.
 */
import { MercadoPagoConfig, Payment, Preference, WebhookSignatureValidator, InvalidWebhookSignatureError } from 'mercadopago';
import { InvariantError, type Clock } from '../core/index.js';
import type { Checkout, CheckoutRequest, NotificationCheck, PaymentProvider, ProviderPayment, WebhookRequest } from './provider.js';

export interface MercadoPagoOptions {
  accessToken: string;
  /** The "clave secreta" of the application's webhooks (Tus integraciones → Webhooks). */
  webhookSecret: string;
  clock: Clock;
  timeoutMs?: number;
}

function one(value: string | string[] | unknown): string | undefined {
  if (Array.isArray(value)) return typeof value[0] === 'string' ? value[0] : undefined;
  return typeof value === 'string' ? value : undefined;
}

const STATUSES: Record<string, ProviderPayment['status']> = {
  approved: 'approved',
  pending: 'pending',
  in_process: 'pending',
  authorized: 'pending',
  rejected: 'rejected',
  refunded: 'refunded',
  charged_back: 'refunded',
  cancelled: 'cancelled',
};

export function createMercadoPagoProvider(options: MercadoPagoOptions): PaymentProvider {
  const config = new MercadoPagoConfig({ accessToken: options.accessToken, options: { timeout: options.timeoutMs ?? 10_000 } });
  const preferences = new Preference(config);
  const payments = new Payment(config);
  return {
    name: 'mercadopago',

    async createCheckout(request: CheckoutRequest): Promise<Checkout> {
      const created = await preferences.create({
        body: {
          items: [{ id: request.externalReference, title: request.title, quantity: 1, unit_price: request.amount, currency_id: 'COP' }],
          external_reference: request.externalReference,
          ...(request.notificationUrl ? { notification_url: request.notificationUrl } : {}),
          ...(request.backUrl ? { back_urls: { success: request.backUrl, pending: request.backUrl, failure: request.backUrl } } : {}),
        },
        requestOptions: { idempotencyKey: `${request.externalReference}:${request.amount}` },
      });
      if (!created.id || !created.init_point) throw new InvariantError('Mercado Pago returned a preference without id or init_point', { externalReference: request.externalReference });
      return { id: created.id, url: created.init_point };
    },

    verifyNotification(request: WebhookRequest): NotificationCheck {
      // data.id comes from the URL's query string (it is what Mercado Pago signs), not the body.
      const dataId = one(request.query['data.id']) ?? one((request.query.data as Record<string, unknown> | undefined)?.id);
      try {
        WebhookSignatureValidator.validate({
          xSignature: request.headers['x-signature'],
          xRequestId: request.headers['x-request-id'],
          dataId,
          secret: options.webhookSecret,
        });
      } catch (err) {
        const reason = err instanceof InvalidWebhookSignatureError ? err.reason : 'invalid signature';
        return { kind: 'invalid', reason: String(reason) };
      }
      const body = (request.body ?? {}) as { type?: unknown; topic?: unknown };
      const type = one(request.query.type) ?? one(request.query.topic) ?? one(body.type) ?? one(body.topic);
      if (type !== 'payment' || !dataId) return { kind: 'ignored', reason: `notification of type ${type ?? 'unknown'}` };
      return { kind: 'payment', paymentId: dataId };
    },

    async getPayment(id: string): Promise<ProviderPayment> {
      const p = await payments.get({ id });
      const when = p.date_approved ?? p.date_created;
      return {
        id: String(p.id ?? id),
        status: STATUSES[p.status ?? ''] ?? 'other',
        amount: Math.round(Number(p.transaction_amount ?? 0)),
        externalReference: p.external_reference ?? null,
        at: when ? new Date(when) : options.clock.now(),
        method: p.payment_method_id ?? p.payment_type_id ?? null,
      };
    },
  };
}
