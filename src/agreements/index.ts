/**
 * After the agreement: the schedule, payments and their allocation, reminders and
 * broken promises, the paz y salvo and the payment provider port. What the rest of
 * acuerdo may use; everything else in src/agreements is internal.
 */
export { buildSchedule, installmentStatus, nextBusinessDay, AGREEMENT_STATUSES, INSTALLMENT_STATUSES, type AgreementStatus, type InstallmentStatus, type ScheduledInstallment } from './schedule.js';
export { paymentInstructions, renderPaymentChannel, type PaymentDue } from './payment-instructions.js';
export { recordPayment, maskCedula, cancelPendingNotices, type IncomingPayment, type PaymentOutcome, type Allocation } from './payments.js';
export { importPayments, parsePaymentsCsv, parseBankDate, type PaymentImportResult, type BankPaymentRow } from './payments-import.js';
export { noticeContent, queueNotice, NOTICE_KINDS, NOTICE_TEMPLATES, type NoticeKind } from './notices.js';
export {
  declareBroken,
  processBrokenPromises,
  processReminders,
  reprogramAgreement,
  updateInstallmentStatuses,
  type LifecycleDeps,
  type ReprogramPlan,
  type ReprogramResult,
} from './lifecycle.js';
export { renderCertificatePdf, loadCertificate, type CertificateData } from './certificate.js';
export { createLinkSigner, type LinkSigner } from './links.js';
export { externalReference, parseExternalReference, type PaymentProvider, type ProviderPayment, type Checkout, type CheckoutRequest, type NotificationCheck, type WebhookRequest } from './provider.js';
export { createMercadoPagoProvider, type MercadoPagoOptions } from './mercadopago.js';
export { createAgreementsService, newAgreementReference, CERTIFICATE_LINK_TTL_MS, PAYMENT_LINK_TTL_MS, type AgreementsService, type WebhookOutcome } from './service.js';
export { agreementDetail, agreementsOverview, unmatchedPayments } from './reports.js';
