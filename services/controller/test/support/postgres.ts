/** The PostgreSQL the tests use (CI provides it); override with SIGIL_TEST_DATABASE_URL. */
export const POSTGRES_URL =
  process.env.SIGIL_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

/** SIGIL_SKIP_POSTGRES=1 skips the PostgreSQL runs visibly; otherwise an unreachable database FAILS them. */
export const postgresSkipped = process.env.SIGIL_SKIP_POSTGRES === '1';
