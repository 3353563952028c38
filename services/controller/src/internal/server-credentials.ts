import * as grpc from '@grpc/grpc-js';

type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

/** The controller's TLS material, swappable while the server runs. */
export interface ServerTlsMaterial {
  /** Serving certificate then intermediates, PEM. */
  certificateChainPem: string;
  privateKeyPem: string;
  /** Roots client certificates are verified against (the runtime bundle). */
  clientCaPem: string;
}

/** gRPC server credentials fed from memory; `update` swaps certificate and/or client CA for new handshakes. */
export interface MemoryServerCredentials {
  credentials: grpc.ServerCredentials;
  update(material: Partial<ServerTlsMaterial>): void;
}

/**
 * Server credentials that REQUEST a client certificate but do not require one (Enroll is called
 * without), verifying any presented certificate against `clientCaPem` so grpc-js exposes it in
 * `getAuthContext()` only when it chains to the runtime CA. Built on grpc-js's certificate-provider
 * credentials with an in-memory provider instead of its file watcher.
 */
export function createMemoryServerCredentials(initial: ServerTlsMaterial): MemoryServerCredentials {
  let material = initial;
  const caListeners = new Set<CaListener>();
  const identityListeners = new Set<IdentityListener>();
  const caUpdate = (): grpc.experimental.CaCertificateUpdate => ({
    caCertificate: Buffer.from(material.clientCaPem),
  });
  const identityUpdate = (): grpc.experimental.IdentityCertificateUpdate => ({
    certificate: Buffer.from(material.certificateChainPem),
    privateKey: Buffer.from(material.privateKeyPem),
  });
  const provider: grpc.experimental.CertificateProvider = {
    addCaCertificateListener(listener) {
      caListeners.add(listener);
      // Deliver on the next tick, as grpc-js's own provider does: the server registers its
      // watcher only after adding these listeners, so a synchronous update would be lost.
      process.nextTick(() => listener(caUpdate()));
    },
    removeCaCertificateListener(listener) {
      caListeners.delete(listener);
    },
    addIdentityCertificateListener(listener) {
      identityListeners.add(listener);
      process.nextTick(() => listener(identityUpdate()));
    },
    removeIdentityCertificateListener(listener) {
      identityListeners.delete(listener);
    },
  };
  // grpc-js 1.14 passes its first argument to the IDENTITY slot and the second to the CA slot,
  // whatever the parameter names in its typings say; `false` = client certificate optional.
  const credentials = grpc.experimental.createCertificateProviderServerCredentials(
    provider,
    provider,
    false,
  );
  return {
    credentials,
    update(next) {
      const caChanged = next.clientCaPem !== undefined && next.clientCaPem !== material.clientCaPem;
      const identityChanged =
        next.certificateChainPem !== undefined || next.privateKeyPem !== undefined;
      material = { ...material, ...next };
      if (caChanged) for (const listener of caListeners) listener(caUpdate());
      if (identityChanged) for (const listener of identityListeners) listener(identityUpdate());
    },
  };
}
