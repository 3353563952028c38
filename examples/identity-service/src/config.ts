import { join } from 'node:path';
import {
  loadGrpcServiceConfig,
  type Environment,
  type GrpcServiceConfig,
} from '@sigil/grpc-service';

/**
 * identity-service's configuration: only what every Sigil gRPC service reads (it calls nobody).
 *
 * @example
 * ```ts
 * const config: IdentityServiceConfig = loadIdentityServiceConfig(process.env);
 * ```
 */
export type IdentityServiceConfig = GrpcServiceConfig;

/**
 * The default authorization policy template shipped with the package: admits user-service only.
 *
 * @example
 * ```ts
 * console.log(readFileSync(IDENTITY_SERVICE_DEFAULT_POLICY, 'utf8'));
 * ```
 */
export const IDENTITY_SERVICE_DEFAULT_POLICY = join(__dirname, '..', 'policy', 'default.yaml');

/**
 * Parses identity-service's environment once: `GRPC_LISTEN_ADDR` (default `0.0.0.0:50051`),
 * `METRICS_LISTEN_ADDR`, `LOG_LEVEL`, `SHUTDOWN_TIMEOUT_MS`, server mTLS (`GRPC_SERVER_CERT_PATH`,
 * ...), `SIGIL_TRUST_DOMAIN`, `SIGIL_AUTHZ_POLICY`.
 *
 * @example
 * ```ts
 * const config = loadIdentityServiceConfig(process.env);
 * ```
 */
export function loadIdentityServiceConfig(env: Environment): IdentityServiceConfig {
  return loadGrpcServiceConfig(env, {
    name: 'identity-service',
    defaultPort: 50051,
    defaultPolicyPath: IDENTITY_SERVICE_DEFAULT_POLICY,
  });
}
