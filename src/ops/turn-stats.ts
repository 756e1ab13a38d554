import type { Clock } from '../core/index.js';
import type { Logger } from '../log.js';
import type { Knex } from '../store/index.js';

/** Which layer understood a turn; 'none' when nothing was understood (a button, media, a failure). */
export type TurnSource = 'cedula' | 'model' | 'openai' | 'rules' | 'none';

/** One handled inbound message, as the metrics and alerts count it. */
export interface TurnSample {
  channel: string;
  latencyMs: number;
  ok: boolean;
  source: TurnSource;
  /** The NLU confidence, when text was understood. */
  confidence?: number;
  /** When the turn ended; defaults to the stats' clock. */
  at?: Date;
}

interface Bucket {
  minute: Date;
  channel: string;
  source: TurnSource;
  turns: number;
  errors: number;
  lowConfidence: number;
  latencySum: number;
  latencyMax: number;
}

export interface TurnStatsOptions {
  knex: Knex;
  log: Logger;
  /** The NLU threshold in force (read on every sample, so a change applies at once). */
  threshold: () => number;
  /** How often counts are added to the turn_stats table; default 10 s. 0: only on flush(). */
  flushMs?: number;
  /** The service's clock: every time this writes or compares. */
  clock: Clock;
}

/** The start of the minute `at` falls in: turn_stats rows are per minute. */
export function minuteOf(at: Date): Date {
  return new Date(Math.floor(at.getTime() / 60_000) * 60_000);
}

/**
 * Counts turns per minute, channel and NLU source in memory and adds the counts to
 * the turn_stats table in the background, so the hot path never waits on a write and
 * every instance's turns land in one place for the metrics JSON and the alerts.
 */
export class TurnStats {
  private pending = new Map<string, Bucket>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private readonly now: () => Date;

  constructor(private readonly options: TurnStatsOptions) {
    this.now = () => options.clock.now();
  }

  record(sample: TurnSample): void {
    const latency = Math.max(0, Math.round(sample.latencyMs));
    const low = sample.source !== 'none' && sample.source !== 'cedula' && sample.confidence !== undefined && sample.confidence < this.options.threshold();
    this.add({
      minute: minuteOf(sample.at ?? this.now()),
      channel: sample.channel,
      source: sample.source,
      turns: 1,
      errors: sample.ok ? 0 : 1,
      lowConfidence: low ? 1 : 0,
      latencySum: latency,
      latencyMax: latency,
    });
  }

  /** Adds a bucket's counts to the pending one of its minute, channel and source. */
  private add(b: Bucket): void {
    const key = `${b.minute.getTime()}|${b.channel}|${b.source}`;
    const kept = this.pending.get(key);
    if (!kept) {
      this.pending.set(key, b);
      return;
    }
    kept.turns += b.turns;
    kept.errors += b.errors;
    kept.lowConfidence += b.lowConfidence;
    kept.latencySum += b.latencySum;
    kept.latencyMax = Math.max(kept.latencyMax, b.latencyMax);
  }

  start(): void {
    const every = this.options.flushMs ?? 10_000;
    if (every <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.flush(), every);
    this.timer.unref();
  }

  /** Stops the timer and writes what is still pending. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Adds the pending counts to the table. Counts that fail to write are kept for the next flush. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writePending());
    return this.flushing;
  }

  private async writePending(): Promise<void> {
    if (this.pending.size === 0) return;
    const buckets = [...this.pending.values()];
    this.pending = new Map();
    try {
      await this.options
        .knex('turn_stats')
        .insert(
          buckets.map((b) => ({
            minute: b.minute,
            channel: b.channel,
            source: b.source,
            turns: b.turns,
            errors: b.errors,
            low_confidence: b.lowConfidence,
            latency_ms_sum: b.latencySum,
            latency_ms_max: b.latencyMax,
          })),
        )
        .onConflict(['minute', 'channel', 'source'])
        .merge({
          turns: this.options.knex.raw('turn_stats.turns + excluded.turns'),
          errors: this.options.knex.raw('turn_stats.errors + excluded.errors'),
          low_confidence: this.options.knex.raw('turn_stats.low_confidence + excluded.low_confidence'),
          latency_ms_sum: this.options.knex.raw('turn_stats.latency_ms_sum + excluded.latency_ms_sum'),
          latency_ms_max: this.options.knex.raw('greatest(turn_stats.latency_ms_max, excluded.latency_ms_max)'),
        });
    } catch (err) {
      this.options.log.warn({ err, buckets: buckets.length }, 'could not write turn statistics; keeping them for the next flush');
      for (const b of buckets) this.add(b);
    }
  }
}
