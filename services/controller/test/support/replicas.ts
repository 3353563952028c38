// Two controller replicas on one real PostgreSQL schema: A opens (and migrates) the store itself,
// B gets its own store on the same schema passed in, both share the CA files of one DATA_DIR.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresStore } from '../../src/store/postgres-store';
import type { ControllerOptions } from '../../src/controller';
import type { ControllerStore } from '../../src/store/store';
import { startController, type ControllerFixture } from './fixtures';
import { POSTGRES_URL, dropSchema, uniqueSchema } from './postgres';

/** Two started replicas and what {@link ReplicaPair.close} removes. */
export interface ReplicaPair {
  a: ControllerFixture;
  b: ControllerFixture;
  /** A's DATA_DIR (B's too, unless `dataDirB` gave it another). */
  dataDir: string;
  /** B's store: passed in, so it stays open after B stops. */
  storeB: ControllerStore;
  /** Stops both, closes B's store, removes the data dirs and drops the schema. */
  close(): Promise<void>;
}

/**
 * Starts replica A on a new schema `<name>_<pid>_<random>` and a temp DATA_DIR, then replica B
 * on the same schema; B uses A's DATA_DIR unless `dataDirB` makes it one from A's. `controller`
 * adds options to both replicas.
 */
export async function startReplicaPair(
  name: string,
  options: {
    dataDirB?: (dataDirA: string) => string;
    controller?: Partial<Omit<ControllerOptions, 'dataDir' | 'store'>>;
  } = {},
): Promise<ReplicaPair> {
  const schema = uniqueSchema(name);
  const dataDir = mkdtempSync(join(tmpdir(), `${name}-`));
  const a = await startController({
    ...options.controller,
    dataDir,
    databaseUrl: POSTGRES_URL,
    postgresSchema: schema,
  });
  const dataDirB = options.dataDirB?.(dataDir) ?? dataDir;
  const storeB = await createPostgresStore({ connectionString: POSTGRES_URL, schema });
  const b = await startController({ ...options.controller, dataDir: dataDirB, store: storeB });
  return {
    a,
    b,
    dataDir,
    storeB,
    async close() {
      await b.cleanup();
      await storeB.close();
      await a.cleanup();
      for (const dir of new Set([dataDir, dataDirB])) rmSync(dir, { recursive: true, force: true });
      await dropSchema(schema);
    },
  };
}
