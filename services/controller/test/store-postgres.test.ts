import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { createPostgresStore } from '../src/store/postgres-store';
import type { ControllerStore } from '../src/store/store';
import { describeStoreContract, expectAdminAuthWritesAtomic } from './support/store-contract';
import type { StoreFixture } from './support/store-contract';
import { POSTGRES_URL, postgresSkipped } from './support/postgres';

async function postgresFixture(): Promise<StoreFixture & { schema: string }> {
  const schema = `sigil_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const open = async (): Promise<ControllerStore> => {
    try {
      return await createPostgresStore({ connectionString: POSTGRES_URL, schema });
    } catch (err) {
      throw new Error(
        `PostgreSQL is not reachable at ${POSTGRES_URL} (set SIGIL_SKIP_POSTGRES=1 to skip the PostgreSQL store tests): ${(err as Error).message}`,
        { cause: err },
      );
    }
  };
  let current = await open();
  return {
    schema,
    store: current,
    async reopen() {
      await current.close();
      current = await open();
      return current;
    },
    async cleanup() {
      await current.close();
      const admin = new Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      try {
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await admin.end();
      }
    },
  };
}

if (postgresSkipped) {
  describe.skip('ControllerStore contract: PostgreSQL (SKIPPED because SIGIL_SKIP_POSTGRES=1)', () => {
    it('is skipped', () => undefined);
  });
} else {
  describeStoreContract(`PostgreSQL (${POSTGRES_URL}, one schema per test)`, postgresFixture);

  describe('PostgreSQL store specifics', () => {
    it('changes a password and removes a user in one transaction', async () => {
      const fixture = await postgresFixture();
      const admin = new Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      try {
        await fixture.store.migrate();
        await admin.query(`SET search_path = ${fixture.schema}`);
        await expectAdminAuthWritesAtomic(fixture.store, async (table) => {
          await admin.query(
            `CREATE OR REPLACE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by test'; END $$`,
          );
          await admin.query(
            `CREATE TRIGGER refuse_${table} BEFORE DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION refuse_delete()`,
          );
        });
      } finally {
        await admin.end();
        await fixture.cleanup();
      }
    });

    it('fails at open with ERR_STORE_UNAVAILABLE and a redacted URL when the database is unreachable', async () => {
      await expect(
        createPostgresStore({
          connectionString: 'postgresql://sigil:secret@127.0.0.1:1/none',
          connectTimeoutMs: 2000,
        }),
      ).rejects.toMatchObject({
        code: 'ERR_STORE_UNAVAILABLE',
        message: expect.stringContaining('postgresql://sigil:***@127.0.0.1:1/none'),
      });
    });
  });
}
