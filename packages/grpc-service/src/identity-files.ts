import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CERTIFICATE_MODE, PRIVATE_KEY_MODE, writeFileAtomic } from '@sigil/pki';

/**
 * The three files of an identity in the cert-manager Secret layout.
 *
 * @example
 * ```ts
 * const files: IdentityFiles = { certificate: '/etc/grpc-tls/tls.crt', privateKey: '/etc/grpc-tls/tls.key', ca: '/etc/grpc-tls/ca.crt' };
 * ```
 */
export interface IdentityFiles {
  /** `tls.crt`: leaf then intermediates. */
  certificate: string;
  /** `tls.key` (mode 0600). */
  privateKey: string;
  /** `ca.crt`: the trust bundle. */
  ca: string;
}

/**
 * The PEM material {@link writeIdentityFiles} writes (an `IssuedCertificate` of `@sigil/pki` fits).
 *
 * @example
 * ```ts
 * const pem: IdentityPem = await ca.issue({ spiffeId: 'spiffe://example.org/svc/api', profile: 'svid' });
 * ```
 */
export interface IdentityPem {
  chainPem: string;
  privateKeyPem?: string;
  caPem: string;
}

/**
 * Writes an identity into `dir` in the cert-manager Secret layout (`tls.crt`, `tls.key`, `ca.crt`),
 * each file replaced atomically (pki's `writeFileAtomic`) so a watching server never reads half a file.
 * The key is written before the certificate, the way a renewal lands.
 *
 * @example
 * ```ts
 * const files = writeIdentityFiles('/tmp/certs/identity-service', await ca.issue({ spiffeId, profile: 'svid' }));
 * const env = identityEnv(files); // GRPC_SERVER_CERT_PATH=/tmp/certs/identity-service/tls.crt, ...
 * ```
 */
export function writeIdentityFiles(dir: string, identity: IdentityPem): IdentityFiles {
  if (identity.privateKeyPem === undefined)
    throw new TypeError('writeIdentityFiles needs the private key PEM');
  mkdirSync(dir, { recursive: true });
  const files: IdentityFiles = {
    certificate: join(dir, 'tls.crt'),
    privateKey: join(dir, 'tls.key'),
    ca: join(dir, 'ca.crt'),
  };
  writeFileAtomic(files.ca, identity.caPem, { mode: CERTIFICATE_MODE });
  writeFileAtomic(files.privateKey, identity.privateKeyPem, { mode: PRIVATE_KEY_MODE });
  writeFileAtomic(files.certificate, identity.chainPem, { mode: CERTIFICATE_MODE });
  return files;
}

/**
 * The environment of the integration guide for a process whose server and client identity are
 * `files`: `GRPC_SERVER_CERT_PATH`, `GRPC_SERVER_KEY_PATH`, `GRPC_CLIENT_CA_CERT_PATH`,
 * `GRPC_REQUIRE_CLIENT_CERT=true`, `GRPC_SERVER_CA_CERT_PATH`, `GRPC_CLIENT_CERT_PATH`,
 * `GRPC_CLIENT_KEY_PATH`.
 *
 * @example
 * ```ts
 * const config = loadIdentityServiceConfig({ ...identityEnv(files), GRPC_LISTEN_ADDR: '127.0.0.1:0' });
 * ```
 */
export function identityEnv(files: IdentityFiles): Record<string, string> {
  return {
    GRPC_SERVER_CERT_PATH: files.certificate,
    GRPC_SERVER_KEY_PATH: files.privateKey,
    GRPC_CLIENT_CA_CERT_PATH: files.ca,
    GRPC_REQUIRE_CLIENT_CERT: 'true',
    GRPC_SERVER_CA_CERT_PATH: files.ca,
    GRPC_CLIENT_CERT_PATH: files.certificate,
    GRPC_CLIENT_KEY_PATH: files.privateKey,
  };
}
