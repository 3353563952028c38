import { tokenHash } from '@sigil/pki';
import type { ControllerStore } from '../store/store';
import { generateAdminToken, secretMatchesHash } from './secrets';

/** The setting that holds the SHA-256 (hex) of the admin token: the only copy the controller keeps. */
export const ADMIN_TOKEN_SETTING = 'admin_token_sha256';

/** How often a running controller re-reads the stored hash, so a rotation elsewhere applies. */
const REFRESH_MS = 5000;

/** Options of {@link createAdminTokenSource}. */
export interface AdminTokenSourceOptions {
  store: ControllerStore;
  /** `SIGIL_ADMIN_TOKEN`, when set. */
  configured?: string;
  /** Called when a refresh from the store fails (the previous hash stays in force). */
  onRefreshFailed?: (err: unknown) => void;
}

/** The admin token as the controller holds it: only its hash, kept in step with the store. */
export interface AdminTokenSource {
  /** Loads (or on first start generates) the token; the token itself only when configured or generated now. */
  start(): Promise<{ token: string | undefined; generated: boolean }>;
  /** True when `presented` is the admin token (constant time). */
  matches(presented: string): boolean;
  /** The current hash. */
  hash(): string;
  /** Stops the refresh timer. */
  close(): void;
}

/**
 * The controller's admin token. A configured `SIGIL_ADMIN_TOKEN` replaces the stored hash, so a
 * generated (or earlier) token dies the moment one is configured and stays dead when the variable
 * is unset again; without one, the stored hash is used, and on first start a token is generated
 * and only its hash stored. The hash is re-read every 5 s, so `sigil-controller admin-token
 * rotate` takes effect in a running controller (and every replica) without a restart.
 *
 * @example
 * ```ts
 * const admin = createAdminTokenSource({ store, configured: config.adminToken });
 * const { token, generated } = await admin.start();
 * if (!admin.matches(bearer)) throw unauthorized;
 * ```
 */
export function createAdminTokenSource(options: AdminTokenSourceOptions): AdminTokenSource {
  const { store, configured } = options;
  let current = '';
  let timer: NodeJS.Timeout | undefined;
  const refresh = async (): Promise<void> => {
    try {
      const stored = await store.getSetting(ADMIN_TOKEN_SETTING);
      if (stored !== undefined) current = stored;
    } catch (err) {
      options.onRefreshFailed?.(err);
    }
  };
  return {
    async start() {
      let token: string | undefined;
      let generated = false;
      if (configured !== undefined) {
        token = configured;
        current = tokenHash(configured);
        if ((await store.getSetting(ADMIN_TOKEN_SETTING)) !== current)
          await store.setSetting(ADMIN_TOKEN_SETTING, current);
      } else {
        const stored = await store.getSetting(ADMIN_TOKEN_SETTING);
        if (stored !== undefined) current = stored;
        else {
          token = await rotateAdminToken(store);
          current = tokenHash(token);
          generated = true;
        }
      }
      timer = setInterval(() => void refresh(), REFRESH_MS);
      timer.unref();
      return { token, generated };
    },
    matches: (presented) => current !== '' && secretMatchesHash(presented, current),
    hash: () => current,
    close: () => clearInterval(timer),
  };
}

/**
 * Generates a new admin token, stores its hash (the previous token stops working) and returns
 * the token: the only time it exists outside the operator's hands. What `sigil-controller
 * admin-token rotate` runs.
 *
 * @example
 * ```ts
 * const token = await rotateAdminToken(store);
 * process.stdout.write(`${token}\n`);
 * ```
 */
export async function rotateAdminToken(store: ControllerStore): Promise<string> {
  const token = generateAdminToken();
  await store.setSetting(ADMIN_TOKEN_SETTING, tokenHash(token));
  return token;
}
