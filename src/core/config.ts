import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const port = z.coerce
  .number({ message: 'expected a TCP port number (1-65535)' })
  .int({ message: 'expected a TCP port number (1-65535)' })
  .min(1, { message: 'expected a TCP port number (1-65535)' })
  .max(65535, { message: 'expected a TCP port number (1-65535)' });

const positiveInt = (what: string) =>
  z.coerce.number({ message: `expected ${what}` }).int({ message: `expected ${what}` }).positive({ message: `expected ${what}` });

/**
 * Every environment variable acuerdo reads, with its default. .env.example documents
 * each one; a test keeps the two in step.
 */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test'], { message: 'expected development, production or test' }).default('development'),
  PORT: z.coerce
    .number({ message: 'expected a TCP port number (0-65535; 0 picks a free one)' })
    .int({ message: 'expected a TCP port number (0-65535; 0 picks a free one)' })
    .min(0, { message: 'expected a TCP port number (0-65535; 0 picks a free one)' })
    .max(65535, { message: 'expected a TCP port number (0-65535; 0 picks a free one)' })
    .default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  PUBLIC_URL: z.url({ message: 'expected an absolute URL such as https://bot.example.com' }).optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, { message: 'expected a postgres:// or postgresql:// connection URL' })
    .optional(),
  /**
   * Connections in the turn's pool. Default: two per CPU, at least 4 — measured with
   * `npm run bench` on two cores, 4 connections carried more turns than 10 (fewer
   * backends competing for the same cores); docs/scaling.md has the connection budget.
   */
  DATABASE_POOL_MAX: positiveInt('a positive whole number of connections').default(() => Math.max(4, 2 * os.availableParallelism())),
  EMBEDDED_PG_PORT: port.optional(),
  DEMO_DATA: bool.default(true),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    message: 'expected one of fatal, error, warn, info, debug, trace, silent',
  }).default('info'),
  LOG_PRETTY: bool.optional(),
  ADMIN_TOKEN: z.string().min(16, { message: 'expected at least 16 characters (a long random secret)' }).optional(),
  METRICS_TOKEN: z.string().min(16, { message: 'expected at least 16 characters (a long random secret)' }).optional(),
  /** The first admin user, created at start-up when there is no user yet (then these are ignored). */
  ADMIN_EMAIL: z.email({ message: 'expected an e-mail address' }).optional(),
  ADMIN_PASSWORD: z.string().min(10, { message: 'expected at least 10 characters' }).optional(),
  ADMIN_NAME: z.string().min(1).max(120).default('Administrador'),
  CHAT_RATE_LIMIT_PER_MINUTE: z.coerce.number({ message: 'expected a whole number of messages (0 turns the limit off)' }).int().min(0).default(60),
  ADMIN_RATE_LIMIT_PER_MINUTE: z.coerce.number({ message: 'expected a whole number of requests (0 turns the limit off)' }).int().min(0).default(600),
  /**
   * Backpressure: requests (other than GET) one process works on at once; past it the
   * REST chat API and the webhooks answer 503 with Retry-After at once instead of
   * queueing (docs/scaling.md). 0 turns the bound off. Default: 8 per CPU — measured with
   * `npm run bench`, throughput peaks well below that, and more in flight only waits.
   */
  HTTP_MAX_IN_FLIGHT: z.coerce.number({ message: 'expected a whole number of requests (0 turns the bound off)' }).int().min(0).default(() => 8 * os.availableParallelism()),
  /**
   * Backpressure in time: when requests' mean latency passes this many milliseconds, only
   * as many are let in as finish within it (throughput × target); 0 turns it off.
   */
  HTTP_QUEUE_TARGET_MS: z.coerce.number({ message: 'expected milliseconds (0 turns the target off)' }).int().min(0).default(250),

  // Understanding
  NLU_CONFIDENCE_THRESHOLD: z.coerce
    .number({ message: 'expected a number between 0 and 1' })
    .min(0, { message: 'expected a number between 0 and 1' })
    .max(1, { message: 'expected a number between 0 and 1' })
    .default(0.6),
  NLU_MAX_CHARS: positiveInt('a positive whole number of characters').default(2000),
  OPENAI_ENABLED: bool.default(true),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_MODEL: z.string().min(1).default('gpt-4o-mini'),
  OPENAI_BASE_URL: z.url({ message: 'expected an absolute URL such as https://api.openai.com/v1' }).optional(),
  OPENAI_TIMEOUT_MS: positiveInt('a timeout in milliseconds').default(8000),
  /** The whole OpenAI fallback of one turn (every attempt, backoff and Retry-After wait) fits in this. */
  OPENAI_BUDGET_MS: positiveInt('a budget in milliseconds').default(3000),
  OPENAI_MAX_RETRIES: z.coerce.number({ message: 'expected 0 to 10' }).int().min(0).max(10, { message: 'expected 0 to 10' }).default(3),
  /** The embedding model of the agency's documents (src/knowledge); changing it re-embeds every chunk once. */
  OPENAI_EMBEDDING_MODEL: z.string().min(1).default('text-embedding-3-small'),

  // Conversation engine (docs/flows.md)
  FLOWS_DIR: z.string().min(1).default('./flows'),
  /**
   * Which turns wait for PostgreSQL to flush them to disk: 'all' (default, nothing a
   * debtor wrote is lost even if the database server crashes) or 'effects' (only turns
   * that record an agreement, opt-out, data request, dispute, handoff or close; more
   * throughput, but a database crash may lose the last fraction of a second of chat).
   */
  TURN_DURABILITY: z.enum(['all', 'effects'], { message: 'expected all or effects' }).default('all'),
  /**
   * Live conversations each process keeps in memory, so a turn need not read its
   * conversation first (0: none). About 2 KB each (docs/scaling.md).
   */
  TURN_CACHE_SIZE: z.coerce.number({ message: 'expected a whole number of conversations (0: none)' }).int().min(0).default(5000),
  OUTBOX_POLL_MS: positiveInt('a positive number of milliseconds').default(1000),

  // WhatsApp Web (a linked phone, through whatsapp-web.js and Chromium)
  WHATSAPP_WEB_ENABLED: bool.default(false),
  CHROMIUM_PATH: z.string().min(1).default('/usr/bin/chromium'),
  WHATSAPP_WEB_TYPING_MS_PER_CHAR: z.coerce.number({ message: 'expected milliseconds (0 or more)' }).int().min(0, { message: 'expected milliseconds (0 or more)' }).default(40),
  WHATSAPP_WEB_TYPING_MAX_MS: z.coerce.number({ message: 'expected milliseconds (0 or more)' }).int().min(0, { message: 'expected milliseconds (0 or more)' }).default(6000),
  WHATSAPP_WEB_MAX_PER_MINUTE: positiveInt('a positive whole number of messages').default(12),

  // WhatsApp Business Cloud API (official)
  WHATSAPP_CLOUD_ENABLED: bool.default(false),
  WHATSAPP_CLOUD_TOKEN: z.string().min(1).optional(),
  WHATSAPP_CLOUD_PHONE_NUMBER_ID: z.string().regex(/^\d+$/, { message: 'expected the numeric phone number id from the Meta app' }).optional(),
  WHATSAPP_CLOUD_VERIFY_TOKEN: z.string().min(1).optional(),
  WHATSAPP_CLOUD_APP_SECRET: z.string().min(1).optional(),
  WHATSAPP_CLOUD_API_VERSION: z.string().regex(/^v\d+\.\d+$/, { message: 'expected a Graph API version such as v21.0' }).default('v21.0'),
  WHATSAPP_CLOUD_BASE_URL: z.url({ message: 'expected an absolute URL such as https://graph.facebook.com' }).default('https://graph.facebook.com'),

  // Telegram (telegraf). The token alone means long polling; a webhook URL and secret mean webhook mode.
  TELEGRAM_BOT_TOKEN: z.string().regex(/^\d+:[\w-]{20,}$/, { message: 'expected the token BotFather gave, such as 123456789:AAH...' }).optional(),
  TELEGRAM_WEBHOOK_URL: z.url({ message: 'expected the public https URL of POST /telegram/webhook' }).optional(),
  TELEGRAM_WEBHOOK_SECRET: z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, { message: 'expected 16-256 characters of A-Z, a-z, 0-9, _ and -' }).optional(),
  TELEGRAM_API_ROOT: z.url({ message: 'expected an absolute URL such as https://api.telegram.org' }).default('https://api.telegram.org'),

  // Microsoft Bot Framework (Teams, Web Chat, Emulator). Azure's own variable names.
  BOTFRAMEWORK_ENABLED: bool.default(false),
  MicrosoftAppId: z.string().min(1).optional(),
  MicrosoftAppPassword: z.string().min(1).optional(),
  // Azure creates new bots single-tenant since July 2025; older multi-tenant bots set MultiTenant.
  MicrosoftAppType: z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI'], { message: 'expected MultiTenant, SingleTenant or UserAssignedMSI' }).default('SingleTenant'),
  MicrosoftAppTenantId: z.string().min(1).optional(),
  // The OpenID metadata the channel's tokens are checked against (Azure's own setting; default: the public cloud's).
  BotOpenIdMetadata: z.url().optional(),

  // Web chat widget (/widget.js, WebSocket at /webchat/v1/socket; README.md, docs/webchat.md)
  WEBCHAT_ENABLED: bool.default(true),
  WEBCHAT_SECRET: z.string().min(32, { message: 'expected at least 32 characters (a long random secret)' }).optional(),
  WEBCHAT_ALLOWED_ORIGINS: z
    .string()
    .regex(/^\s*(\*|https?:\/\/[^\s,]+(\s*,\s*https?:\/\/[^\s,]+)*)\s*$/, { message: 'expected * or a comma-separated list of origins such as https://www.agencia.com.co' })
    .optional(),
  WEBCHAT_MAX_MESSAGE_CHARS: positiveInt('a positive whole number of characters').default(1000),
  WEBCHAT_RATE_PER_MINUTE: positiveInt('a positive whole number of messages').default(20),
  WEBCHAT_DEMO_PAGE: bool.default(true),

  // Lifecycle, scheduled jobs, campaigns and the contact rules (docs/operations.md)
  SCHEDULER_ENABLED: bool.default(true),
  CONVERSATION_ARCHIVE_DAYS: positiveInt('a positive whole number of days').default(30),
  LLM_AUDIT_RETENTION_DAYS: positiveInt('a positive whole number of days').default(90),
  LOG_RETENTION_DAYS: positiveInt('a positive whole number of days').default(30),
  CONTACT_LOG_RETENTION_DAYS: positiveInt('a positive whole number of days').default(730),
  CAMPAIGN_RATE_WHATSAPP_CLOUD: positiveInt('a positive whole number of messages a minute').default(60),
  CAMPAIGN_RATE_WHATSAPP_WEB: positiveInt('a positive whole number of messages a minute').default(4),
  CAMPAIGN_RATE_TELEGRAM: positiveInt('a positive whole number of messages a minute').default(20),
  CAMPAIGN_TEMPLATE_LANGUAGE: z.string().regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, { message: 'expected a WhatsApp template language code such as es_CO or es' }).default('es_CO'),

  // After the agreement: payments, reminders, paz y salvo (README "Después del acuerdo")
  AGENCY_NAME: z.string().min(1).default('Agencia de cobranza'),
  /** Signs the debtor's links (paz y salvo, payment page). Unset: a per-process secret (links die with the process). */
  LINK_SIGNING_SECRET: z.string().min(32, { message: 'expected at least 32 characters (a long random secret)' }).optional(),
  MERCADOPAGO_ACCESS_TOKEN: z.string().min(1).optional(),
  MERCADOPAGO_WEBHOOK_SECRET: z.string().min(1).optional(),
});

export type Config = z.infer<typeof envSchema> & { dataDir: string };

/** Treats empty strings as unset, the way people leave lines in a .env file. */
function withoutBlanks(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v.trim() !== '') out[k] = v.trim();
  return out;
}

/**
 * Reads and validates the configuration. Throws ConfigError naming every wrong
 * variable and what it expects.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(withoutBlanks(env));
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '(environment)'),
        expected: issue.message,
      })),
    );
  }
  return { ...parsed.data, dataDir: path.resolve(parsed.data.DATA_DIR) };
}
