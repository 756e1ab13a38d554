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
  DATABASE_POOL_MAX: positiveInt('a positive whole number of connections').default(10),
  EMBEDDED_PG_PORT: port.optional(),
  DEMO_DATA: bool.default(true),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    message: 'expected one of fatal, error, warn, info, debug, trace, silent',
  }).default('info'),
  LOG_PRETTY: bool.optional(),
  ADMIN_TOKEN: z.string().min(16, { message: 'expected at least 16 characters (a long random secret)' }).optional(),

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
  OPENAI_MAX_RETRIES: z.coerce.number({ message: 'expected 0 to 10' }).int().min(0).max(10, { message: 'expected 0 to 10' }).default(3),
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
