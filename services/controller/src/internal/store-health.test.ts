import { isStoreOutage } from './store-health';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isStoreOutage', () => {
  it.each([
    ['SQLite: disk full', withCode('database or disk is full', 'SQLITE_FULL')],
    [
      'SQLite: read-only file system',
      withCode('attempt to write a readonly database', 'SQLITE_READONLY'),
    ],
    ['SQLite: I/O error', withCode('disk I/O error', 'SQLITE_IOERR_WRITE')],
    ['PostgreSQL down', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    [
      'PostgreSQL shutting down',
      withCode('terminating connection due to administrator command', '57P01'),
    ],
    ['PostgreSQL disk full', withCode('could not extend file', '53100')],
    ['pg: connection lost', new Error('Connection terminated unexpectedly')],
    [
      'localhost: both addresses refused',
      Object.assign(
        new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], ''),
        {},
      ),
    ],
  ])('%s is an outage', (_, err) => {
    expect(isStoreOutage(err)).toBe(true);
  });

  it.each([
    [
      'a constraint',
      withCode('UNIQUE constraint failed: settings.key', 'SQLITE_CONSTRAINT_PRIMARYKEY'),
    ],
    ['a syntax error', withCode('syntax error at or near "SELEC"', '42601')],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['not an error', 'boom'],
  ])('%s is not', (_, err) => {
    expect(isStoreOutage(err)).toBe(false);
  });
});
