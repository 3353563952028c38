import { execFileSync } from 'node:child_process';

/**
 * Makes a self-signed P-256 certificate with the openssl CLI (`openssl req -x509`), writing the
 * key to `keyPath` and the certificate to `certPath`; `extra` adds arguments (`-subj`, `-days`,
 * `-addext`, `-config`...). Throws with openssl's output when it fails.
 */
export function opensslSelfSigned(
  keyPath: string,
  certPath: string,
  extra: readonly string[],
): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      ...extra,
    ],
    { stdio: 'pipe' },
  );
}
