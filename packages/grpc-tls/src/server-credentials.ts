import type { SecureServerOptions } from 'node:http2';
import type { SecureContextOptions } from 'node:tls';
import { ServerCredentials } from '@grpc/grpc-js';
import { SigilError } from '@sigil/errors';
import type { Registry } from 'prom-client';
import type { ServerTlsConfig } from './config';
import { loadServerTlsConfig } from './config';
import type { CredentialsOptions, ReloadResult, ServedCertificate } from './credentials-types';
import { openEndpoint, served } from './internal/endpoint';
import type { Material } from './internal/material';
import { createHandshakeLog } from './internal/handshake-log';
import { observeServerHandshakes } from './internal/server-handshakes';

/**
 * What {@link createServerCredentials} returns.
 *
 * @example
 * ```ts
 * const tls: ServerCredentialsHandle = await createServerCredentials();
 * server.bindAsync(addr, tls.credentials, done);
 * metricsApp.get('/metrics', async (_req, res) => res.send(await tls.registry.metrics()));
 * ```
 */
export interface ServerCredentialsHandle {
  /** Pass to `server.bindAsync(address, credentials, callback)`. */
  readonly credentials: ServerCredentials;
  readonly config: ServerTlsConfig;
  /** The registry holding the `grpc_tls_*` metrics (the one passed in, or a fresh one to expose). */
  readonly registry: Registry;
  /** The certificate served now (undefined in insecure mode). */
  readonly certificate: ServedCertificate | undefined;
  /** Re-reads the files now (file mode); otherwise reports `unchanged`. */
  reload(): ReloadResult;
  /** Called after each applied or rejected rotation; returns the unsubscribe function. */
  onReload(listener: (result: ReloadResult) => void): () => void;
  /** Stops watching files and SIGHUP. The server keeps serving the last certificate. */
  close(): void;
}

/**
 * grpc-js ServerCredentials whose secure context can be replaced. Each update carries the full
 * context options (certificate, key, CA, minimum version, ciphers, session id context): grpc-js
 * hands them to `Http2SecureServer.setSecureContext`, which resets any option not passed, so the
 * stock certificate-provider credentials (which pass only ca/cert/key) would drop the TLS options
 * at the first rotation.
 */
class RotatingServerCredentials extends ServerCredentials {
  rotate(options: SecureContextOptions): void {
    this.updateSecureContextOptions(options);
  }

  _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

/**
 * Builds grpc-js server credentials from a configuration (default: {@link loadServerTlsConfig}
 * of the environment): reads and validates the certificate, key and CA (one error naming the
 * variable and file for a mismatched key, a certificate the CA did not sign, an expired
 * certificate), warns inside the expiry window, and keeps serving the newest valid files as
 * they rotate. In `insecure` mode it returns plaintext credentials and logs a loud warning.
 *
 * @example
 * ```ts
 * import { Server } from '@grpc/grpc-js';
 * import { createServerCredentials, ServerTlsConfig } from '@sigil/grpc-tls';
 *
 * const tls = await createServerCredentials(ServerTlsConfig.fromEnv(), { logger, registry });
 * const server = new Server();
 * server.addService(MyService, handlers);
 * server.bindAsync('0.0.0.0:50051', tls.credentials, (err) => { if (err) throw err; });
 * process.on('SIGTERM', () => { tls.close(); server.tryShutdown(() => process.exit(0)); });
 * ```
 */
export async function createServerCredentials(
  config: ServerTlsConfig = loadServerTlsConfig(),
  options: CredentialsOptions = {},
): Promise<ServerCredentialsHandle> {
  const endpoint = await openEndpoint(config, options);
  const { store } = endpoint;
  if (!store) {
    return {
      credentials: ServerCredentials.createInsecure(),
      config,
      registry: endpoint.registry,
      certificate: undefined,
      reload: endpoint.reload,
      onReload: endpoint.onReload,
      close: endpoint.close,
    };
  }
  const { clientCertificate } = config;
  if (clientCertificate !== 'none' && !store.current.caPem) {
    endpoint.close();
    throw new SigilError(
      'ERR_TLS_CONFIG_INVALID',
      `client certificates are ${clientCertificate === 'require' ? 'required' : 'requested'} but the identity has no CA bundle to verify them with`,
    );
  }
  const observer = observeServerHandshakes(endpoint.metrics, createHandshakeLog(endpoint.logger));
  const contextOptions = (material: Material): SecureContextOptions => ({
    cert: material.certificateChainPem!,
    key: material.privateKeyPem!,
    ...(material.caPem && clientCertificate !== 'none' ? { ca: material.caPem } : {}),
    minVersion: config.minVersion,
    ...(config.ciphers ? { ciphers: config.ciphers } : {}),
    sessionIdContext: observer.sessionIdContext,
  });
  const serverOptions: SecureServerOptions = {
    requestCert: clientCertificate !== 'none',
    // `request`: OpenSSL verifies a presented certificate against the CA but the handshake
    // completes whatever the verdict; grpc-js then exposes the peer certificate in
    // getAuthContext() only for an authorized socket, so an unverified one is no identity.
    rejectUnauthorized: clientCertificate === 'require',
    // No Nagle on accepted sockets (grpc-js sets it only on its client sockets): a small HTTP/2
    // frame written after an unacknowledged one is not held back up to a delayed-ACK timeout.
    noDelay: true,
  };
  const credentials = new RotatingServerCredentials(serverOptions, contextOptions(store.current));
  endpoint.onRotate((material) => credentials.rotate(contextOptions(material)));
  return {
    credentials,
    config,
    registry: endpoint.registry,
    get certificate() {
      return served(store.current).certificate;
    },
    reload: endpoint.reload,
    onReload: endpoint.onReload,
    close: () => {
      observer.stop();
      endpoint.close();
    },
  };
}
