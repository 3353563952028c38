import { SigilError } from '@sigil/errors';
import { GRPC_TLS_SETTINGS } from '../tls-settings';
import type { TlsConfigWarning, TlsMode } from '../tls-config-types';
import { envBoolean, envValue, ROLE_NAMES } from './layers';
import type { Context } from './tls-context';
import { ambiguous, pick, refuseInProduction } from './tls-context';
import type { ResolvedFiles } from './tls-files';
import { invalidSetting } from '@sigil/settings';
import { TLS_INVALID, type Sourced } from './values';

/**
 * metald's `<PREFIX>TLS_MODE` (`UNKEY_METALD_TLS_MODE`): `file` is file mode, `disabled` is
 * plaintext asked for by name (the `insecure` mode: warned about, refused in production), and
 * `spiffe` takes the SVID from the SPIFFE Workload API (`<PREFIX>SPIFFE_SOCKET`).
 */
function parseMetaldMode(raw: string, origin: string): 'file' | 'insecure' | 'spiffe' {
  const text = raw.trim().toLowerCase();
  if (text === 'file') return 'file';
  if (text === 'disabled') return 'insecure';
  if (text === 'spiffe') return 'spiffe';
  throw invalidSetting(
    origin,
    `"${raw}" is not a TLS mode (use file, disabled or spiffe)`,
    TLS_INVALID,
  );
}

/** `SIGIL_TLS_MODE` and `<PREFIX>TLS_MODE` both set must mean the same mode. */
function agreeOnMode(...settings: (Sourced<TlsMode> | undefined)[]): Sourced<TlsMode> | undefined {
  const [first, second] = settings;
  if (first && second && first.value !== second.value)
    throw ambiguous(
      `${first.origin}=${first.value} and ${second.origin} (mode "${second.value}") disagree; set one of them`,
      [first.origin, second.origin.split('=')[0]!],
    );
  return first ?? second;
}

export function resolveMode(
  ctx: Context,
  files: ResolvedFiles,
  warnings: TlsConfigWarning[],
): Sourced<TlsMode> & { rank: number } {
  const { options, env, prefix, yaml } = ctx;
  const explicitMode =
    options.mode === undefined
      ? undefined
      : { value: GRPC_TLS_SETTINGS.mode.parse(options.mode, 'option mode'), origin: 'option mode' };
  if (options.identity && explicitMode)
    throw ambiguous(
      'option identity and option mode are both set; an identity means mode "memory"',
      ['option identity', 'option mode'],
    );
  const envMode = envValue(env, GRPC_TLS_SETTINGS.mode.env);
  const prefixedMode = prefix ? envValue(env, `${prefix}TLS_MODE`) : undefined;
  const candidates: [Sourced<TlsMode> | undefined, number][] = [
    [options.identity ? { value: 'memory', origin: 'option identity' } : explicitMode, 3],
    [
      agreeOnMode(
        envMode && {
          value: GRPC_TLS_SETTINGS.mode.parse(envMode.value, envMode.origin),
          origin: envMode.origin,
        },
        prefixedMode && {
          value: parseMetaldMode(prefixedMode.value, prefixedMode.origin),
          origin: `${prefixedMode.origin}=${prefixedMode.value.trim().toLowerCase()}`,
        },
      ),
      2,
    ],
    [
      yaml?.mode && {
        value: GRPC_TLS_SETTINGS.mode.parse(yaml.mode.value, yaml.mode.origin),
        origin: yaml.mode.origin,
      },
      1,
    ],
  ];
  let mode: (Sourced<TlsMode> & { rank: number }) | undefined;
  for (const [candidate, rank] of candidates) {
    if (candidate) {
      mode = { ...candidate, rank };
      break;
    }
  }
  const enabled = pick<boolean>(
    prefix ? envBoolean(env, `${prefix}TLS_ENABLED`) : undefined,
    yaml?.enabled,
  );
  const allowInsecure = prefix ? envBoolean(env, `${prefix}TLS_ALLOW_INSECURE`) : undefined;
  if (enabled && !enabled.value) {
    if (!mode && allowInsecure?.value)
      mode = {
        value: 'insecure',
        origin: `${enabled.origin}=false with ${allowInsecure.origin}=true`,
        rank: 2,
      };
    if (!mode || mode.value !== 'insecure') {
      throw new SigilError(
        'ERR_TLS_CONFIG_INVALID',
        `${enabled.origin}=false asks for plaintext, but Sigil only runs without TLS when asked for by name: set SIGIL_TLS_MODE=insecure` +
          (prefix ? ` (or ${prefix}TLS_ALLOW_INSECURE=true)` : '') +
          `, or remove ${enabled.origin}`,
        { details: { variable: enabled.origin } },
      );
    }
  } else if (enabled?.value && mode?.value === 'insecure') {
    throw ambiguous(`${enabled.origin}=true but ${mode.origin}=insecure; choose one`, [
      enabled.origin,
      mode.origin,
    ]);
  }
  if (allowInsecure?.value && mode?.value !== 'insecure') {
    warnings.push({
      event: 'grpc_tls.allow_insecure_ignored',
      message: `${allowInsecure.origin}=true is ignored: Sigil never falls back to plaintext. Plaintext needs ${prefix}TLS_ENABLED=false or SIGIL_TLS_MODE=insecure`,
      variables: [allowInsecure.origin],
    });
  }
  const resolved = mode ?? { value: 'file' as TlsMode, origin: 'default', rank: 0 };
  if (resolved.value !== 'file') {
    // Certificates named at the same or a higher precedence than the mode make the intent unclear.
    for (const role of ['certificate', 'privateKey', 'ca'] as const) {
      const file = files.chosen[role];
      if (file && (files.ranks[role] ?? 0) >= resolved.rank) {
        throw ambiguous(
          `${resolved.origin} selects mode "${resolved.value}" but ${file.origin} names a ${ROLE_NAMES[role]} file (${file.value}); remove one of them`,
          [resolved.origin, file.origin],
        );
      }
    }
  }
  if (resolved.value === 'dev' && ctx.production) {
    throw new SigilError(
      'ERR_TLS_DEV_IN_PRODUCTION',
      `${resolved.origin}=dev is refused because ${ctx.productionSaid} counts as production: dev mode serves throwaway certificates from an in-memory CA`,
      {
        details: { variable: resolved.origin },
      },
    );
  }
  if (resolved.value === 'insecure') {
    refuseInProduction(ctx, resolved.origin, 'plaintext gRPC (no TLS)');
    warnings.push({
      event: 'grpc_tls.insecure_mode',
      message: `TLS is DISABLED (${resolved.origin}): gRPC traffic is plaintext and unauthenticated. Never use this in production`,
      variables: [resolved.origin],
    });
  }
  return resolved;
}
