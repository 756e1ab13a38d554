import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * Numbers that could be a cédula, a phone or an account: six digits or more bare,
 * or grouped in thousands (93.388.915, 1'023.456.789), or a phone written in parts
 * (300 123 4567), with an optional +57. Digits inside identifiers (UUIDs), IP
 * addresses and timestamps are left alone.
 */
const PERSONAL_NUMBER =
  /(?<![\w-])(?<!\d[.,:])(?:\+?57[ -]?)?(?:3\d{2}[ -]\d{3}[ -]?\d{4}|60\d[ -]\d{3}[ -]?\d{4}|\d{6,}|\d{1,3}(?:[.,'’ ]\d{3}){1,3})(?![\w-]|[.,:]\d)/g;

/** Masks every personal number in a text, keeping its last two digits. */
export function maskPersonalData(text: string): string {
  return text.replace(PERSONAL_NUMBER, (match) => {
    const digits = match.replace(/\D/g, '');
    if (digits.length < 6) return match;
    return '*'.repeat(Math.max(digits.length - 2, 4)) + digits.slice(-2);
  });
}

export interface LoggerOptions {
  level?: string;
  /** Human-readable lines; defaults to true when stdout is a terminal. */
  pretty?: boolean;
  /** Where lines go; defaults to stdout. Tests pass a collecting stream. */
  destination?: NodeJS.WritableStream;
}

/**
 * The service's logger: JSON lines (pretty on a terminal), with cédulas and phone
 * numbers masked in every line, whatever field they are in.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const usePretty = options.pretty ?? Boolean(process.stdout.isTTY);
  const destination =
    options.destination ??
    (usePretty ? pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'service' }) : process.stdout);
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'acuerdo' },
      timestamp: pino.stdTimeFunctions.isoTime,
      hooks: { streamWrite: maskPersonalData },
      redact: { paths: ['*.token', '*.password', '*.authorization', 'req.headers.authorization'], censor: '[secret]' },
    },
    destination,
  );
}

/** The process-wide logger, configured by main() from the environment. */
export let log: Logger = createLogger({ level: process.env.LOG_LEVEL ?? 'info' });

export function setLogger(logger: Logger): void {
  log = logger;
}
