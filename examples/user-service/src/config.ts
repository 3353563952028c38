import { join } from 'node:path';
import {
  loadGrpcServiceConfig,
  loadUpstreamConfig,
  type Environment,
  type GrpcServiceConfig,
  type UpstreamConfig,
} from '@sigil/grpc-service';

/**
 * user-service's configuration: the common service settings plus how to reach identity-service.
 *
 * @example
 * ```ts
 * const config: UserServiceConfig = loadUserServiceConfig(process.env);
 * console.log(config.identity.address);
 * ```
 */
export interface UserServiceConfig extends GrpcServiceConfig {
  /** `IDENTITY_SERVICE_ADDR` (default `localhost:50051`) and client mTLS. */
  identity: UpstreamConfig;
}

/**
 * The default authorization policy template shipped with the package: admits content-service only.
 *
 * @example
 * ```ts
 * console.log(readFileSync(USER_SERVICE_DEFAULT_POLICY, 'utf8'));
 * ```
 */
export const USER_SERVICE_DEFAULT_POLICY = join(__dirname, '..', 'policy', 'default.yaml');

/**
 * Parses user-service's environment once: the common service settings (`GRPC_LISTEN_ADDR`, default
 * `0.0.0.0:50052`, ...), `IDENTITY_SERVICE_ADDR` and client mTLS (`GRPC_CLIENT_CERT_PATH`, ...;
 * identity-service must present `spiffe://<trust domain>/svc/identity-service`).
 *
 * @example
 * ```ts
 * const config = loadUserServiceConfig(process.env);
 * ```
 */
export function loadUserServiceConfig(env: Environment): UserServiceConfig {
  const config = loadGrpcServiceConfig(env, {
    name: 'user-service',
    defaultPort: 50052,
    defaultPolicyPath: USER_SERVICE_DEFAULT_POLICY,
  });
  const identity = loadUpstreamConfig(env, {
    name: 'identity-service',
    variable: 'IDENTITY_SERVICE_ADDR',
    defaultAddress: 'localhost:50051',
    trustDomain: config.trustDomain,
  });
  return { ...config, identity };
}
