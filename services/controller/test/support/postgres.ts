import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The PostgreSQL the tests use (CI provides it); override with SIGIL_TEST_DATABASE_URL. */
export const POSTGRES_URL =
  process.env.SIGIL_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

/** SIGIL_SKIP_POSTGRES=1 skips the PostgreSQL runs visibly; otherwise an unreachable database FAILS them. */
export const postgresSkipped = process.env.SIGIL_SKIP_POSTGRES === '1';

/** A schema name no other test run uses: `<prefix>_<pid>_<random>`. */
export function uniqueSchema(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Drops a test's schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  const db = new Client({ connectionString: POSTGRES_URL });
  await db.connect();
  try {
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await db.end();
  }
}
