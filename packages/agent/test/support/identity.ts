// A connector identity issued by a throwaway CA, as enrollment would produce it.
import { generateKeyPair, type CertificateAuthority } from '@sigil/pki';
import type { AgentIdentity } from '../../src/identity';

export interface TestIdentityOptions {
  /** Issues the X509-SVID. */
  ca: CertificateAuthority;
  /** Pinned as the controller's bootstrap CA. Default `ca`. */
  controllerCa?: CertificateAuthority;
  /** Issuance time. Default now. */
  issuedAt?: Date;
  ttlSeconds?: number;
  renewals?: number;
}

/** `spiffe://example.org/connector/edge-1`, with a fresh key. */
export async function issueTestIdentity(options: TestIdentityOptions): Promise<AgentIdentity> {
  const issuedAt = options.issuedAt ?? new Date(Math.floor(Date.now() / 1000) * 1000);
  const key = await generateKeyPair('ec-p256');
  const issued = await options.ca.issue({
    spiffeId: 'spiffe://example.org/connector/edge-1',
    publicKey: key.publicKey,
    ttlSeconds: options.ttlSeconds ?? 600,
    now: issuedAt,
  });
  return {
    kind: 'connector',
    agentId: 'edge-1',
    spiffeId: 'spiffe://example.org/connector/edge-1',
    trustDomain: 'example.org',
    privateKeyPem: key.privateKeyPem,
    certificateChainPem: issued.chainPem,
    bundlePem: options.ca.bundlePem,
    bundleVersion: 1,
    controllerCaPem: (options.controllerCa ?? options.ca).certificatePem,
    controllerAddresses: ['127.0.0.1:8443'],
    notBefore: issued.notBefore,
    notAfter: issued.notAfter,
    obtainedAt: issuedAt,
    enrolledAt: issuedAt,
    renewals: options.renewals ?? 0,
  };
}
