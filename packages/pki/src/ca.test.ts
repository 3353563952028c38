import { X509Certificate } from 'node:crypto';
import { createCertificateAuthority, createIntermediateCertificateAuthority, loadCertificateAuthority } from './index';

describe('certificate authority', () => {
  it('creates a root that issues a SPIFFE SVID verifiable by node', async () => {
    const root = await createCertificateAuthority({ trustDomain: 'example.org' });
    expect(root.certificate.ca).toBe(true);
    expect(root.certificate.subjectAltName).toBe('URI:spiffe://example.org');
    const leaf = await root.issue({ spiffeId: 'spiffe://example.org/svc/api', dnsNames: ['api.local'], ttlSeconds: 600 });
    const cert = new X509Certificate(leaf.certificatePem);
    expect(cert.verify(root.certificate.publicKey)).toBe(true);
    expect(cert.checkIssued(root.certificate)).toBe(true);
    expect(cert.subjectAltName).toContain('URI:spiffe://example.org/svc/api');
    expect(cert.ca).toBe(false);
    expect(leaf.serialNumber).toHaveLength(32);
    expect(leaf.notAfter.getTime() - leaf.notBefore.getTime()).toBe(660_000);
  });

  it('chains through an intermediate and reloads from PEM', async () => {
    const root = await createCertificateAuthority({ trustDomain: 'example.org' });
    const mid = await createIntermediateCertificateAuthority(root);
    const leaf = await mid.issue({ dnsNames: ['svc.local'], profile: 'server' });
    const chain = leaf.chainPem.match(/BEGIN CERTIFICATE/g);
    expect(chain).toHaveLength(2);
    expect(leaf.caPem).toBe(root.certificatePem);
    const reloaded = loadCertificateAuthority({ certificatePem: mid.certificatePem + root.certificatePem, privateKeyPem: mid.privateKeyPem });
    const again = await reloaded.issue({ dnsNames: ['x.local'] });
    expect(new X509Certificate(again.certificatePem).checkIssued(mid.certificate)).toBe(true);
  });
});
