/**
 * The engine's public surface: what the service, the scheduler, the
 * admin API and the CLI may use. Everything else in src/engine is internal.
 * (The CLI commands are in ./cli.ts, imported by src/cli/main.ts only.)
 */
export { matchButton } from './buttons.js';
export { createEngine, publicContext, type Engine, type EngineOptions, type EngineTurnResult } from './engine.js';
export {
  applyDeliveryStatus,
  backoffDelay,
  createOutbox,
  DEFAULT_BACKOFF,
  enqueueReplies,
  UNPROMPTED_KINDS,
  type BackoffOptions,
  type Outbox,
  type OutboxOptions,
  type OutboxRow,
  type SendDecision,
} from './outbox.js';
export { createChatConversations, type ChatConversations, type ConversationRef, type ReplayedTurn } from './chat-conversations.js';
export { loadTranscript, lockChannelUser, type ConversationRow, type ConversationStatus, type Transcript } from './conversations.js';
export { computeOffers, evaluateCounteroffer, makePlan, type DebtorFigures, type Offers, type Plan, type Proposal, type Verdict } from './offers.js';

export type { Effect } from './effects.js';
export type { DocumentQuestion, KnowledgePort } from './knowledge-port.js';
export {
  formatFlowTestReport,
  loadFlowTestFixtures,
  loadFlowTests,
  runFlowTestCase,
  runFlowTestFiles,
  type CaseResult,
  type FlowTestDeps,
  type FlowTestFile,
} from './flow-tests.js';
export { MAX_FAILED_ATTEMPTS, LOCKOUT_WINDOW_MS, normalizeMobile, warnUnverifiedPortfolios, type IdentityState } from './identity.js';
