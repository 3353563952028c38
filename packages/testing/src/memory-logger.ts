import { Writable } from 'node:stream';
import pino from 'pino';

/**
 * One parsed log line: pino's `level` and `time`, the `event` name, and the fields.
 *
 * @example
 * ```ts
 * const record: LogRecord = { level: 40, event: 'authz.denied', peer: 'spiffe://example.org/x' };
 * ```
 */
export interface LogRecord {
  level: number;
  event?: string;
  [field: string]: unknown;
}

/**
 * A logger whose JSON lines are kept in memory, from {@link createMemoryLogger}.
 *
 * @example
 * ```ts
 * const memory: MemoryLogger = createMemoryLogger();
 * memory.logger.info({ event: 'token.created' });
 * memory.lines; // ['{"level":30,...,"event":"token.created"}']
 * memory.records[0]?.event; // 'token.created'
 * ```
 */
export interface MemoryLogger {
  /** A pino logger at level `debug`. */
  readonly logger: pino.Logger;
  /** Every line logged so far, as raw JSON text, oldest first. */
  readonly lines: string[];
  /** The same lines, parsed, oldest first. */
  readonly records: LogRecord[];
  /** The first record (already logged, or the next to come) that has event `match` or passes it. */
  next(match: string | ((record: LogRecord) => boolean)): Promise<LogRecord>;
}

/**
 * Creates a pino logger that keeps its JSON lines in memory, so tests can check which events were
 * (and were not) logged, e.g. that a token never appears in full, or wait for one to come.
 *
 * @example
 * ```ts
 * const logs = createMemoryLogger();
 * const controller = createController({ dataDir, logger: logs.logger });
 * expect(logs.records.find((r) => r.event === 'controller.started')).toBeDefined();
 * await logs.next('controller.certificate_renewed');
 * ```
 */
export function createMemoryLogger(): MemoryLogger {
  const lines: string[] = [];
  const records: LogRecord[] = [];
  const waiters = new Set<{
    match: (record: LogRecord) => boolean;
    resolve: (record: LogRecord) => void;
  }>();
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        const record = JSON.parse(line) as LogRecord;
        lines.push(line);
        records.push(record);
        for (const waiter of waiters) {
          if (!waiter.match(record)) continue;
          waiters.delete(waiter);
          waiter.resolve(record);
        }
      }
      callback();
    },
  });
  return {
    logger: pino({ level: 'debug' }, stream),
    lines,
    records,
    next(match) {
      const test =
        typeof match === 'string' ? (record: LogRecord) => record.event === match : match;
      const found = records.find(test);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.add({ match: test, resolve }));
    },
  };
}
