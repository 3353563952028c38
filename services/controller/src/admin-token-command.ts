import { SigilError } from '@sigil/errors';
import { ensurePrivateDirectory } from '@sigil/pki';
import type { ControllerConfig } from './config';
import { rotateAdminToken } from './internal/admin-token';
import { openControllerStore } from './store/open-store';

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
  if (config.databaseUrl === undefined)
    ensurePrivateDirectory(config.dataDir, { variable: 'DATA_DIR', code: 'ERR_DATA_DIR_UNUSABLE' });
  const store = await openControllerStore({
    dataDir: config.dataDir,
    ...(config.databaseUrl === undefined ? {} : { databaseUrl: config.databaseUrl }),
  });
  try {
    await store.migrate();
    return await rotateAdminToken(store);
  } finally {
    await store.close();
  }
}
