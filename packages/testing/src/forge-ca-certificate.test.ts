import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forgeCaCertificateWithSpiffeId } from './forge-ca-certificate';

/** A self-signed CA made with openssl itself (this package does not depend on @sigil/pki). */
function opensslCa(): { certificatePem: string; privateKeyPem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-testing-ca-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'].concat(
        ['-subj', '/CN=test-ca', '-days', '1', '-keyout', join(dir, 'ca.key')],
        ['-out', join(dir, 'ca.crt')],
      ),
      { stdio: 'pipe' },
    );
    return {
      certificatePem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      privateKeyPem: readFileSync(join(dir, 'ca.key'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('forgeCaCertificateWithSpiffeId', () => {
  it('makes a CA certificate carrying the SPIFFE ID, signed by the issuer', () => {
    const issuer = opensslCa();
    const forged = forgeCaCertificateWithSpiffeId(issuer, 'spiffe://example.org/svc/echo');
    const certificate = new X509Certificate(forged.chainPem);
    expect(certificate.ca).toBe(true);
    expect(certificate.serialNumber).toBe(forged.serialNumber);
    expect(certificate.subject).toBe('CN=ca-as-workload');
    expect(certificate.subjectAltName).toContain('URI:spiffe://example.org/svc/echo');
    expect(certificate.verify(new X509Certificate(issuer.certificatePem).publicKey)).toBe(true);
    expect(certificate.checkPrivateKey(createPrivateKey(forged.privateKeyPem))).toBe(true);
  });

  it('replaces the basic constraints and key usage when told', () => {
    const forged = forgeCaCertificateWithSpiffeId(opensslCa(), 'spiffe://example.org', {
      basicConstraints: 'critical, CA:FALSE',
      keyUsage: 'critical, digitalSignature, cRLSign',
    });
    const text = execFileSync('openssl', ['x509', '-noout', '-text'], { input: forged.chainPem });
    expect(new X509Certificate(forged.chainPem).ca).toBe(false);
    expect(text.toString()).toContain('Digital Signature, CRL Sign');
  });
});
