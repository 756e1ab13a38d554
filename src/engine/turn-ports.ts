/**
 * The ports a turn's actions read through (find the debtor, its policy, its agreement,
 * what the channel proves about the sender…), bound to the turn's session: inside the
 * locked transaction, or outside any on the optimistic paths. Reads only.
 */
import { randomBytes } from 'node:crypto';
import { bogotaDate, type Clock, type InboundMessage } from '../core/index.js';
import type { Policy, PolicySet } from '../flows/index.js';
import type { ActionPorts } from './action-ports.js';
import { findActiveAgreement } from './agreement-memory.js';
import { channelContactPhone, findDebtorById, findDebtorsByCedula, portfolioPolicyRow, recentIdentityFailures, type TurnSession } from './conversations.js';
import { LOCKOUT_WINDOW_MS, normalizeMobile } from './identity.js';

const POLICY_CACHE_MS = 30_000;
const REFERENCE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** An agreement's reference: AC- and six characters that cannot be mistaken for each other. */
function newReference(): string {
  const bytes = randomBytes(6);
  let out = 'AC-';
  for (const b of bytes) out += REFERENCE_ALPHABET[b % REFERENCE_ALPHABET.length];
  return out;
}

/** A contact card the sender shared of themselves, proved by the platform (Telegram's request_contact). */
export function ownContact(message: InboundMessage): boolean {
  return message.channel === 'telegram' && message.contact?.userId !== undefined && message.contact.userId === message.from;
}

/**
 * The phone a channel's platform proves for the sender (Ley 2300 art. 4: it may stand
 * for the second identity fact). WhatsApp: the number the message came from. Telegram:
 * a contact card whose owner is the sender (this message, or remembered from an
 * earlier one). The web widget, the REST API and Bot Framework prove nothing.
 */
function provedPhone(session: TurnSession, message: InboundMessage): () => Promise<string | undefined> {
  let memo: Promise<string | undefined> | undefined;
  return () =>
    (memo ??= (async () => {
      if (message.channel === 'whatsapp-cloud' || message.channel === 'whatsapp-web') {
        return normalizeMobile(message.verifiedPhone ?? (/^\d{10,15}$/.test(message.from) ? message.from : undefined));
      }
      if (message.channel !== 'telegram') return undefined;
      if (ownContact(message)) return normalizeMobile(message.contact?.phone);
      return normalizeMobile(await channelContactPhone(session, message.channel, message.from));
    })());
}

export interface TurnPortsOptions {
  policies: PolicySet;
  clock: Clock;
  agreementLinks?: { payment(reference: string): string | undefined; certificate(code: string): string | undefined };
}

export type TurnPorts = (session: TurnSession, message: InboundMessage, now: Date) => ActionPorts;

/** Builds the ports for each turn; policies are cached per portfolio for half a minute, by the clock. */
export function createTurnPorts(options: TurnPortsOptions): TurnPorts {
  const { policies, clock } = options;
  const policyCache = new Map<number, { policy: Policy; until: number }>();
  return (session, message, now) => ({
    identity: {
      channel: message.channel,
      channelPhone: provedPhone(session, message),
      sharedContact: message.contact ? (ownContact(message) ? 'own' : 'other') : undefined,
      recentFailures: (debtorIds) => recentIdentityFailures(session, debtorIds, message.channel, message.from, new Date(now.getTime() - LOCKOUT_WINDOW_MS)),
    },
    findDebtors: (cedula) => findDebtorsByCedula(session, cedula),
    activeAgreement: (debtorId) => findActiveAgreement(session, debtorId),
    paymentLink: (reference) => options.agreementLinks?.payment(reference),
    async paidAgreement(debtorId) {
      const [row] = await session.query<{ reference: string; code: string }>(
        `select a.reference, c.code from agreements a join paz_y_salvo c on c.agreement_id = a.id
          where a.debtor_id = $1 and a.status = 'cumplido' and c.revoked_at is null order by a.id desc limit 1`,
        [debtorId]
      );
      if (!row) return undefined;
      const link = options.agreementLinks?.certificate(row.code);
      return { reference: row.reference, code: row.code, ...(link ? { link } : {}) };
    },
    debtorById: (id) => findDebtorById(session, id),
    async policyFor(portfolioId) {
      if (portfolioId === null) return policies.defaultPolicy;
      const cached = policyCache.get(portfolioId);
      if (cached && cached.until > clock.now().getTime()) return cached.policy;
      const row = await portfolioPolicyRow(session, portfolioId);
      const policy = policies.forPortfolio(row?.name, row?.policy);
      policyCache.set(portfolioId, { policy, until: clock.now().getTime() + POLICY_CACHE_MS });
      return policy;
    },
    today: () => bogotaDate(clock.now()),
    newReference,
  });
}
