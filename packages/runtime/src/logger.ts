import pino from 'pino';
import { SigilError } from '@sigil/errors';

/**
 * The log levels a Sigil process accepts (pino's, plus `silent`).
 *
 * @example
 * ```ts
 * const level: LogLevel = parseLogLevel(process.env.LOG_LEVEL, 'LOG_LEVEL');
 * ```
 */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

const LOG_LEVELS: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];

/**
 * Options for {@link createLogger}.
 *
 * @example
 * ```ts
 * const options: LoggerOptions = { name: 'user-service', level: 'debug' };
 * ```
 */
export interface LoggerOptions {
  /** The process or component name, logged as `name` on every line. */
  name: string;
  /** Minimum level; default `info`. Parse `LOG_LEVEL` at the config edge with {@link parseLogLevel}. */
  level?: LogLevel;
  /** Where lines go; default standard output. Tests pass a stream to read the events back. */
  destination?: pino.DestinationStream;
}

/**
 * Creates the structured (JSON, one event per line) logger every Sigil process uses. Log one event
 * name plus fields: `logger.info({ event: 'server.started', port }, 'server.started')`.
 *
 * @example
 * ```ts
 * const logger = createLogger({ name: 'identity-service', level: config.logLevel });
 * logger.info({ event: 'server.started', address: '0.0.0.0:50051' }, 'server.started');
 * ```
 */
export function createLogger(options: LoggerOptions): pino.Logger {
  const settings: pino.LoggerOptions = {
    name: options.name,
    level: options.level ?? 'info',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination);
}

/**
 * Parses a log level from configuration (usually `LOG_LEVEL`); unset or empty means `info`.
 * Throws `ERR_CONFIG_INVALID` naming the variable for anything else.
 *
 * @example
 * ```ts
 * const logLevel = parseLogLevel(env.LOG_LEVEL, 'LOG_LEVEL'); // 'info' when unset
 * ```
 */
export function parseLogLevel(value: string | undefined, variable: string): LogLevel {
  if (value === undefined || value.trim() === '') return 'info';
  const level = value.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new SigilError(
    'ERR_CONFIG_INVALID',
    `${variable}=${JSON.stringify(value)} is not a log level; use one of ${LOG_LEVELS.join(', ')}`,
    {
      details: { variable, value },
    },
  );
}
