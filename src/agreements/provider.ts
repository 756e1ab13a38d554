/**
 * The payment provider port: what acuerdo needs from a payment gateway, and nothing
 * more. Mercado Pago is the first adapter (./mercadopago.ts); Wompi or ePayco plug in
 * by implementing the same three calls (README: "Otra pasarela").
 */

/** A checkout link for one installment. */
export interface CheckoutRequest {
  /** The agreement's reference and the installment, e.g. AC-7QK2M9PX-2: the gateway echoes it back. */
  externalReference: string;
  amount: number;
  /** What the debtor sees at the checkout (no cédula, no personal data). */
  title: string;
  /** Where the gateway sends its payment notifications. */
  notificationUrl?: string;
  /** Where the debtor's browser returns after paying. */
  backUrl?: string;
}

export interface Checkout {
  /** The gateway's id for the checkout (a Mercado Pago preference id). */
  id: string;
  url: string;
}

/** A payment as the gateway reports it when asked by id. */
export interface ProviderPayment {
  id: string;
  /** Only 'approved' moves money on an installment. */
  status: 'approved' | 'pending' | 'rejected' | 'refunded' | 'cancelled' | 'other';
  /** Whole pesos. */
  amount: number;
  externalReference: string | null;
  /** When it was approved (or created, if not approved). */
  at: Date;
  /** PSE, tarjeta, Efecty… as the gateway names it. */
  method: string | null;
}

/** A webhook delivery as the HTTP layer hands it over. */
export interface WebhookRequest {
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, unknown>;
  body: unknown;
}

export type NotificationCheck =
  /** Authentic and about a payment: look the payment up by this id. */
  | { kind: 'payment'; paymentId: string }
  /** Authentic but about something else (a merchant order, a test ping). */
  | { kind: 'ignored'; reason: string }
  /** Not from the gateway: refuse it, touch nothing. */
  | { kind: 'invalid'; reason: string };

export interface PaymentProvider {
  readonly name: string;
  createCheckout(request: CheckoutRequest): Promise<Checkout>;
  /** Checks the delivery's signature and says what it is about. Never trusts the body for amounts. */
  verifyNotification(request: WebhookRequest): NotificationCheck;
  /** The payment, read from the gateway itself: the only source for marking anything paid. */
  getPayment(id: string): Promise<ProviderPayment>;
}

/** "AC-7QK2M9PX-2" → the agreement reference and the installment number. */
export function parseExternalReference(value: string | null | undefined): { reference: string; installment?: number } | undefined {
  if (!value) return undefined;
  const m = /^(.+?)(?:-(\d{1,3}))?$/.exec(value.trim());
  if (!m?.[1]) return undefined;
  return { reference: m[1], ...(m[2] ? { installment: Number(m[2]) } : {}) };
}

export function externalReference(reference: string, installment: number): string {
  return `${reference}-${installment}`;
}
