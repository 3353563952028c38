import { createMemoryLogger } from './memory-logger';

describe('createMemoryLogger', () => {
  it('keeps every JSON line, debug included, in order', () => {
    const { logger, lines } = createMemoryLogger();
    logger.debug({ event: 'first' });
    logger.info({ event: 'second', n: 2 });
    expect(lines.map((line) => JSON.parse(line).event)).toEqual(['first', 'second']);
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: 30, n: 2 });
  });
});
