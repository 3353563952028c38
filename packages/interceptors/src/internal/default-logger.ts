import pino from 'pino';
import type { Logger } from 'pino';

let logger: Logger | undefined;

/** The logger interceptors use when none is given: one pino instance for the process, to stdout. */
export function defaultLogger(): Logger {
  logger ??= pino({ name: 'sigil' });
  return logger;
}
