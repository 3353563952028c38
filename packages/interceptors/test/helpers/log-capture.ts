// Captures pino output as parsed objects, and lets a test wait for an event.
import pino from 'pino';
import type { Logger } from 'pino';

export interface LogRecord {
  level: number;
  event?: string;
  [field: string]: unknown;
}

export interface LogCapture {
  readonly logger: Logger;
  readonly records: LogRecord[];
  /** Resolves with the first record (already logged or to come) that matches. */
  next(match: (record: LogRecord) => boolean): Promise<LogRecord>;
}

export function captureLogs(): LogCapture {
  const records: LogRecord[] = [];
  const waiters: { match: (record: LogRecord) => boolean; resolve: (record: LogRecord) => void }[] =
    [];
  const stream = {
    write(line: string): void {
      const record = JSON.parse(line) as LogRecord;
      records.push(record);
      for (const waiter of [...waiters]) {
        if (waiter.match(record)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(record);
        }
      }
    },
  };
  return {
    logger: pino({ level: 'debug' }, stream),
    records,
    next: (match) => {
      const found = records.find(match);
      return found
        ? Promise.resolve(found)
        : new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}
