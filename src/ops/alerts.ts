import type { Clock } from '../core/index.js';
import type { Logger } from '../log.js';
import { alertsOpen } from '../metrics.js';
import type { Knex } from '../store/index.js';
import { round, turnTotals } from './metrics-report.js';
import type { RuntimeSettings } from './settings.js';
import { minuteOf } from './turn-stats.js';

/** The seed system's alerts. */
export const ALERT_KINDS = ['response_time', 'error_rate', 'low_confidence', 'openai_failures'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export interface Alert {
  id: number;
  kind: AlertKind;
  severity: 'warning' | 'critical';
  message: string;
  value: number;
  threshold: number;
  details: Record<string, unknown>;
  raised_at: string;
  last_seen_at: string;
  resolved_at: string | null;
}

/** What one evaluation found for one kind: firing or not, with the figures. */
export interface AlertCondition {
  kind: AlertKind;
  firing: boolean;
  value: number;
  threshold: number;
  message: string;
  details: Record<string, unknown>;
}

const pct = (n: number) => `${(n * 100).toFixed(1)}%`;

/** Judges the four conditions over the last `window_minutes`, from turn_stats and llm_calls. */
export async function evaluateConditions(knex: Knex, settings: RuntimeSettings['alerts'], now: Date): Promise<AlertCondition[]> {
  const from = new Date(now.getTime() - settings.window_minutes * 60_000);
  // Minute buckets: include the one `from` falls in, and the current one.
  const window = { from: minuteOf(from), to: new Date(now.getTime() + 60_000) };
  const t = await turnTotals(knex, window);
  const [ai] = (await knex('llm_calls')
    .where('created_at', '>=', from)
    .where('created_at', '<=', now)
    .select(knex.raw('count(*)::int as calls'), knex.raw(`count(*) filter (where status <> 'ok')::int as failed`))) as {
    calls: number;
    failed: number;
  }[];
  const failedCalls = ai?.failed ?? 0;
  const minutes = settings.window_minutes;
  const avg = t.turns ? t.latency_ms_sum / t.turns : 0;
  const errorRate = t.turns ? t.errors / t.turns : 0;
  const lowShare = t.understood ? t.low_confidence / t.understood : 0;
  return [
    {
      kind: 'response_time',
      firing: t.turns > 0 && avg > settings.response_time_ms,
      value: Math.round(avg),
      threshold: settings.response_time_ms,
      message: `Average response time ${Math.round(avg)} ms over the last ${minutes} min (threshold ${settings.response_time_ms} ms, ${t.turns} messages)`,
      details: { messages: t.turns, max_ms: t.latency_ms_max, window_minutes: minutes },
    },
    {
      kind: 'error_rate',
      firing: t.turns >= settings.min_messages && errorRate > settings.error_rate,
      value: round(errorRate, 4),
      threshold: settings.error_rate,
      message: `Error rate ${pct(errorRate)} over the last ${minutes} min (threshold ${pct(settings.error_rate)}, ${t.errors} of ${t.turns} messages)`,
      details: { messages: t.turns, errors: t.errors, window_minutes: minutes },
    },
    {
      kind: 'low_confidence',
      firing: t.understood >= settings.min_messages && lowShare > settings.low_confidence_share,
      value: round(lowShare, 4),
      threshold: settings.low_confidence_share,
      message: `${pct(lowShare)} of messages under the NLU confidence threshold over the last ${minutes} min (threshold ${pct(settings.low_confidence_share)}, ${t.low_confidence} of ${t.understood})`,
      details: { messages: t.understood, low_confidence: t.low_confidence, window_minutes: minutes },
    },
    {
      kind: 'openai_failures',
      firing: failedCalls >= settings.openai_failures,
      value: failedCalls,
      threshold: settings.openai_failures,
      message: `${failedCalls} failed OpenAI call(s) over the last ${minutes} min (threshold ${settings.openai_failures}, ${ai?.calls ?? 0} calls)`,
      details: { calls: ai?.calls ?? 0, failed: failedCalls, window_minutes: minutes },
    },
  ];
}

type AlertRow = Omit<Alert, 'raised_at' | 'last_seen_at' | 'resolved_at'> & { raised_at: Date; last_seen_at: Date; resolved_at: Date | null };

function toAlert(r: AlertRow): Alert {
  return {
    ...r,
    raised_at: r.raised_at.toISOString(),
    last_seen_at: r.last_seen_at.toISOString(),
    resolved_at: r.resolved_at ? r.resolved_at.toISOString() : null,
  };
}

export interface AlertMonitorOptions {
  knex: Knex;
  log: Logger;
  settings: () => RuntimeSettings['alerts'];
  /** Called before each evaluation, e.g. to flush this instance's turn counts. */
  beforeEvaluate?: () => Promise<void>;
  /** How often to evaluate; default 60 s. 0: only when evaluate() is called. */
  everyMs?: number;
  /** The service's clock: every time this writes or compares. */
  clock: Clock;
}

const LOCK_KEY = 'acuerdo.alerts';

/**
 * Evaluates the alert conditions on a timer. A condition that starts firing raises
 * an alert (a row and a warning in the log); while it lasts the row is updated; when
 * it clears the alert is resolved. With several instances one evaluates per tick.
 */
export class AlertMonitor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private readonly now: () => Date;

  constructor(private readonly options: AlertMonitorOptions) {
    this.now = () => options.clock.now();
  }

  start(): void {
    const every = this.options.everyMs ?? 60_000;
    if (every <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      this.evaluate().catch((err: unknown) => this.options.log.warn({ err }, 'alert evaluation failed'));
    }, every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running.catch(() => undefined);
  }

  /** Evaluates once; returns the alerts raised or resolved by this evaluation. */
  evaluate(): Promise<{ raised: Alert[]; resolved: Alert[] }> {
    const run = this.running.catch(() => undefined).then(() => this.evaluateNow());
    this.running = run;
    return run;
  }

  private async evaluateNow(): Promise<{ raised: Alert[]; resolved: Alert[] }> {
    const { knex, log } = this.options;
    await this.options.beforeEvaluate?.();
    const now = this.now();
    const conditions = await evaluateConditions(knex, this.options.settings(), now);
    const outcome = await knex.transaction(async (trx) => {
      const raised: Alert[] = [];
      const resolved: Alert[] = [];
      const [{ locked } = { locked: false }] = (await trx.raw('select pg_try_advisory_xact_lock(hashtext(?)) as locked', [LOCK_KEY])).rows as {
        locked: boolean;
      }[];
      if (!locked) return { raised, resolved };
      for (const c of conditions) {
        const open = (await trx('alerts').where({ kind: c.kind }).whereNull('resolved_at').first('id')) as { id: number } | undefined;
        if (c.firing) {
          const severity = c.value >= 2 * c.threshold ? 'critical' : 'warning';
          if (open) {
            await trx('alerts')
              .where({ id: open.id })
              .update({ value: c.value, message: c.message, details: JSON.stringify(c.details), severity, last_seen_at: now });
          } else {
            const [row] = (await trx('alerts')
              .insert({
                kind: c.kind,
                severity,
                message: c.message,
                value: c.value,
                threshold: c.threshold,
                details: JSON.stringify(c.details),
                raised_at: now,
                last_seen_at: now,
              })
              .returning('*')) as AlertRow[];
            raised.push(toAlert(row!));
          }
        } else if (open) {
          const [row] = (await trx('alerts').where({ id: open.id }).update({ resolved_at: now }).returning('*')) as AlertRow[];
          resolved.push(toAlert(row!));
        }
      }
      return { raised, resolved };
    });
    for (const a of outcome.raised) log.warn({ alert: a.kind, value: a.value, threshold: a.threshold, severity: a.severity }, `ALERT ${a.message}`);
    for (const a of outcome.resolved) log.info({ alert: a.kind }, `alert resolved: ${a.kind}`);
    for (const c of conditions) alertsOpen.set({ kind: c.kind }, c.firing ? 1 : 0);
    return outcome;
  }
}

/** Alerts, newest first: the open ones, the resolved ones, or all. */
export async function listAlerts(knex: Knex, options: { status: 'open' | 'resolved' | 'all'; limit: number }): Promise<Alert[]> {
  const q = knex('alerts').orderBy('raised_at', 'desc').orderBy('id', 'desc').limit(options.limit);
  if (options.status === 'open') q.whereNull('resolved_at');
  if (options.status === 'resolved') q.whereNotNull('resolved_at');
  return ((await q.select('*')) as AlertRow[]).map(toAlert);
}
