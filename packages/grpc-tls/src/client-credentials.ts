import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { createSecureContext } from 'node:tls';
import type { ChannelOptions, experimental } from '@grpc/grpc-js';
import { CallCredentials, ChannelCredentials, credentials as grpcCredentials } from '@grpc/grpc-js';
import { isSigilError, SigilError } from '@sigil/errors';
import type { Registry } from 'prom-client';
import type { ClientTlsConfig } from './config';
import { loadClientTlsConfig } from './config';
import type { CredentialsOptions, ReloadResult, ServedCertificate } from './credentials-types';
import { openEndpoint, served } from './internal/endpoint';
import { classifyHandshakeError, isCertificateProblem } from './internal/handshake-errors';
import { explainClientHandshakeFailure } from './internal/handshake-explanations';
import type { HandshakeFailure } from './internal/handshake-log';
import { createHandshakeLog } from './internal/handshake-log';
import type { Material } from './internal/material';
import type { TlsMetrics } from './internal/metrics';
import { createServerIdentityCheck } from './internal/server-identity';

/**
 * What {@link createClientCredentials} returns.
 *
 * @example
 * ```ts
 * const tls: ClientCredentialsHandle = await createClientCredentials();
 * const client = new IdentityServiceClient('identity-service:50051', tls.credentials, { ...tls.channelOptions });
 * ```
 */
export interface ClientCredentialsHandle {
  /** Pass to a generated client or `new grpc.Client(target, credentials, channelOptions)`. */
  readonly credentials: ChannelCredentials;
  /**
   * Channel options the credentials need: with a server-name override, `grpc.ssl_target_name_override`
   * and `grpc.default_authority`. Spread them into your client options.
   */
  readonly channelOptions: ChannelOptions;
  readonly config: ClientTlsConfig;
  /** The registry holding the `grpc_tls_*` metrics. */
  readonly registry: Registry;
  /** The client certificate presented now (undefined in insecure mode or without one). */
  readonly certificate: ServedCertificate | undefined;
  /** Re-reads the files now (file mode); otherwise reports `unchanged`. */
  reload(): ReloadResult;
  /** Called after each applied or rejected rotation; returns the unsubscribe function. */
  onReload(listener: (result: ReloadResult) => void): () => void;
  /** Stops watching files and SIGHUP; existing channels keep their current credentials. */
  close(): void;
}

/** The secure context of the current material, rebuilt only when the material rotates. */
interface ContextState {
  generation: number;
  delegate: ChannelCredentials;
}

/**
 * Channel credentials over a cached secure context that is swapped on rotation. grpc-js's
 * certificate-provider channel credentials build a fresh secure context for every connection,
 * which costs more than the handshake itself (see bench/grpc-tls.bench.js); here each connection
 * is made by grpc-js's own TLS connector for the current context, timed and classified for the
 * handshake metrics.
 */
class RotatingChannelCredentials extends ChannelCredentials {
  constructor(
    private readonly state: ContextState,
    private readonly metrics: TlsMetrics,
    private readonly config: ClientTlsConfig,
    private readonly logFailure: (failure: HandshakeFailure) => void,
  ) {
    super();
  }

  _isSecure(): boolean {
    return true;
  }

  _equals(other: ChannelCredentials): boolean {
    return other === this;
  }

  _createSecureConnector(
    target: experimental.GrpcUri,
    options: ChannelOptions,
    callCredentials?: CallCredentials,
  ): experimental.SecureConnector {
    const { state, metrics, config, logFailure } = this;
    const calls = callCredentials ?? CallCredentials.createEmpty();
    let generation = -1;
    let connector: experimental.SecureConnector | undefined;
    return {
      connect(socket) {
        if (generation !== state.generation || !connector) {
          connector?.destroy();
          connector = withoutIpServerName(
            state.delegate._createSecureConnector(target, options, calls),
          );
          generation = state.generation;
        }
        const start = process.hrtime.bigint();
        const peer = `${socket.remoteAddress}:${socket.remotePort}`;
        return connector.connect(socket).then(
          (result) => {
            metrics.handshakeDuration.observe(
              { side: 'client' },
              Number(process.hrtime.bigint() - start) / 1e9,
            );
            return result;
          },
          (error: unknown) => {
            const reason = classifyHandshakeError(error);
            metrics.handshakeErrors.inc({ side: 'client', reason });
            if (isCertificateProblem(reason))
              metrics.validationFailures.inc({ side: 'client', origin: 'peer', reason });
            const explained = explainFailure(error, config);
            logFailure({
              side: 'client',
              reason,
              peer,
              error: explained.message,
            });
            throw explained;
          },
        );
      },
      waitForReady: () => Promise.resolve(),
      getCallCredentials: () => calls,
      destroy: () => connector?.destroy(),
    };
  }
}

/**
 * Builds grpc-js channel credentials from a configuration (default: {@link loadClientTlsConfig}
 * of the environment): the CA bundle verifies the server, the client certificate is presented for
 * mutual TLS, the server is checked by expected SPIFFE ID (URI-SAN-only certificates work) or by
 * host name, and the certificate and bundle rotate without touching open channels.
 *
 * @example
 * ```ts
 * import { createClientCredentials, ClientTlsConfig } from '@sigil/grpc-tls';
 *
 * const tls = await createClientCredentials(ClientTlsConfig.fromEnv());
 * const client = new UserServiceClient('user-service.nova.svc.cluster.local:50052', tls.credentials, tls.channelOptions);
 * ```
 */
export async function createClientCredentials(
  config: ClientTlsConfig = loadClientTlsConfig(),
  options: CredentialsOptions = {},
): Promise<ClientCredentialsHandle> {
  const channelOptions: ChannelOptions = config.serverName
    ? {
        'grpc.ssl_target_name_override': config.serverName,
        'grpc.default_authority': config.serverName,
      }
    : {};
  const endpoint = await openEndpoint(config, options);
  const { store } = endpoint;
  if (!store) {
    return {
      credentials: grpcCredentials.createInsecure(),
      channelOptions: {},
      config,
      registry: endpoint.registry,
      certificate: undefined,
      reload: endpoint.reload,
      onReload: endpoint.onReload,
      close: endpoint.close,
    };
  }
  assertConnectorSupport();
  // Mode spiffe without an expected ID: any server of the Workload API SVID's own trust domain.
  const spiffeDefault =
    config.mode === 'spiffe' && config.expectedServerIds.length === 0 && store.current.spiffeId
      ? `spiffe://${new URL(store.current.spiffeId).host}`
      : undefined;
  const verifyOptions = config.insecureSkipVerify
    ? { rejectUnauthorized: false, checkServerIdentity: () => undefined }
    : {
        checkServerIdentity: spiffeDefault
          ? createServerIdentityCheck([spiffeDefault], 'the Workload API trust domain')
          : createServerIdentityCheck(config.expectedServerIds, config.expectedServerIdOrigin),
      };
  const delegateFor = (material: Material): ChannelCredentials =>
    grpcCredentials.createFromSecureContext(
      createSecureContext({
        ...(material.caPem ? { ca: material.caPem } : {}),
        ...(material.certificateChainPem
          ? { cert: material.certificateChainPem, key: material.privateKeyPem }
          : {}),
        minVersion: config.minVersion,
        ...(config.ciphers ? { ciphers: config.ciphers } : {}),
      }),
      verifyOptions,
    );
  const state: ContextState = {
    generation: store.current.version,
    delegate: delegateFor(store.current),
  };
  endpoint.onRotate((material) => {
    state.delegate = delegateFor(material);
    state.generation = material.version;
  });
  return {
    credentials: new RotatingChannelCredentials(
      state,
      endpoint.metrics,
      config,
      createHandshakeLog(endpoint.logger),
    ),
    channelOptions,
    config,
    registry: endpoint.registry,
    get certificate() {
      return served(store.current).certificate;
    },
    reload: endpoint.reload,
    onReload: endpoint.onReload,
    close: endpoint.close,
  };
}

/**
 * grpc-js sends the dialled host as the TLS server name (SNI), an IP address too, which RFC 6066
 * forbids and Node deprecates with a warning (DEP0123) on the first such connection. Without a
 * server name Node checks the certificate against the dialled host all the same, and a
 * `grpc.ssl_target_name_override` is checked by grpc-js's own wrapper of the identity check.
 */
function withoutIpServerName(
  connector: experimental.SecureConnector,
): experimental.SecureConnector {
  const options = (connector as { connectionOptions?: ConnectionOptions }).connectionOptions;
  if (options?.servername !== undefined && isIP(options.servername) !== 0)
    delete options.servername;
  return connector;
}

/** The error a failed handshake surfaces with (in the call's details): our words first, OpenSSL's after. */
function explainFailure(error: unknown, config: ClientTlsConfig): Error {
  if (isSigilError(error)) return error;
  const explanation = explainClientHandshakeFailure(error, config);
  if (explanation === undefined) return error as Error;
  return new SigilError(
    'ERR_TLS_HANDSHAKE_FAILED',
    `${explanation} (${(error as Error).message})`,
    {
      cause: error,
      details: { code: (error as { code?: string }).code },
    },
  );
}

/** The connector hook this relies on exists in grpc-js >= 1.12; fail at start-up, not at the first call. */
function assertConnectorSupport(): void {
  const probe = grpcCredentials.createInsecure() as unknown as { _createSecureConnector?: unknown };
  if (typeof probe._createSecureConnector !== 'function') {
    throw new SigilError(
      'ERR_TLS_GRPC_UNSUPPORTED',
      '@sigil/grpc-tls needs @grpc/grpc-js 1.12 or later (ChannelCredentials._createSecureConnector is missing)',
    );
  }
}
