import { createMemoryLogger } from './memory-logger';

describe('createMemoryLogger', () => {
  it('keeps every JSON line, debug included, in order, raw and parsed', () => {
    const { logger, lines, records } = createMemoryLogger();
    logger.debug({ event: 'first' });
    logger.info({ event: 'second', n: 2 });
    expect(lines.map((line) => JSON.parse(line).event)).toEqual(['first', 'second']);
    expect(records.map((record) => record.event)).toEqual(['first', 'second']);
    expect(records[1]).toMatchObject({ level: 30, n: 2 });
  });

  it('next resolves with a record already logged, or with the first one to come', async () => {
    const logs = createMemoryLogger();
    logs.logger.info({ event: 'early' });
    await expect(logs.next('early')).resolves.toMatchObject({ event: 'early' });
    const late = logs.next((record) => record['n'] === 2);
    logs.logger.info({ event: 'late', n: 1 });
    logs.logger.warn({ event: 'late', n: 2 });
    await expect(late).resolves.toMatchObject({ level: 40, n: 2 });
  });
});
