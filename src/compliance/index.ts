/**
 * Compliance with Colombian collection law: the contact window (Ley 2300, art. 3), the
 * guard every unprompted outbound message passes, channel revocations and data requests.
 */
/** The Ley 1581 due date is counted in the engine's business days (one calendar for both). */
export { addBusinessDays } from '../core/index.js';
export {
  bogotaDay,
  checkContactWindow,
  checkDebtorWindow,
  colombianHoliday,
  CONTACT_TIME_ZONE,
  formatBogota,
  nextWindowOpening,
  parseBogotaDateTime,
  parseClock,
  startOfNextBogotaDay,
  type ExpressHours,
  type WindowCheck,
  type WindowReason,
} from './contact-window.js';
export {
  contactFacts,
  decideContact,
  earliestAllowed,
  expressHoursFor,
  hasOpenDispute,
  isChannelRevoked,
  type ContactDecision,
  type ContactFacts,
  type ContactKind,
  type DeferReason,
  type OutboundContact,
} from './guard.js';
export { UNPROMPTED_KINDS } from './guard.js';
export { queueUnprompted, recheckBeforeSend, type QueueResult, type SendCheck, type UnpromptedMessage } from './outbound.js';
export { recheckReachableBeforeSend } from './reachable.js';
export {
  DATA_REQUEST_BUSINESS_DAYS,
  detectComplianceRequests,
  recordDataRequest,
  requestRow,
  revokeChannel,
  type ComplianceRequest,
  type RequestSource,
} from './opt-outs.js';
