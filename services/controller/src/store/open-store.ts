import { join } from 'node:path';
import { DATA_FILES } from '../internal/authorities';
import { createPostgresStore } from './postgres-store';
import { createSqliteStore } from './sqlite-store';
import type { ControllerStore } from './store';

/** Where the controller keeps its state. */
export interface OpenStoreOptions {
  /** PostgreSQL when set; otherwise SQLite under `dataDir`. */
  databaseUrl?: string;
  /** With `databaseUrl`: this schema (created if missing). */
  postgresSchema?: string;
  dataDir: string;
}

/**
 * Opens the configured store (not yet migrated): PostgreSQL with `databaseUrl`, else the
 * embedded SQLite file `$DATA_DIR/controller.db`.
 *
 * @example
 * ```ts
 * const store = await openControllerStore({ dataDir: '/var/lib/sigil' });
 * await store.migrate();
 * ```
 */
export function openControllerStore(options: OpenStoreOptions): Promise<ControllerStore> {
  if (options.databaseUrl !== undefined)
    return createPostgresStore({
      connectionString: options.databaseUrl,
      ...(options.postgresSchema === undefined ? {} : { schema: options.postgresSchema }),
    });
  return createSqliteStore({ path: join(options.dataDir, DATA_FILES.sqliteDatabase) });
}
