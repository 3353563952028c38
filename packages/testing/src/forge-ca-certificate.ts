import { execFileSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The CA that signs a forged certificate: a certificate and its private key, as PEM (a
 * `@sigil/pki` CertificateAuthority fits).
 *
 * @example
 * ```ts
 * const issuer: ForgeIssuer = { certificatePem: ca.certificatePem, privateKeyPem: ca.privateKeyPem };
 * ```
 */
export interface ForgeIssuer {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

/**
 * Extension values (openssl `-extfile` syntax) replacing those of the forged CA certificate, to
 * forge a leaf that breaks another X509-SVID rule (a cRLSign key usage, a trust-domain ID).
 *
 * @example
 * ```ts
 * const crlSigner: ForgeExtensions = { basicConstraints: 'critical, CA:FALSE', keyUsage: 'critical, digitalSignature, cRLSign' };
 * ```
 */
export interface ForgeExtensions {
  /** Default `critical, CA:TRUE`. */
  readonly basicConstraints?: string;
  /** Default `critical, digitalSignature, keyCertSign`. */
  readonly keyUsage?: string;
}

/**
 * Makes, with the openssl command, a certificate that breaks the X509-SVID leaf rules while TLS
 * itself accepts it: basicConstraints cA=true and keyCertSign, both EKUs, `spiffeId` as its one URI
 * SAN (plus DNS:localhost and IP:127.0.0.1), subject CN=ca-as-workload, a random serial (returned,
 * as Node prints it), signed by `issuer`. `@sigil/pki` refuses to issue such
 * a certificate, which is what the tests of the leaf rules need to present. `extensions` replaces
 * the basic constraints or key usage, for a leaf that breaks a different rule.
 *
 * @example
 * ```ts
 * const forged = forgeCaCertificateWithSpiffeId(ca, 'spiffe://example.org/svc/echo');
 * const credentials = grpc.credentials.createSsl(caPem, Buffer.from(forged.privateKeyPem), Buffer.from(forged.chainPem));
 * ```
 */
export function forgeCaCertificateWithSpiffeId(
  issuer: ForgeIssuer,
  spiffeId: string,
  extensions: ForgeExtensions = {},
): { chainPem: string; privateKeyPem: string; serialNumber: string } {
  const work = mkdtempSync(join(tmpdir(), 'sigil-forged-ca-'));
  try {
    const file = (name: string, content?: string): string => {
      const path = join(work, name);
      if (content !== undefined) writeFileSync(path, content);
      return path;
    };
    const openssl = (...args: string[]): void => {
      execFileSync('openssl', args, { stdio: 'pipe' });
    };
    openssl(
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-out',
      file('key.pem'),
    );
    openssl(
      'req',
      '-new',
      '-key',
      file('key.pem'),
      '-subj',
      '/CN=ca-as-workload',
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
      '-CA',
      file('ca.crt', issuer.certificatePem),
      '-CAkey',
      file('ca.key', issuer.privateKeyPem),
      '-set_serial',
      `0x5${randomBytes(7).toString('hex')}f`, // 8 bytes, positive, no leading zero
      '-extfile',
      file(
        'ext.cnf',
        [
          `basicConstraints = ${extensions.basicConstraints ?? 'critical, CA:TRUE'}`,
          `keyUsage = ${extensions.keyUsage ?? 'critical, digitalSignature, keyCertSign'}`,
          'extendedKeyUsage = serverAuth, clientAuth',
          `subjectAltName = URI:${spiffeId}, DNS:localhost, IP:127.0.0.1`,
        ].join('\n'),
      ),
      '-out',
      file('cert.pem'),
    );
    const chainPem = readFileSync(file('cert.pem'), 'utf8');
    return {
      chainPem,
      privateKeyPem: readFileSync(file('key.pem'), 'utf8'),
      serialNumber: new X509Certificate(chainPem).serialNumber,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
