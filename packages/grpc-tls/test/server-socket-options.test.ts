// The socket options a server built by createServerCredentials asks for: grpc-js hands its
// credentials' constructor options to http2.createSecureServer, whose net.Server applies
// `noDelay` to every accepted socket (grpc-js itself sets it only on its client sockets).
import { createMemoryLogger } from '@sigil/testing';
import { Registry } from 'prom-client';
import { createRotatingIdentity, createServerCredentials, loadServerTlsConfig } from '../src';
import { createPki } from './support/fixtures';

test('accepted sockets disable Nagle (noDelay), so small HTTP/2 frames are not held back', async () => {
  const pki = await createPki();
  const serving = await pki.issue({ spiffeId: 'spiffe://example.org/connector/edge' });
  const identity = createRotatingIdentity(
    {
      certificateChainPem: serving.chainPem,
      privateKeyPem: serving.privateKeyPem!,
      caPem: pki.ca.bundlePem,
    },
    { requireIssuedByBundle: false },
  );
  const handle = await createServerCredentials(
    loadServerTlsConfig({ identity, clientCertificate: 'require', env: {} }),
    { logger: createMemoryLogger().logger, registry: new Registry() },
  );
  try {
    expect(handle.credentials._getConstructorOptions()).toMatchObject({
      noDelay: true,
      requestCert: true,
      rejectUnauthorized: true,
    });
  } finally {
    handle.close();
  }
});
