import { resolve } from 'node:path';
import { parseNonNegativeInteger } from '@sigil/settings';
import type { TlsConfigWarning, TlsMinVersion, TlsMode } from '../tls-config-types';
import { envValue } from './layers';
import type { Context } from './tls-context';
import { pick } from './tls-context';
import type { ResolvedFiles } from './tls-files';
import { GRPC_TLS_SETTINGS } from '../tls-settings';
import { resolveSpiffeEndpoint } from './spiffe-endpoint';
import { parseExpectedSpiffeIds, TLS_INVALID, type Sourced } from './values';

const DEFAULTS = {
  minVersion: 'TLSv1.2' as TlsMinVersion,
  warnDays: 30,
  debounceMs: 500,
  pollIntervalMs: 60_000,
};

/** The settings every side shares: TLS version, ciphers, warning window, reload, dev identity. */
export function commonSettings(
  ctx: Context,
  mode: Sourced<TlsMode>,
  files: ResolvedFiles,
  warnings: TlsConfigWarning[],
) {
  const { options, env, yaml } = ctx;
  const minVersion = pick<string>(
    options.minVersion === undefined
      ? undefined
      : { value: options.minVersion, origin: 'option minVersion' },
    envValue(env, GRPC_TLS_SETTINGS.minVersion.env),
    yaml?.min_version,
  );
  const ciphers = pick<string>(
    options.ciphers === undefined
      ? undefined
      : { value: options.ciphers, origin: 'option ciphers' },
    envValue(env, GRPC_TLS_SETTINGS.ciphers.env),
    yaml?.ciphers,
  );
  const warnDays = pick<string | number>(
    options.warnDays === undefined
      ? undefined
      : { value: options.warnDays, origin: 'option warnDays' },
    envValue(env, GRPC_TLS_SETTINGS.certWarnDays.env),
    yaml?.cert_warn_days,
  );
  const issuedByBundle = pick<string | boolean>(
    options.requireIssuedByBundle === undefined
      ? undefined
      : { value: options.requireIssuedByBundle, origin: 'option requireIssuedByBundle' },
    envValue(env, GRPC_TLS_SETTINGS.requireIssuedByBundle.env),
    yaml?.require_issued_by_bundle,
  );
  const devCaDir = pick<string>(
    options.devCaDir === undefined
      ? undefined
      : { value: options.devCaDir, origin: 'option devCaDir' },
    envValue(env, GRPC_TLS_SETTINGS.devCaDir.env),
    yaml?.dev_ca_dir && {
      value: resolve(yaml.baseDir, yaml.dev_ca_dir.value),
      origin: yaml.dev_ca_dir.origin,
    },
  );
  if (devCaDir && mode.value !== 'dev') {
    warnings.push({
      event: 'grpc_tls.dev_ca_dir_ignored',
      message: `${devCaDir.origin} is set but the mode is "${mode.value}" (${mode.origin}): the dev CA directory is read only in dev mode`,
      variables: [devCaDir.origin],
    });
  }
  const number = (
    option: number | undefined,
    origin: string,
    fromYaml: Sourced<number> | undefined,
    fallback: number,
  ): number =>
    option !== undefined
      ? parseNonNegativeInteger(option, origin, TLS_INVALID.code)
      : (fromYaml?.value ?? fallback);
  const source =
    mode.value === 'file'
      ? files.source
      : mode.value === 'memory'
        ? 'option identity'
        : mode.origin;
  return {
    mode: mode.value,
    source,
    ...(ctx.options.identity ? { identity: ctx.options.identity } : {}),
    minVersion: minVersion
      ? GRPC_TLS_SETTINGS.minVersion.parse(minVersion.value, minVersion.origin)
      : DEFAULTS.minVersion,
    ...(ciphers ? { ciphers: ciphers.value } : {}),
    warnDays: warnDays
      ? parseNonNegativeInteger(warnDays.value, warnDays.origin, TLS_INVALID.code)
      : DEFAULTS.warnDays,
    reload: {
      watch: options.watch ?? yaml?.watch?.value ?? true,
      debounceMs: number(
        options.debounceMs,
        'option debounceMs',
        yaml?.reload_debounce_ms,
        DEFAULTS.debounceMs,
      ),
      pollIntervalMs: number(
        options.pollIntervalMs,
        'option pollIntervalMs',
        yaml?.poll_interval_ms,
        DEFAULTS.pollIntervalMs,
      ),
      reloadOnSighup: options.reloadOnSighup ?? yaml?.reload_on_sighup?.value ?? true,
    },
    ...(issuedByBundle
      ? {
          requireIssuedByBundle:
            typeof issuedByBundle.value === 'boolean'
              ? issuedByBundle.value
              : GRPC_TLS_SETTINGS.requireIssuedByBundle.parse(
                  issuedByBundle.value,
                  issuedByBundle.origin,
                ),
        }
      : {}),
    ...(devCaDir && mode.value === 'dev' ? { devCaDir: resolve(devCaDir.value) } : {}),
    ...(mode.value === 'spiffe' ? { spiffeEndpoint: resolveSpiffeEndpoint(ctx, mode) } : {}),
    ...(options.devSpiffeId
      ? { devSpiffeId: parseExpectedSpiffeIds(options.devSpiffeId, 'option devSpiffeId')[0]! }
      : {}),
    warnings,
  };
}
