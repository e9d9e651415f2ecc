/**
 * Logger port, pino-compatible in shape: `logger.warn(msg, fields)`. A pino
 * instance fits through `fromPino(pino)` (pino takes fields first).
 *
 * Contract: a logger never throws and never blocks the scheduler; sched passes
 * structured `fields` (jobName, fireId, executionId, error…) rather than
 * interpolating them into the message.
 */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (optional; sched falls back to merging itself). */
  child?(fields: LogFields): Logger;
}

export type LogFields = Record<string, unknown>;

export const LogLevel = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LogLevel;

/**
 * One line per entry on stderr: `sched <level> <msg> {"field":…}`. Errors in
 * fields are reduced to their message and code so a line stays one line.
 */
export function createConsoleLogger(
  options: { level?: LogLevel; bindings?: LogFields; write?: (line: string) => void } = {},
): Logger {
  const threshold = LogLevel[options.level ?? 'info'];
  const bindings = options.bindings ?? {};
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const emit = (level: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields): void => {
    if (LogLevel[level] < threshold) return;
    const all = fields === undefined ? bindings : { ...bindings, ...fields };
    const text = Object.keys(all).length === 0 ? '' : ` ${safeJson(all)}`;
    write(`sched ${level} ${msg}${text}`);
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => createConsoleLogger({ ...options, bindings: { ...bindings, ...fields } }),
  };
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/** Adapts a pino logger (`logger.warn(fields, msg)`) to the sched shape. */
export function fromPino(pino: {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}): Logger {
  return {
    debug: (msg, fields) => pino.debug(fields ?? {}, msg),
    info: (msg, fields) => pino.info(fields ?? {}, msg),
    warn: (msg, fields) => pino.warn(fields ?? {}, msg),
    error: (msg, fields) => pino.error(fields ?? {}, msg),
  };
}

/**
 * A logger that adds `fields` to every line of `base`. Cheap to make (one
 * small object per execution, no closures): the merge happens only when a
 * line is actually written.
 */
class BoundLogger implements Logger {
  constructor(
    private readonly base: Logger,
    private readonly fields: LogFields,
  ) {}
  debug(msg: string, f?: LogFields): void {
    this.base.debug(msg, f ? { ...this.fields, ...f } : this.fields);
  }
  info(msg: string, f?: LogFields): void {
    this.base.info(msg, f ? { ...this.fields, ...f } : this.fields);
  }
  warn(msg: string, f?: LogFields): void {
    this.base.warn(msg, f ? { ...this.fields, ...f } : this.fields);
  }
  error(msg: string, f?: LogFields): void {
    this.base.error(msg, f ? { ...this.fields, ...f } : this.fields);
  }
  child(fields: LogFields): Logger {
    return new BoundLogger(this.base, { ...this.fields, ...fields });
  }
}

/** A logger that adds `fields` to every line of `logger`. */
export function childLogger(logger: Logger, fields: LogFields): Logger {
  return new BoundLogger(logger, fields);
}

function safeJson(fields: LogFields): string {
  try {
    return JSON.stringify(fields, (_key, value: unknown) => {
      if (value instanceof Error) {
        const code = (value as { code?: unknown }).code;
        return code === undefined ? value.message : { message: value.message, code };
      }
      if (typeof value === 'bigint') return value.toString();
      return value;
    });
  } catch {
    return '{"fields":"unserialisable"}';
  }
}
