import type { ServerInterceptor } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createAuthorizationInterceptor } from './authorization-interceptor';
import type { AuthorizationDenial } from './authorization-interceptor';
import type { AuthorizationPolicy } from './authorization-policy';
import { defaultLogger } from './internal/default-logger';
import { createObservingInterceptor } from './internal/observing-interceptor';
import type { CallObserver } from './internal/observing-interceptor';
import { createJwtInterceptor } from './jwt-interceptor';
import type { JwtInterceptorOptions } from './jwt-interceptor';
import { requestLogger } from './logging-interceptor';
import { requestMetrics } from './metrics-interceptor';
import type { PeerTrust } from './peer-identity-types';

/**
 * Options of {@link createServerInterceptors}.
 *
 * @example
 * ```ts
 * const options: ServerInterceptorsOptions = { policy: authorizationPolicyFromEnv(process.env), logger, registry };
 * ```
 */
export interface ServerInterceptorsOptions {
  /** The authorization policy (deny by default: there is no chain without one). */
  policy: AuthorizationPolicy;
  /** For request logs, denials and token rejections; default: a pino logger to stdout. */
  logger?: Logger;
  /** For request metrics and refusal counters; default: prom-client's global registry. */
  registry?: Registry;
  /** Turns on bearer-token verification (logger and registry are the ones above). */
  jwt?: Omit<JwtInterceptorOptions, 'logger' | 'registry'>;
  /** Request logging; default true. */
  requestLogging?: boolean;
  /** Request metrics; default true. */
  requestMetrics?: boolean;
  /** Re-validate the peer certificate on every call against the bundle as it is now (see {@link PeerTrust}). */
  peerTrust?: PeerTrust;
  /** Called for every call the authorization refuses (see {@link AuthorizationDenial}). */
  onDenied?: (denial: AuthorizationDenial) => void;
}

/**
 * The standard Sigil server chain, in the order it must run: identity, then request logging and
 * metrics (so they also see calls refused later), then JWT verification (when `jwt` is given),
 * then authorization, right before the handler. grpc-js passes incoming events through the
 * `interceptors` array from first to last, so the array is in that order. Identity, logging and
 * metrics behave as {@link createIdentityInterceptor}, {@link createLoggingInterceptor} and
 * {@link createMetricsInterceptor} but share one interceptor layer, as every layer costs time on
 * every call; the array therefore holds two or three interceptors.
 *
 * @example
 * ```ts
 * const server = new grpc.Server({
 *   interceptors: createServerInterceptors({ policy: authorizationPolicyFromEnv(process.env, defaultPolicy), logger, registry }),
 * });
 * ```
 */
export function createServerInterceptors(options: ServerInterceptorsOptions): ServerInterceptor[] {
  const logger = options.logger ?? defaultLogger();
  const { registry } = options;
  // Identity, logging and metrics share one interceptor layer (each layer costs per call).
  const observers: CallObserver[] = [];
  if (options.requestLogging ?? true) observers.push(requestLogger(logger));
  if (options.requestMetrics ?? true)
    observers.push(requestMetrics(registry === undefined ? {} : { registry }));
  const chain: ServerInterceptor[] = [
    createObservingInterceptor(observers, { resolveIdentity: true, peerTrust: options.peerTrust }),
  ];
  if (options.jwt !== undefined)
    chain.push(
      createJwtInterceptor({
        ...options.jwt,
        logger,
        ...(registry === undefined ? {} : { registry }),
      }),
    );
  chain.push(
    createAuthorizationInterceptor({
      policy: options.policy,
      logger,
      ...(registry === undefined ? {} : { registry }),
      ...(options.peerTrust === undefined ? {} : { peerTrust: options.peerTrust }),
      ...(options.onDenied === undefined ? {} : { onDenied: options.onDenied }),
    }),
  );
  return chain;
}
