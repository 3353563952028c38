import { join } from 'node:path';
import { SigilError } from '@sigil/errors';
import { ensurePrivateDirectory } from '@sigil/pki';
import type { ControllerConfig } from './config';
import { rotateAdminToken } from './internal/admin-token';
import { DATA_FILES } from './internal/authorities';
import { createPostgresStore } from './store/postgres-store';
import { createSqliteStore } from './store/sqlite-store';

/** The verbs of `sigil-controller admin-token`. */
const VERBS = ['rotate'] as const;

/**
 * `sigil-controller admin-token rotate`: generates a new admin token, stores its hash in the
 * controller's store (SQLite under `DATA_DIR`, or `DATABASE_URL`) so the previous token stops
 * working (a running controller notices within 5 s), and returns the new token for the caller to
 * print once. Refused while `SIGIL_ADMIN_TOKEN` is set: the controller would put that token back
 * at its next start.
 *
 * @example
 * ```ts
 * const token = await runAdminTokenCommand('rotate', config);
 * process.stdout.write(`${token}\n`);
 * ```
 */
export async function runAdminTokenCommand(
  verb: string | undefined,
  config: ControllerConfig,
): Promise<string> {
  if (verb === undefined || !(VERBS as readonly string[]).includes(verb))
    throw new SigilError(
      'ERR_USAGE',
      `usage: sigil-controller admin-token rotate [flags] (got ${verb === undefined ? 'no verb' : `"${verb}"`})`,
    );
  if (config.adminToken !== undefined)
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      'SIGIL_ADMIN_TOKEN is set: the controller uses it (and stores its hash) at every start, so a rotated token would be replaced; unset SIGIL_ADMIN_TOKEN to rotate, or change its value instead',
      { details: { variable: 'SIGIL_ADMIN_TOKEN' } },
    );
  const store =
    config.databaseUrl !== undefined
      ? await createPostgresStore({ connectionString: config.databaseUrl })
      : await openSqlite(config.dataDir);
  try {
    await store.migrate();
    return await rotateAdminToken(store);
  } finally {
    await store.close();
  }
}

function openSqlite(dataDir: string): ReturnType<typeof createSqliteStore> {
  ensurePrivateDirectory(dataDir, { variable: 'DATA_DIR', code: 'ERR_DATA_DIR_UNUSABLE' });
  return createSqliteStore({ path: join(dataDir, DATA_FILES.sqliteDatabase) });
}
