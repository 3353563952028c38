import type { Env } from './layers';

/** `NODE_ENV` values that mean "not production"; compared trimmed and in lower case. */
const NOT_PRODUCTION: ReadonlySet<string> = new Set(['', 'development', 'dev', 'test', 'local']);

/** Whether the environment counts as production, and the words that made it so (for messages). */
interface ProductionVerdict {
  readonly production: boolean;
  /** `NODE_ENV=production`, `NODE_ENV="Production "`, ... */
  readonly said: string;
}

/**
 * The production guard, failing closed: `NODE_ENV` is trimmed and lower-cased, and anything but
 * unset, `development`, `dev`, `test` or `local` counts as production (`Production`,
 * `"production "`, `prod`, `staging`), so a spelling never unlocks dev mode, plaintext or
 * skip-verify.
 */
export function productionOf(env: Env): ProductionVerdict {
  const raw = env['NODE_ENV'];
  const normalised = (raw ?? '').trim().toLowerCase();
  const said =
    raw === undefined
      ? 'NODE_ENV unset'
      : `NODE_ENV=${/^\S+$/.test(raw) ? raw : JSON.stringify(raw)}`;
  return { production: !NOT_PRODUCTION.has(normalised), said };
}
