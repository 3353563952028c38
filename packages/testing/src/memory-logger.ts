import { Writable } from 'node:stream';
import pino from 'pino';

/**
 * A logger whose JSON lines are kept in memory, from {@link createMemoryLogger}.
 *
 * @example
 * ```ts
 * const memory: MemoryLogger = createMemoryLogger();
 * memory.logger.info({ event: 'token.created' });
 * memory.lines; // ['{"level":30,...,"event":"token.created"}']
 * ```
 */
export interface MemoryLogger {
  /** A pino logger at level `debug`. */
  readonly logger: pino.Logger;
  /** Every line logged so far, as raw JSON text, oldest first. */
  readonly lines: string[];
}

/**
 * Creates a pino logger that keeps its JSON lines in memory, so tests can check which events were
 * (and were not) logged, e.g. that a token never appears in full.
 *
 * @example
 * ```ts
 * const { logger, lines } = createMemoryLogger();
 * const controller = createController({ dataDir, logger });
 * expect(lines.some((line) => line.includes('"event":"controller.started"'))).toBe(true);
 * ```
 */
export function createMemoryLogger(): MemoryLogger {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((line) => line !== ''),
      );
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}
