/**
 * Operations: runtime settings, turn statistics, alerts, AI usage, the handoff queue
 * and the admin queries. The HTTP side is src/http/admin (API) and src/http/dashboard.
 */
import type { Clock } from '../core/index.js';
import type { Config } from '../core/index.js';
import type { Logger } from '../log.js';
import type { Knex } from '../store/index.js';
import { AlertMonitor } from './alerts.js';
import { HandoffService } from './handoff.js';
import { PeopleStore } from './people.js';
import { SettingsStore } from './settings.js';
import { TurnStats } from './turn-stats.js';

export { aiUsage, type AiUsage } from './ai-usage.js';
export { CSV_HEADER, csvField, listAgreements, writeAgreementsCsv, type AgreementFilters, type AgreementRow } from './agreements.js';
export { ALERT_KINDS, AlertMonitor, evaluateConditions, listAlerts, type Alert, type AlertKind } from './alerts.js';
export { funnel, getTranscript, listConversations, nluOverview, OFFER_STATES, type ConversationFilters, type FunnelRow } from './conversations.js';
export { HandoffError, HandoffService, type QueueItem } from './handoff.js';
export { observeTurns } from './instrument.js';
export { observeLlmCalls } from './llm-metrics.js';
export { metricsReport, type MetricsReport } from './metrics-report.js';
export {
  defaultSettings,
  runtimeSettingsSchema,
  SEED_TIMEOUTS,
  SettingsStore,
  SettingsValidationError,
  settingsUpdateSchema,
  TIERS,
  tierOfTimeouts,
  type RuntimeSettings,
  type SettingsSnapshot,
  type Tier,
} from './settings.js';
export { TurnStats, type TurnSample, type TurnSource } from './turn-stats.js';

export interface OpsOptions {
  knex: Knex;
  config: Config;
  log: Logger;
  /** The outbox's dispatch, so an agent's reply goes out at once. */
  dispatch?: (outboxIds: number[]) => Promise<void> | void;
  /** The service's clock: every time this writes or compares. */
  clock: Clock;
  /** Timers (tests pass 0 to drive everything by hand). */
  settingsRefreshMs?: number;
  statsFlushMs?: number;
  alertsEveryMs?: number;
}

/** The operations side of one service instance, started and stopped together. */
export interface Ops {
  settings: SettingsStore;
  turnStats: TurnStats;
  alerts: AlertMonitor;
  handoff: HandoffService;
  /** Back-office users, their sessions and API tokens. */
  people: PeopleStore;
  stop(): Promise<void>;
}

/**
 * Loads the runtime settings and starts the background work: settings reload, turn
 * statistics flushing, alert evaluation. Call before building the engine, so the NLU
 * reads its settings from `ops.settings.nlu`.
 */
export async function startOps(options: OpsOptions): Promise<Ops> {
  const { knex, config, log, clock } = options;
  const settings = new SettingsStore({ knex, config, log, clock, refreshMs: options.settingsRefreshMs });
  await settings.start();
  const turnStats = new TurnStats({
    knex,
    log,
    threshold: () => settings.current().nlu.confidence_threshold,
    flushMs: options.statsFlushMs,
    clock,
  });
  turnStats.start();
  const alerts = new AlertMonitor({
    knex,
    log,
    settings: () => settings.current().alerts,
    beforeEvaluate: () => turnStats.flush(),
    everyMs: options.alertsEveryMs,
    clock,
  });
  alerts.start();
  const handoff = new HandoffService({ knex, log, dispatch: options.dispatch, clock });
  const people = new PeopleStore({ knex, clock });
  const firstAdmin = await people.bootstrapAdmin({ email: config.ADMIN_EMAIL, password: config.ADMIN_PASSWORD, name: config.ADMIN_NAME });
  if (firstAdmin) log.info({ userId: firstAdmin.id }, 'first admin user created from ADMIN_EMAIL');
  return {
    settings,
    turnStats,
    alerts,
    handoff,
    people,
    async stop() {
      settings.stop();
      await alerts.stop();
      await turnStats.stop();
    },
  };
}
export { CONVERSATION_STATUSES } from './conversations.js';
export {
  API_TOKEN_PREFIX,
  DEFAULT_AGENCY,
  newUserSchema,
  PASSWORD_MIN_LENGTH,
  PeopleError,
  PeopleStore,
  USER_ROLES,
  type LoginOutcome,
  type NewUser,
  type PeopleOptions,
  type SessionInfo,
  type User,
  type UserRole,
} from './people.js';
export { agentSignature, AUDIT_CSV_HEADER, createAgency, getAgency, listAgencies, listAudit, recordAudit, updateAgency, writeAuditCsv, type Agency, type AuditEntry, type AuditFilters, type AuditRow } from './audit.js';
