// mTLS credentials for the loopback tests, from certificates issued by @sigil/pki.
import * as grpc from '@grpc/grpc-js';
import { createCertificateAuthority } from '@sigil/pki';
import type { CertificateAuthority, IssueOptions } from '@sigil/pki';
import { forgeCaCertificateWithSpiffeId } from '@sigil/testing';

export const TRUST_DOMAIN = 'example.org';
export const SERVER_ID = `spiffe://${TRUST_DOMAIN}/svc/test-server`;

/** Channel options for dialling 127.0.0.1 while checking the server certificate's DNS name (no IP as SNI). */
export const CLIENT_OPTIONS: grpc.ChannelOptions = {
  'grpc.ssl_target_name_override': 'localhost',
  'grpc.default_authority': 'localhost',
};

export interface TestPki {
  readonly ca: CertificateAuthority;
  /** Server credentials for 127.0.0.1; client certificates required unless told otherwise. */
  serverCredentials(options?: { requireClientCert?: boolean }): grpc.ServerCredentials;
  /** Client credentials with a certificate issued for `identity`, or none when `identity` is null. */
  clientCredentials(identity: IssueOptions | null): Promise<grpc.ChannelCredentials>;
  /**
   * Client credentials with a CA certificate (cA=true, keyCertSign) signed by the CA and carrying
   * `spiffeId` as its one URI SAN: TLS accepts it, the X509-SVID leaf rules do not.
   */
  caCertificateCredentials(spiffeId: string): grpc.ChannelCredentials;
}

export async function createTestPki(): Promise<TestPki> {
  const ca = await createCertificateAuthority({ trustDomain: TRUST_DOMAIN });
  const server = await ca.issue({ spiffeId: SERVER_ID, dnsNames: ['localhost'] });
  const caPem = Buffer.from(ca.bundlePem);
  return {
    ca,
    serverCredentials: ({ requireClientCert = true } = {}) =>
      grpc.ServerCredentials.createSsl(
        caPem,
        [
          {
            cert_chain: Buffer.from(server.chainPem),
            private_key: Buffer.from(server.privateKeyPem!),
          },
        ],
        requireClientCert,
      ),
    clientCredentials: async (identity) => {
      if (identity === null) return grpc.credentials.createSsl(caPem);
      const leaf = await ca.issue({
        profile: identity.spiffeId === undefined ? 'client' : 'svid',
        ...identity,
      });
      return grpc.credentials.createSsl(
        caPem,
        Buffer.from(leaf.privateKeyPem!),
        Buffer.from(leaf.chainPem),
      );
    },
    caCertificateCredentials: (spiffeId) => {
      const forged = forgeCaCertificateWithSpiffeId(ca, spiffeId);
      return grpc.credentials.createSsl(
        caPem,
        Buffer.from(forged.privateKeyPem),
        Buffer.from(forged.chainPem),
      );
    },
  };
}
