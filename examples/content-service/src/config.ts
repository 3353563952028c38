import { join } from 'node:path';
import { SigilError } from '@sigil/errors';
import { formatSpiffeId } from '@sigil/pki';
import {
  loadGrpcServiceConfig,
  loadUpstreamConfig,
  parseSpiffeIdList,
  type Environment,
  type GrpcServiceConfig,
  type UpstreamConfig,
} from '@sigil/grpc-service';

/**
 * The variable listing the client SPIFFE IDs the default policy admits.
 *
 * @example
 * ```ts
 * process.env[ALLOWED_CLIENTS_ENV] = 'spiffe://example.org/client/web,spiffe://example.org/client/cli';
 * ```
 */
export const ALLOWED_CLIENTS_ENV = 'CONTENT_SERVICE_ALLOWED_CLIENTS';

/**
 * content-service's configuration: the common service settings plus how to reach user-service.
 *
 * @example
 * ```ts
 * const config: ContentServiceConfig = loadContentServiceConfig(process.env);
 * console.log(config.users.address);
 * ```
 */
export interface ContentServiceConfig extends GrpcServiceConfig {
  /** `USER_SERVICE_ADDR` (default `localhost:50052`) and client mTLS. */
  users: UpstreamConfig;
}

/**
 * The default authorization policy template shipped with the package: admits the allowed clients.
 *
 * @example
 * ```ts
 * console.log(readFileSync(CONTENT_SERVICE_DEFAULT_POLICY, 'utf8'));
 * ```
 */
export const CONTENT_SERVICE_DEFAULT_POLICY = join(__dirname, '..', 'policy', 'default.yaml');

/**
 * Parses content-service's environment once: the common service settings (`GRPC_LISTEN_ADDR`,
 * default `0.0.0.0:50053`, ...), `USER_SERVICE_ADDR` and client mTLS (user-service must present
 * `spiffe://<trust domain>/svc/user-service`), and `CONTENT_SERVICE_ALLOWED_CLIENTS`
 * (comma-separated SPIFFE IDs admitted by the default policy; default
 * `spiffe://<trust domain>/client/web`). Setting it together with `SIGIL_AUTHZ_POLICY` is an
 * error: the policy file alone decides then.
 *
 * @example
 * ```ts
 * const config = loadContentServiceConfig(process.env);
 * ```
 */
export function loadContentServiceConfig(env: Environment): ContentServiceConfig {
  const allowedClients = parseSpiffeIdList(env, ALLOWED_CLIENTS_ENV, []);
  if (allowedClients.length > 0 && (env.SIGIL_AUTHZ_POLICY ?? '').trim() !== '') {
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `${ALLOWED_CLIENTS_ENV} only shapes the default policy, and SIGIL_AUTHZ_POLICY replaces it; list the clients in ${env.SIGIL_AUTHZ_POLICY} and unset ${ALLOWED_CLIENTS_ENV}`,
      { details: { variable: ALLOWED_CLIENTS_ENV } },
    );
  }
  const config = loadGrpcServiceConfig(env, {
    name: 'content-service',
    defaultPort: 50053,
    defaultPolicyPath: CONTENT_SERVICE_DEFAULT_POLICY,
    policyVariables: (trustDomain) => ({
      allowedClients:
        allowedClients.length > 0
          ? allowedClients
          : [String(formatSpiffeId(trustDomain, 'client', 'web'))],
    }),
  });
  const users = loadUpstreamConfig(env, {
    name: 'user-service',
    variable: 'USER_SERVICE_ADDR',
    defaultAddress: 'localhost:50052',
    trustDomain: config.trustDomain,
  });
  return { ...config, users };
}
