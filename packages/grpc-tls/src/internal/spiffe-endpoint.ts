import { SigilError } from '@sigil/errors';
import { parseWorkloadApiEndpoint } from '@sigil/workload-api';
import { GRPC_TLS_SETTINGS } from '../tls-settings';
import type { TlsMode } from '../tls-config-types';
import { envValue } from './layers';
import type { Context } from './tls-context';
import { pick } from './tls-context';
import type { Sourced } from './values';

/**
 * Mode `spiffe`: where the Workload API is. The option `spiffeEndpointSocket`, then
 * `<PREFIX>SPIFFE_SOCKET` (metald's `UNKEY_METALD_SPIFFE_SOCKET`, which may be a bare path), then
 * `SPIFFE_ENDPOINT_SOCKET` (the SPIFFE standard, `unix:///path`). None set is `ERR_TLS_ENV_MISSING`;
 * a malformed address is `ERR_CONFIG_INVALID` naming the variable.
 */
export function resolveSpiffeEndpoint(
  ctx: Context,
  mode: Sourced<TlsMode>,
): { address: string; origin: string } {
  const { options, env, prefix } = ctx;
  const chosen = pick<string>(
    options.spiffeEndpointSocket === undefined
      ? undefined
      : { value: options.spiffeEndpointSocket, origin: 'option spiffeEndpointSocket' },
    prefix ? envValue(env, `${prefix}SPIFFE_SOCKET`) : undefined,
    envValue(env, GRPC_TLS_SETTINGS.spiffeEndpointSocket.env),
  );
  if (chosen === undefined)
    throw new SigilError(
      'ERR_TLS_ENV_MISSING',
      `${mode.origin} selects mode "spiffe" but SPIFFE_ENDPOINT_SOCKET is not set: set it to the Workload API socket, e.g. unix:///run/sigil/workload-api.sock (a Sigil connector's SIGIL_WORKLOAD_API_SOCKET) or SPIRE's agent socket` +
        (prefix ? ` (or ${prefix}SPIFFE_SOCKET)` : ''),
      { details: { variable: GRPC_TLS_SETTINGS.spiffeEndpointSocket.env } },
    );
  const address = chosen.value.startsWith('/') ? `unix://${chosen.value}` : chosen.value;
  parseWorkloadApiEndpoint(address, chosen.origin);
  return { address, origin: chosen.origin };
}
