// mTLS credentials for the loopback tests, from certificates issued by @sigil/pki.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createCertificateAuthority } from '@sigil/pki';
import type { CertificateAuthority, IssueOptions } from '@sigil/pki';

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
   * `spiffeId` as its one URI SAN: TLS accepts it, the X509-SVID leaf rules do not. Made with the
   * openssl command, since @sigil/pki refuses to issue such a certificate.
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
      const work = mkdtempSync(join(tmpdir(), 'sigil-forged-ca-'));
      try {
        const file = (name: string, content?: string): string => {
          if (content !== undefined) writeFileSync(join(work, name), content);
          return join(work, name);
        };
        const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
        openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file('key.pem'));
        openssl(
          'req',
          '-new',
          '-key',
          file('key.pem'),
          '-subj',
          '/CN=ca-as-caller',
          '-out',
          file('csr.pem'),
        );
        openssl(
          'x509',
          '-req',
          '-in',
          file('csr.pem'),
          '-days',
          '1',
          '-set_serial',
          '4243',
          '-CA',
          file('ca.crt', ca.certificatePem),
          '-CAkey',
          file('ca.key', ca.privateKeyPem),
          '-extfile',
          file(
            'ext.cnf',
            `basicConstraints = critical, CA:TRUE\nkeyUsage = critical, digitalSignature, keyCertSign\nsubjectAltName = URI:${spiffeId}\n`,
          ),
          '-out',
          file('cert.pem'),
        );
        return grpc.credentials.createSsl(
          caPem,
          readFileSync(file('key.pem')),
          readFileSync(file('cert.pem')),
        );
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    },
  };
}
