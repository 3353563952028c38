import * as grpc from '@grpc/grpc-js';
import { SigilError } from '@sigil/errors';
import { controlplaneV1 } from '@sigil/proto';
import type { OpenedStream } from './stream-supervisor';
import { describeServiceError, isServiceError } from './internal/grpc-errors';

/**
 * Options of `createControllerDialer`.
 *
 * @example
 * ```ts
 * const options: ControllerDialerOptions = {
 *   addresses: config.controllerAddresses!, serverName: config.controllerServerName, timeoutMs: 5_000,
 *   credentials: () => controllerCredentials.credentials,
 * };
 * const dialer = createControllerDialer(options);
 * ```
 */
export interface ControllerDialerOptions {
  /** CONTROLLER_ADDR entries, in failover order. */
  addresses: readonly string[];
  /** mTLS credentials with the agent's current certificate, verifying the controller. */
  credentials: () => grpc.ChannelCredentials;
  /** CONTROLLER_SERVER_NAME. */
  serverName?: string;
  /** Deadline of unary calls. Default 15 s. */
  timeoutMs?: number;
}

/**
 * Reaches the controller's ControlPlaneService, see `createControllerDialer`.
 *
 * @example
 * ```ts
 * const dialer: ControllerDialer = createControllerDialer({ addresses, credentials: () => controllerCredentials.credentials });
 * const bundle = await dialer.getTrustBundle();
 * await session.applyBundle(bundle);
 * ```
 */
export interface ControllerDialer {
  readonly addresses: readonly string[];
  /** Opens Connect on a connection of its own (for a stream supervisor). */
  openConnect(
    address: string,
  ): OpenedStream<controlplaneV1.AgentMessage, controlplaneV1.ControllerMessage>;
  /** Renew with failover. */
  renew(request: controlplaneV1.RenewRequest): Promise<controlplaneV1.RenewResponse>;
  /** GetTrustBundle with failover. */
  getTrustBundle(): Promise<controlplaneV1.TrustBundle>;
  /** SignWorkloadSvid with failover: an X509-SVID for one of this agent's registration entries. */
  signWorkloadSvid(
    request: controlplaneV1.SignWorkloadSvidRequest,
  ): Promise<controlplaneV1.SignWorkloadSvidResponse>;
  /** MintJwtSvid with failover. */
  mintJwtSvid(
    request: controlplaneV1.MintJwtSvidRequest,
  ): Promise<controlplaneV1.MintJwtSvidResponse>;
}

type Unary<Req, Res> = (
  client: controlplaneV1.ControlPlaneServiceClient,
  request: Req,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, res?: Res) => void,
) => void;

/**
 * The agent's way to the controller over mTLS. Every call gets a connection of its own
 * (`grpc.use_local_subchannel_pool`), so it handshakes with the certificate current at that
 * moment: a long-lived Connect stream keeps its connection across renewals, while a Renew made
 * after the first certificate expired does not ride that old connection (and its old
 * certificate). Unary calls fail over: the last address that answered first, then the others
 * in order, moving on only when an address is unreachable.
 *
 * @example
 * ```ts
 * const dialer = createControllerDialer({ addresses: ['10.0.0.5:8443', '10.0.0.6:8443'], credentials: () => tls.channelCredentials() });
 * const renewed = await dialer.renew({ csrPem });
 * ```
 */
export function createControllerDialer(options: ControllerDialerOptions): ControllerDialer {
  if (options.addresses.length === 0)
    throw new SigilError('ERR_CONFIG_MISSING', 'no controller address (CONTROLLER_ADDR)');
  let preferred = 0;
  const channelOptions: grpc.ChannelOptions = {
    'grpc.use_local_subchannel_pool': 1,
    ...(options.serverName === undefined
      ? {}
      : { 'grpc.ssl_target_name_override': options.serverName }),
  };
  const client = (address: string): controlplaneV1.ControlPlaneServiceClient =>
    new controlplaneV1.ControlPlaneServiceClient(address, options.credentials(), channelOptions);

  const unary = async <Req, Res>(
    method: string,
    call: Unary<Req, Res>,
    request: Req,
  ): Promise<Res> => {
    const failures: string[] = [];
    for (let attempt = 0; attempt < options.addresses.length; attempt += 1) {
      const index = (preferred + attempt) % options.addresses.length;
      const address = options.addresses[index]!;
      const channel = client(address);
      try {
        const response = await new Promise<Res>((resolve, reject) => {
          const deadline = new Date(Date.now() + (options.timeoutMs ?? 15_000));
          call(channel, request, { deadline }, (err, res) => (err ? reject(err) : resolve(res!)));
        });
        preferred = index;
        return response;
      } catch (err) {
        if (
          !isServiceError(err) ||
          (err.code !== grpc.status.UNAVAILABLE && err.code !== grpc.status.DEADLINE_EXCEEDED)
        )
          throw err;
        failures.push(`${address}: ${describeServiceError(err)}`);
      } finally {
        channel.close();
      }
    }
    throw new SigilError(
      'ERR_CONTROLLER_UNREACHABLE',
      `${method}: no controller reachable (${failures.join('; ')})`,
      {
        details: { addresses: options.addresses },
      },
    );
  };

  return {
    addresses: options.addresses,
    openConnect(address) {
      const channel = client(address);
      return { stream: channel.connect(), close: () => channel.close() };
    },
    renew: (request) =>
      unary('Renew', (c, req, opts, cb) => c.renew(req, new grpc.Metadata(), opts, cb), request),
    getTrustBundle: () =>
      unary(
        'GetTrustBundle',
        (c, req, opts, cb) => c.getTrustBundle(req, new grpc.Metadata(), opts, cb),
        {},
      ),
    signWorkloadSvid: (request) =>
      unary(
        'SignWorkloadSvid',
        (c, req, opts, cb) => c.signWorkloadSvid(req, new grpc.Metadata(), opts, cb),
        request,
      ),
    mintJwtSvid: (request) =>
      unary(
        'MintJwtSvid',
        (c, req, opts, cb) => c.mintJwtSvid(req, new grpc.Metadata(), opts, cb),
        request,
      ),
  };
}
