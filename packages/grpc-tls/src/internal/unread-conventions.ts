import { readdirSync } from 'node:fs';
import { SigilError } from '@sigil/errors';
import { GRPC_TLS_SETTINGS } from '../tls-settings';
import type { TlsConfigWarning } from '../tls-config-types';
import type { Env } from './layers';
import { envValue } from './layers';
import type { Context } from './tls-context';

/** The variable names of the prefixed conventions (MIGlet, Parallax, metald), after the prefix. */
const PREFIXED_SUFFIXES = [
  'TLS_CA_CERT_PATH',
  'TLS_CLIENT_CERT_PATH',
  'TLS_CLIENT_KEY_PATH',
  'TLS_SERVER_NAME',
  'TLS_SERVER_SPIFFE_ID',
  'TLS_INSECURE_SKIP_VERIFY',
  'TLS_ENABLED',
  'TLS_ALLOW_INSECURE',
  'TLS_VERIFY_CLIENT',
  'TLS_CLIENT_CERT',
  'TLS_MODE',
  'TLS_CERT_FILE',
  'TLS_KEY_FILE',
  'TLS_CA_FILE',
  'CERTS_DIR',
  'SPIFFE_SOCKET',
] as const;

/** Prefixes that are Sigil's own or the unprefixed conventions', never a convention to select. */
const OWN_PREFIXES = ['SIGIL_', 'GRPC_'];

/** Variables of one prefixed convention that the load did not read. */
interface UnreadConvention {
  readonly prefix: string;
  readonly variables: readonly string[];
}

/**
 * The prefixed conventions present in the environment but not selected (no prefix, or another
 * one): `MIGLET_CONTROLLER_TLS_CA_CERT_PATH` without `SIGIL_TLS_PREFIX=MIGLET_CONTROLLER_`.
 */
function unreadConventions(ctx: Context): UnreadConvention[] {
  const byPrefix = new Map<string, string[]>();
  for (const variable of Object.keys(ctx.env).sort()) {
    if (!envValue(ctx.env, variable)) continue;
    const suffix = PREFIXED_SUFFIXES.find((s) => variable.endsWith(`_${s}`));
    if (!suffix) continue;
    const prefix = variable.slice(0, variable.length - suffix.length);
    if (prefix === ctx.prefix || OWN_PREFIXES.includes(prefix)) continue;
    byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), variable]);
  }
  return [...byPrefix].map(([prefix, variables]) => ({ prefix, variables }));
}

/** How to select one convention: `set SIGIL_TLS_PREFIX=PARALLAX_ and SIGIL_TLS_NAME=<control-plane|agent>`. */
function howToSelect(env: Env, convention: UnreadConvention): string {
  const select = `${GRPC_TLS_SETTINGS.prefix.env}=${convention.prefix}`;
  const certsDir = envValue(env, `${convention.prefix}CERTS_DIR`);
  if (!certsDir) return `set ${select} (or pass { prefix: '${convention.prefix}' })`;
  const entries = directoriesIn(certsDir.value);
  const name = entries.length > 0 ? `<${entries.join('|')}>` : '<entry of the directory>';
  return `set ${select} and ${GRPC_TLS_SETTINGS.name.env}=${name} (or pass { prefix: '${convention.prefix}', name })`;
}

/** The subdirectories of `path`, sorted; none when it cannot be read. */
function directoriesIn(path: string): string[] {
  try {
    return readdirSync(path, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
  } catch {
    return [];
  }
}

/** One sentence per unread convention: which variables, and how to select them. */
function describeUnread(ctx: Context, conventions: readonly UnreadConvention[]): string {
  return conventions
    .map(
      (c) =>
        `${c.variables.join(', ')} ${c.variables.length === 1 ? 'is' : 'are'} set but not read: ${howToSelect(ctx.env, c)}`,
    )
    .join('; ');
}

/**
 * Runs a load, so that a convention present but unread is never silent: a failure to find the
 * TLS files (`ERR_TLS_ENV_MISSING`) says which variables were not read and how to select them;
 * a load that succeeds without them warns (`grpc_tls.convention_not_read`).
 */
export function withUnreadConventions<
  T extends { readonly warnings: readonly TlsConfigWarning[]; readonly source: string },
>(ctx: Context, load: () => T): T {
  const unread = unreadConventions(ctx);
  if (unread.length === 0) return load();
  const hint = describeUnread(ctx, unread);
  let config: T;
  try {
    config = load();
  } catch (err) {
    if (err instanceof SigilError && err.code === 'ERR_TLS_ENV_MISSING')
      throw new SigilError(err.code, `${err.message}. ${hint}`, {
        cause: err,
        details: { ...err.details, unread: unread.flatMap((c) => c.variables) },
      });
    throw err;
  }
  return {
    ...config,
    warnings: [
      ...config.warnings,
      {
        event: 'grpc_tls.convention_not_read',
        message: `${hint}; the TLS settings come from ${config.source}`,
        variables: unread.flatMap((c) => c.variables),
      },
    ],
  };
}
