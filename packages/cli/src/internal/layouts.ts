import { join } from 'node:path';
import { CERTIFICATE_MODE, PRIVATE_KEY_MODE } from '@sigil/pki';
import type { CertificateAuthority, IssuedCertificate } from '@sigil/pki';
import type { OutputFile } from './files';

/**
 * File layouts users already know: `k8s` is a cert-manager Secret (`tls.crt`, `tls.key`,
 * `ca.crt`; a CA as `ca.crt` + `ca.key`), `pem` the plain certs directory (`cert.pem`,
 * `key.pem`, `ca.pem`; a CA as `cert.pem` + `key.pem`).
 *
 * @example
 * ```ts
 * const layout: Layout = 'pem';
 * await generateCertificateSet({ out: './certs', trustDomain: 'example.org', names: ['api'], layout }); // certs/api/cert.pem, key.pem, ca.pem
 * ```
 */
export type Layout = 'k8s' | 'pem';

export const LAYOUTS: readonly Layout[] = ['k8s', 'pem'];

const CA_FILE_NAMES: Record<Layout, { certificate: string; privateKey: string }> = {
  k8s: { certificate: 'ca.crt', privateKey: 'ca.key' },
  pem: { certificate: 'cert.pem', privateKey: 'key.pem' },
};

const LEAF_FILE_NAMES: Record<Layout, { certificate: string; privateKey: string; ca: string }> = {
  k8s: { certificate: 'tls.crt', privateKey: 'tls.key', ca: 'ca.crt' },
  pem: { certificate: 'cert.pem', privateKey: 'key.pem', ca: 'ca.pem' },
};

/**
 * Paths of a CA's files in a directory.
 *
 * @example
 * ```ts
 * const { files }: { files: CaPaths } = await initCertificateAuthority({ out: './ca', trustDomain: 'example.org' });
 * console.log(files.certificate, files.privateKey); // ca/ca.crt ca/ca.key
 * ```
 */
export interface CaPaths {
  certificate: string;
  privateKey: string;
}

/**
 * Paths of a leaf's files in a directory.
 *
 * @example
 * ```ts
 * const { files }: { files: LeafPaths } = await issueCertificateFiles({ ca: './ca', out: './secrets/api', dnsNames: ['api.local'] });
 * console.log(files.certificate, files.privateKey, files.ca); // secrets/api/tls.crt secrets/api/tls.key secrets/api/ca.crt
 * ```
 */
export interface LeafPaths {
  certificate: string;
  privateKey: string;
  ca: string;
}

export function caPaths(dir: string, layout: Layout): CaPaths {
  const names = CA_FILE_NAMES[layout];
  return { certificate: join(dir, names.certificate), privateKey: join(dir, names.privateKey) };
}

export function leafPaths(dir: string, layout: Layout): LeafPaths {
  const names = LEAF_FILE_NAMES[layout];
  return {
    certificate: join(dir, names.certificate),
    privateKey: join(dir, names.privateKey),
    ca: join(dir, names.ca),
  };
}

/**
 * A CA's certificate and its key (0600). An intermediate's certificate file holds it, then its
 * chain up to and including the root: what `loadCaDirectory` reads back.
 */
export function caFiles(ca: CertificateAuthority, paths: CaPaths): OutputFile[] {
  const certificate =
    ca.intermediatesPem === '' ? ca.certificatePem : ca.intermediatesPem + ca.bundlePem;
  return [
    { path: paths.certificate, content: certificate, mode: CERTIFICATE_MODE },
    { path: paths.privateKey, content: ca.privateKeyPem, mode: PRIVATE_KEY_MODE },
  ];
}

/** The leaf then its intermediates, its key (0600) and the trust bundle. */
export function leafFiles(issued: IssuedCertificate, paths: LeafPaths): OutputFile[] {
  return [
    { path: paths.certificate, content: issued.chainPem, mode: CERTIFICATE_MODE },
    { path: paths.privateKey, content: issued.privateKeyPem!, mode: PRIVATE_KEY_MODE },
    { path: paths.ca, content: issued.caPem, mode: CERTIFICATE_MODE },
  ];
}
