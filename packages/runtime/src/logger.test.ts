import { PassThrough } from 'node:stream';
import { isSigilError } from '@sigil/errors';
import { createLogger, parseLogLevel } from './logger';

describe('parseLogLevel', () => {
  it('defaults to info when unset or empty', () => {
    expect(parseLogLevel(undefined, 'LOG_LEVEL')).toBe('info');
    expect(parseLogLevel('  ', 'LOG_LEVEL')).toBe('info');
  });

  it('accepts pino levels in any case', () => {
    expect(parseLogLevel('DEBUG', 'LOG_LEVEL')).toBe('debug');
    expect(parseLogLevel('silent', 'LOG_LEVEL')).toBe('silent');
  });

  it('rejects anything else with ERR_CONFIG_INVALID naming the variable', () => {
    expect.assertions(3);
    try {
      parseLogLevel('loud', 'LOG_LEVEL');
    } catch (err) {
      expect(isSigilError(err, 'ERR_CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).toContain('LOG_LEVEL="loud"');
      expect((err as Error).message).toContain('debug');
    }
  });
});

describe('createLogger', () => {
  function capture(level?: 'info' | 'warn'): {
    lines: () => Record<string, unknown>[];
    logger: ReturnType<typeof createLogger>;
  } {
    const stream = new PassThrough();
    const chunks: string[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
    const logger = createLogger({
      name: 'test-service',
      ...(level ? { level } : {}),
      destination: stream,
    });
    const lines = (): Record<string, unknown>[] =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    return { lines, logger };
  }

  it('writes one JSON object per event with name, textual level and fields', () => {
    const { lines, logger } = capture();
    logger.info({ event: 'server.started', port: 50051 }, 'server.started');
    const [line] = lines();
    expect(line).toMatchObject({
      name: 'test-service',
      level: 'info',
      event: 'server.started',
      port: 50051,
      msg: 'server.started',
    });
    expect(typeof line?.time).toBe('string');
  });

  it('drops events below the configured level', () => {
    const { lines, logger } = capture('warn');
    logger.info({ event: 'quiet' }, 'quiet');
    logger.warn({ event: 'loud' }, 'loud');
    expect(lines().map((line) => line.event)).toEqual(['loud']);
  });
});
