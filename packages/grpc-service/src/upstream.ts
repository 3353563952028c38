import * as grpc from '@grpc/grpc-js';
import { createClientCredentials } from '@sigil/grpc-tls';
import type pino from 'pino';
import type { Registry } from 'prom-client';
import type { UpstreamConfig } from './grpc-service-config';
import { isRpcError, rpcError } from './rpc';

/** The request and response types of a grpc-js client's unary method (its last overload). */
type UnarySignature<F> = F extends (
  request: infer Request,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: infer Response) => void,
) => grpc.ClientUnaryCall
  ? { request: Request; response: Response }
  : never;

/**
 * Names of the unary methods of a generated client.
 *
 * @example
 * ```ts
 * const method: UnaryMethodName<identityV1.IdentityServiceClient> = 'validateToken';
 * ```
 */
export type UnaryMethodName<C> = {
  [K in keyof C]: UnarySignature<C[K]> extends never ? never : K;
}[keyof C] &
  string;

/**
 * Options of {@link Upstream.call}.
 *
 * @example
 * ```ts
 * const options: UpstreamCallOptions = { parent: call, passThrough: [grpc.status.UNAUTHENTICATED] };
 * ```
 */
export interface UpstreamCallOptions {
  /** The server call being handled: its deadline and cancellation propagate to this call. */
  parent?: grpc.CallOptions['parent'];
  /** Statuses handed back to the caller as they are (`all`: every one); any other failure becomes UNAVAILABLE. */
  passThrough?: readonly grpc.status[] | 'all';
  metadata?: grpc.Metadata;
}

/**
 * A service this one calls, from {@link createUpstream}.
 *
 * @example
 * ```ts
 * const users: Upstream<userV1.UserServiceClient> = await createUpstream(userV1.UserServiceClient, { config: config.users, logger });
 * const author = await users.call('getUser', { id: '', sessionToken }, { parent: call });
 * ```
 */
export interface Upstream<C extends grpc.Client> {
  /** The upstream's name (e.g. `identity-service`), used in logs and errors. */
  readonly name: string;
  /** The generated grpc-js client, for streaming calls. */
  readonly client: C;
  /**
   * Calls a unary method with the default deadline (or the parent's, when sooner). A failure is
   * logged as `upstream.failed` and rejects with an RpcError: the upstream's own status when it
   * is listed in `passThrough`, else UNAVAILABLE naming the upstream, the method and the reason.
   */
  call<K extends UnaryMethodName<C>>(
    method: K,
    request: UnarySignature<C[K]>['request'],
    options?: UpstreamCallOptions,
  ): Promise<UnarySignature<C[K]>['response']>;
  /** Closes the channel and stops watching the certificate files. */
  close(): void;
}

/**
 * Options for {@link createUpstream}.
 *
 * @example
 * ```ts
 * const options: UpstreamOptions = { config: config.identity, logger, registry, timeoutMs: 2000 };
 * ```
 */
export interface UpstreamOptions {
  /** Name, address and client mTLS settings, from {@link loadUpstreamConfig}. */
  config: UpstreamConfig;
  logger: pino.Logger;
  /** Where the client TLS metrics go. */
  registry?: Registry;
  /** Deadline of each call in milliseconds; default 5000. */
  timeoutMs?: number;
}

/**
 * A generated grpc-js client constructor (`identityV1.IdentityServiceClient`, ...).
 *
 * @example
 * ```ts
 * const Client: ClientConstructor<identityV1.IdentityServiceClient> = identityV1.IdentityServiceClient;
 * ```
 */
export type ClientConstructor<C extends grpc.Client> = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: Partial<grpc.ChannelOptions>,
) => C;

/**
 * Connects to a service this one depends on: client mTLS from `@sigil/grpc-tls` (verifying the
 * upstream's SPIFFE ID, rotating with the certificate files), promise-based unary calls with
 * deadline propagation, and uniform error mapping.
 *
 * @example
 * ```ts
 * const identity = await createUpstream(identityV1.IdentityServiceClient, { config: config.identity, logger });
 * const session = await identity.call('validateToken', { token }, { parent: call });
 * ```
 */
export async function createUpstream<C extends grpc.Client>(
  Client: ClientConstructor<C>,
  options: UpstreamOptions,
): Promise<Upstream<C>> {
  const { logger } = options;
  const { name, address } = options.config;
  const timeoutMs = options.timeoutMs ?? 5000;
  const tls = await createClientCredentials(options.config.tls, {
    logger,
    ...(options.registry ? { registry: options.registry } : {}),
  });
  const client = new Client(address, tls.credentials, tls.channelOptions);
  return {
    name,
    client,
    call(method, request, callOptions = {}) {
      const grpcOptions: Partial<grpc.CallOptions> = { deadline: Date.now() + timeoutMs };
      if (callOptions.parent !== undefined) grpcOptions.parent = callOptions.parent;
      const invoke = (client[method] as (...args: unknown[]) => grpc.ClientUnaryCall).bind(client);
      return new Promise((resolve, reject) => {
        invoke(
          request,
          callOptions.metadata ?? new grpc.Metadata(),
          grpcOptions,
          (err: grpc.ServiceError | null, response: never) => {
            if (err === null) {
              resolve(response);
              return;
            }
            logger.warn(
              {
                event: 'upstream.failed',
                upstream: name,
                method,
                code: grpc.status[err.code],
                details: err.details,
              },
              'upstream.failed',
            );
            const { passThrough = [] } = callOptions;
            if (isRpcError(err) && (passThrough === 'all' || passThrough.includes(err.code)))
              reject(rpcError(err.code, err.details));
            else
              reject(
                rpcError(
                  grpc.status.UNAVAILABLE,
                  `${name} ${method} failed: ${grpc.status[err.code]}: ${err.details}`,
                ),
              );
          },
        );
      });
    },
    close() {
      client.close();
      tls.close();
    },
  };
}
