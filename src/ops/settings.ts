import { z } from 'zod';
import type { Clock, Config } from '../core/index.js';
import type { Logger } from '../log.js';
import type { NluSettings } from '../nlu/index.js';
import type { Knex } from '../store/index.js';

/**
 * Runtime settings an operator changes through `PUT /api/v1/admin/config` without a
 * restart: the NLU threshold and OpenAI switch, conversation timeouts per tier, rate
 * limits and alert thresholds. Defaults come from the environment and the seed
 * system; the overrides live in the settings table and win over them.
 */

const tierTimeoutsSchema = z
  .object({
    timeout_hours: z.number().positive().max(24 * 30).describe('Hours of silence after which the conversation closes'),
    warning_hours: z.number().positive().max(24 * 30).describe('Hours of silence after which the debtor is warned'),
    max_messages: z.int().positive().max(10_000).describe('Messages after which the conversation goes to a person'),
  })
  .refine((t) => t.warning_hours < t.timeout_hours, { message: 'warning_hours must be less than timeout_hours', path: ['warning_hours'] });

export const TIERS = ['default', 'premium', 'vip'] as const;
export type Tier = (typeof TIERS)[number];

export const runtimeSettingsSchema = z.object({
  nlu: z.object({
    confidence_threshold: z.number().min(0).max(1).describe('Below this local-model confidence OpenAI is asked'),
    openai_enabled: z.boolean().describe('Whether the OpenAI fallback is used at all'),
    max_chars: z.int().positive().max(100_000).describe('Longer messages are cut before they are understood'),
  }),
  timeouts: z.object({ default: tierTimeoutsSchema, premium: tierTimeoutsSchema, vip: tierTimeoutsSchema }),
  rate_limits: z.object({
    chat_per_sender_per_minute: z.int().min(0).max(1_000_000).describe('REST chat messages per sender a minute; 0 turns the limit off'),
    admin_per_ip_per_minute: z.int().min(0).max(1_000_000).describe('Admin API requests per IP address a minute; 0 turns the limit off'),
  }),
  alerts: z.object({
    response_time_ms: z.int().positive().describe('Alert when the average turn takes longer'),
    error_rate: z.number().min(0).max(1).describe('Alert when more turns than this share fail'),
    low_confidence_share: z.number().min(0).max(1).describe('Alert when more messages than this share are under the NLU threshold'),
    openai_failures: z.int().positive().describe('Alert when at least this many OpenAI calls fail in the window'),
    window_minutes: z.int().min(1).max(24 * 60).describe('The window the alert conditions look at'),
    min_messages: z.int().min(1).describe('Rates are judged only over at least this many messages'),
  }),
});

export type RuntimeSettings = z.infer<typeof runtimeSettingsSchema>;

/**
 * What `PUT /config` accepts: any subset of the document. A value replaces the stored
 * one; `null` removes the override so the default applies again.
 */
function overridable<T extends z.ZodObject>(schema: T) {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(schema.shape)) {
    shape[key] = field instanceof z.ZodObject ? overridable(field).nullable().optional() : (field as z.ZodType).nullable().optional();
  }
  return z.strictObject(shape);
}

const tierOverride = z
  .strictObject({
    timeout_hours: z.number().positive().max(24 * 30).nullable().optional(),
    warning_hours: z.number().positive().max(24 * 30).nullable().optional(),
    max_messages: z.int().positive().max(10_000).nullable().optional(),
  })
  .nullable()
  .optional();

export const settingsUpdateSchema = z.strictObject({
  nlu: overridable(runtimeSettingsSchema.shape.nlu).nullable().optional(),
  timeouts: z.strictObject({ default: tierOverride, premium: tierOverride, vip: tierOverride }).nullable().optional(),
  rate_limits: overridable(runtimeSettingsSchema.shape.rate_limits).nullable().optional(),
  alerts: overridable(runtimeSettingsSchema.shape.alerts).nullable().optional(),
});

export type SettingsUpdate = z.infer<typeof settingsUpdateSchema>;

/** A nested object of overrides; leaves are the stored values. */
type Overrides = { [key: string]: unknown };

/** The seed system's timeouts per tier. */
export const SEED_TIMEOUTS: RuntimeSettings['timeouts'] = {
  default: { timeout_hours: 12, warning_hours: 10, max_messages: 30 },
  premium: { timeout_hours: 24, warning_hours: 20, max_messages: 50 },
  vip: { timeout_hours: 48, warning_hours: 40, max_messages: 100 },
};

/** The defaults: the environment's values, the seed system's timeouts and alert thresholds. */
export function defaultSettings(config: Config): RuntimeSettings {
  return {
    nlu: {
      confidence_threshold: config.NLU_CONFIDENCE_THRESHOLD,
      openai_enabled: config.OPENAI_ENABLED,
      max_chars: config.NLU_MAX_CHARS,
    },
    timeouts: structuredClone(SEED_TIMEOUTS),
    rate_limits: {
      chat_per_sender_per_minute: config.CHAT_RATE_LIMIT_PER_MINUTE,
      admin_per_ip_per_minute: config.ADMIN_RATE_LIMIT_PER_MINUTE,
    },
    alerts: {
      response_time_ms: 2000,
      error_rate: 0.1,
      low_confidence_share: 0.5,
      openai_failures: 1,
      window_minutes: 15,
      min_messages: 10,
    },
  };
}

function isPlainObject(value: unknown): value is Overrides {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Applies an update to stored overrides: values replace, nulls delete, objects merge. */
export function applyUpdate(overrides: Overrides, update: Overrides): Overrides {
  const out: Overrides = { ...overrides };
  for (const [key, value] of Object.entries(update)) {
    if (value === undefined) continue;
    if (value === null) delete out[key];
    else if (isPlainObject(value)) {
      const merged = applyUpdate(isPlainObject(out[key]) ? out[key] : {}, value);
      if (Object.keys(merged).length) out[key] = merged;
      else delete out[key];
    } else out[key] = value;
  }
  return out;
}

function merge(base: Overrides, overrides: Overrides): Overrides {
  const out: Overrides = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    out[key] = isPlainObject(value) && isPlainObject(base[key]) ? merge(base[key], value) : value;
  }
  return out;
}

/** The settings row that holds the overrides. */
export const SETTINGS_KEY = 'ops.runtime';

export class SettingsValidationError extends Error {
  override name = 'SettingsValidationError';
  constructor(readonly issues: { path: string; message: string }[]) {
    super('invalid settings: ' + issues.map((i) => `${i.path}: ${i.message}`).join('; '));
  }
}

function issuesOf(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
}

export interface SettingsSnapshot {
  /** The settings in force: defaults with the overrides applied. */
  config: RuntimeSettings;
  /** Only what an operator changed. */
  overrides: Overrides;
  updated_at: string | null;
}

export interface SettingsStoreOptions {
  knex: Knex;
  config: Config;
  log: Logger;
  /** How often to pick up changes other instances made; default 5 s. 0 never polls. */
  refreshMs?: number;
  /** The service's clock: when an update was made (updated_at). */
  clock: Clock;
}

/**
 * The runtime settings, held in memory and read synchronously on every use (a
 * getter, never a copy kept by the reader), so that a change applies at once here
 * and within `refreshMs` on every other instance.
 */
export class SettingsStore {
  private snapshot: SettingsSnapshot;
  private timer: NodeJS.Timeout | undefined;
  /** The stored row's revision that `snapshot` reflects. */
  private version: string | null = null;
  private readonly listeners = new Set<(settings: RuntimeSettings) => void>();
  private readonly knex: Knex;
  private readonly log: Logger;
  private readonly defaults: RuntimeSettings;

  constructor(private readonly options: SettingsStoreOptions) {
    this.knex = options.knex;
    this.log = options.log;
    this.defaults = defaultSettings(options.config);
    this.snapshot = { config: this.defaults, overrides: {}, updated_at: null };
  }

  /** Loads the stored overrides and starts polling for changes. */
  async start(): Promise<void> {
    await this.refresh();
    const every = this.options.refreshMs ?? 5000;
    if (every > 0 && !this.timer) {
      this.timer = setInterval(() => {
        this.refresh().catch((err: unknown) => this.log.warn({ err }, 'could not reload the runtime settings'));
      }, every);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The settings in force now. */
  current(): RuntimeSettings {
    return this.snapshot.config;
  }

  snapshotNow(): SettingsSnapshot {
    return this.snapshot;
  }

  /** The NLU's view, for createUnderstander's `settings` getter. */
  nlu(): NluSettings {
    const { nlu } = this.snapshot.config;
    return { confidenceThreshold: nlu.confidence_threshold, openaiEnabled: nlu.openai_enabled, maxChars: nlu.max_chars };
  }

  /** Calls `listener` whenever the settings in force change (here or, after a refresh, elsewhere). */
  onChange(listener: (settings: RuntimeSettings) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Re-reads the stored overrides. */
  async refresh(): Promise<SettingsSnapshot> {
    const row = (await this.knex('settings')
      .where({ key: SETTINGS_KEY })
      .first('value', 'updated_at', this.knex.raw('revision::text as version'))) as { value: Overrides; updated_at: Date; version: string } | undefined;
    // The revision counts updates: every change is told apart, however close in time.
    const version = row?.version ?? null;
    if (version === this.version) return this.snapshot;
    this.version = version;
    const updatedAt = row ? row.updated_at.toISOString() : null;
    const overrides = row?.value ?? {};
    const parsed = runtimeSettingsSchema.safeParse(merge(this.defaults, overrides));
    if (!parsed.success) {
      // Written by an older version or by hand: keep the defaults rather than refuse to run.
      this.log.error({ issues: issuesOf(parsed.error) }, 'the stored runtime settings are invalid; using the defaults');
      this.install({ config: this.defaults, overrides, updated_at: updatedAt });
    } else {
      this.install({ config: parsed.data, overrides, updated_at: updatedAt });
    }
    return this.snapshot;
  }

  /**
   * Validates and stores an update (see settingsUpdateSchema) and applies it at once.
   * Throws SettingsValidationError naming each wrong field.
   */
  async update(body: unknown): Promise<SettingsSnapshot> {
    const update = settingsUpdateSchema.safeParse(body);
    if (!update.success) throw new SettingsValidationError(issuesOf(update.error));
    const { snapshot, version } = await this.knex.transaction(async (trx) => {
      // Serializes concurrent updates, here and on other instances.
      await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [SETTINGS_KEY]);
      const row = (await trx('settings').where({ key: SETTINGS_KEY }).first('value')) as { value: Overrides } | undefined;
      const overrides = applyUpdate(row?.value ?? {}, update.data as Overrides);
      const parsed = runtimeSettingsSchema.safeParse(merge(this.defaults, overrides));
      if (!parsed.success) throw new SettingsValidationError(issuesOf(parsed.error));
      // Under the lock: the revision follows the order of updates; updated_at is the clock's.
      const [saved] = (await trx('settings')
        .insert({ key: SETTINGS_KEY, value: JSON.stringify(overrides), updated_at: this.options.clock.now(), revision: 1 })
        .onConflict('key')
        .merge({ value: trx.raw('excluded.value'), updated_at: trx.raw('excluded.updated_at'), revision: trx.raw('settings.revision + 1') })
        .returning(['updated_at', trx.raw('revision::text as version')])) as { updated_at: Date; version: string }[];
      return { snapshot: { config: parsed.data, overrides, updated_at: saved!.updated_at.toISOString() }, version: saved!.version };
    });
    this.version = version;
    this.install(snapshot);
    this.log.info({ overrides: snapshot.overrides }, 'runtime settings changed');
    return snapshot;
  }

  private install(snapshot: SettingsSnapshot): void {
    const changed = JSON.stringify(snapshot.config) !== JSON.stringify(this.snapshot.config);
    this.snapshot = snapshot;
    if (!changed) return;
    for (const listener of this.listeners) {
      try {
        listener(snapshot.config);
      } catch (err) {
        this.log.warn({ err }, 'a settings listener failed');
      }
    }
  }
}

/** A conversation's tier limits; an unknown tier gets the default tier's. */
export function tierOfTimeouts(timeouts: RuntimeSettings['timeouts'], tier: string | null | undefined): RuntimeSettings['timeouts']['default'] {
  return (TIERS as readonly string[]).includes(tier ?? '') ? timeouts[tier as Tier] : timeouts.default;
}
