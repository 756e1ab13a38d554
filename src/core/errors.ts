/**
 * The few error classes acuerdo throws on purpose. Each carries the context an
 * engineer on call needs; callers decide what to do by class, never by message.
 */
export class AcuerdoError extends Error {
  override name = 'AcuerdoError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The environment holds a missing or wrong value. `issues` names each variable. */
export class ConfigError extends AcuerdoError {
  override name = 'ConfigError';
  constructor(readonly issues: { variable: string; expected: string }[]) {
    super(
      'Invalid configuration:\n' + issues.map((i) => `  ${i.variable}: ${i.expected}`).join('\n'),
    );
  }
}

/** A row of an imported spreadsheet is wrong. `line` is the file's 1-based line number. */
export interface RowProblem {
  line: number;
  reason: string;
}

export class ImportError extends AcuerdoError {
  override name = 'ImportError';
  constructor(
    message: string,
    readonly problems: RowProblem[] = [],
  ) {
    super(message);
  }
}

/** A flow file is broken; the position points at the offending YAML node. */
export class FlowDefinitionError extends AcuerdoError {
  override name = 'FlowDefinitionError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}:${column}: ${reason}`);
  }
}

/**
 * A remote channel API refused or failed a call. `retryAfterMs` is set when it said when to retry.
 * A send of several replies that failed part-way says how far it got: `delivered` of the
 * replies it was given went out before the failure, `externalIds` are their messages' ids;
 * the outbox records them and a retry starts after them.
 */
export class ChannelApiError extends AcuerdoError {
  override name = 'ChannelApiError';
  constructor(
    message: string,
    readonly channel: string,
    readonly options: {
      retryable: boolean;
      retryAfterMs?: number;
      code?: string | number;
      cause?: unknown;
      delivered?: number;
      externalIds?: string[];
    },
  ) {
    super(message, { cause: options.cause });
  }
}

/**
 * `err`, thrown while sending replies, as a ChannelApiError that says the first
 * `delivered` replies went out before it (with their messages' ids). Any other error
 * becomes a retryable ChannelApiError, as the outbox treats unknown failures.
 */
export function withSendProgress(err: unknown, channel: string, delivered: number, externalIds: string[] = []): ChannelApiError {
  if (err instanceof ChannelApiError) {
    const copy = new ChannelApiError(err.message, err.channel, { ...err.options, delivered, externalIds });
    if (err.stack) copy.stack = err.stack;
    return copy;
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ChannelApiError(`${channel} send failed: ${message}`, channel, { retryable: true, cause: err, delivered, externalIds });
}

/** A conversation turn failed; the turn's transaction was rolled back. */
export class TurnError extends AcuerdoError {
  override name = 'TurnError';
  constructor(
    message: string,
    readonly conversationId: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Something the code relies on did not hold: a bug or an impossible state, not bad
 * input. `context` carries what was seen, for the engineer on call.
 */
export class InvariantError extends AcuerdoError {
  override name = 'InvariantError';
  constructor(
    message: string,
    readonly context: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** A command-line argument or option is wrong; the CLI says so and exits non-zero. */
export class UsageError extends AcuerdoError {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly argument?: string,
  ) {
    super(message);
  }
}

/** A scheduled job is defined wrongly (two jobs with one name, a bad cron expression, an unknown job). */
export class JobDefinitionError extends AcuerdoError {
  override name = 'JobDefinitionError';
  constructor(
    message: string,
    readonly job: string,
  ) {
    super(message);
  }
}

/** A channel handed the engine a message it cannot take (unknown channel, no sender or id). */
export class InvalidMessageError extends AcuerdoError {
  override name = 'InvalidMessageError';
  constructor(
    message: string,
    readonly field: 'channel' | 'from' | 'messageId',
  ) {
    super(message);
  }
}

/** The embedded PostgreSQL server could not be set up or started; `dataDir` says where. */
export class DatabaseStartError extends AcuerdoError {
  override name = 'DatabaseStartError';
  constructor(
    message: string,
    readonly dataDir: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
