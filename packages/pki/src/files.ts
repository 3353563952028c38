import type { Stats } from 'node:fs';
import { readFileSync, statSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { SigilError } from '@sigil/errors';
import { describeFileError } from './file-error';
import { certificateInfo } from './internal/certificate-info';
import type { KeyPair } from './keys';
import { importPrivateKeyPem } from './keys';
import { parseCertificatesPem } from './pem';

/**
 * Reads a certificate chain file (PEM with one or more certificates, leaf first, or a single DER
 * certificate). Throws `ERR_FILE_UNREADABLE` or `ERR_PEM_MALFORMED`, both naming the file.
 *
 * @example
 * ```ts
 * const [leaf, ...intermediates] = readCertificateChainFile('/etc/grpc-tls/tls.crt');
 * ```
 */
export function readCertificateChainFile(path: string): X509Certificate[] {
  const data = readFile(path);
  if (!data.includes('-----BEGIN') && data.length > 0 && data[0] === 0x30) {
    try {
      return [new X509Certificate(data)];
    } catch (cause) {
      throw new SigilError(
        'ERR_PEM_MALFORMED',
        `${path}: neither PEM nor a DER certificate (${(cause as Error).message})`,
        { cause, details: { file: path } },
      );
    }
  }
  return parseCertificatesPem(data.toString('utf8'), path);
}

/**
 * Reads a trust bundle file (`ca.crt`): one or more CA certificates, e.g. the old and the new root
 * during a rotation. Throws `ERR_FILE_UNREADABLE`, `ERR_PEM_MALFORMED`, or `ERR_BUNDLE_INVALID`
 * when a certificate in it is not a CA, naming the file.
 *
 * @example
 * ```ts
 * const roots = readTrustBundleFile('/etc/grpc-tls/ca.crt');
 * validateX509Svid(chain, roots, { trustDomain: 'example.org' });
 * ```
 */
export function readTrustBundleFile(path: string): X509Certificate[] {
  const certificates = readCertificateChainFile(path);
  certificates.forEach((certificate, index) => {
    if (!certificateInfo(certificate).isCa) {
      throw new SigilError(
        'ERR_BUNDLE_INVALID',
        `${path}: certificate #${index + 1} ("${certificate.subject || '(empty)'}") is not a CA certificate; a trust bundle holds CA certificates`,
        {
          details: { file: path, index: index + 1 },
        },
      );
    }
  });
  return certificates;
}

/**
 * Reads a PEM private key file (PKCS#8, SEC1 or PKCS#1). Throws `ERR_FILE_UNREADABLE`,
 * `ERR_PEM_MALFORMED` or `ERR_KEY_UNSUPPORTED`, naming the file. With `ownerOnly`, a key that
 * group or other users can read is refused first ({@link assertPrivateKeyFileMode}).
 *
 * @example
 * ```ts
 * const key = readPrivateKeyFile('/etc/grpc-tls/tls.key', { ownerOnly: true });
 * key.keyType; // 'ec-p256'
 * ```
 */
export function readPrivateKeyFile(path: string, options: { ownerOnly?: boolean } = {}): KeyPair {
  if (options.ownerOnly) assertPrivateKeyFileMode(path);
  return importPrivateKeyPem(readFile(path).toString('utf8'), path);
}

/**
 * Refuses a private key file that group or other users can read (any of mode 0o077), the way the
 * controller treats its CA key: `ERR_KEY_PERMISSIONS` naming the file, its mode and the `chmod`
 * that fixes it. One exception: a key this process does not own and can read only through its
 * group, read-only (a Kubernetes Secret volume with `fsGroup`: `root:<fsGroup>`, mode 0440), where
 * the group is the pod's and the group bit is the only way in. A symbolic link is judged by the
 * file it points to (`tls.key -> ..data/tls.key`). A file that does not exist is left to the read
 * that follows. Not checked on Windows, whose permissions are not mode bits.
 *
 * @example
 * ```ts
 * assertPrivateKeyFileMode('/etc/grpc-tls/tls.key'); // throws for mode 0644: "run: chmod 600 /etc/grpc-tls/tls.key"
 * ```
 */
export function assertPrivateKeyFileMode(path: string): void {
  if (process.platform === 'win32') return;
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch {
    return;
  }
  const mode = stats.mode & 0o777;
  if ((mode & 0o077) === 0 || readOnlyThroughOwnGroup(stats, mode)) return;
  const readers = [mode & 0o040 ? 'its group' : '', mode & 0o004 ? 'every user' : '']
    .filter(Boolean)
    .join(' and ');
  throw new SigilError(
    'ERR_KEY_PERMISSIONS',
    `${path} is a private key with mode ${mode.toString(8).padStart(4, '0')}` +
      (readers ? `, readable by ${readers}` : ', open to other users') +
      `: a private key must be accessible to its owner only; run: chmod 600 ${path}` +
      ' (for a Kubernetes Secret volume, set defaultMode: 0400, or 0440 with fsGroup)',
    { details: { file: path, mode: mode.toString(8) } },
  );
}

/** Owned by another user, group read-only, nothing for others, and the group is one of ours. */
function readOnlyThroughOwnGroup(stats: Stats, mode: number): boolean {
  if ((mode & 0o077) !== 0o040 || process.getuid === undefined) return false;
  if (stats.uid === process.getuid()) return false;
  return (process.getgroups?.() ?? []).includes(stats.gid) || process.getgid?.() === stats.gid;
}

function readFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new SigilError(
      'ERR_FILE_UNREADABLE',
      `${path}: cannot read (${describeFileError(cause)})`,
      {
        cause,
        details: { file: path, errno: code },
      },
    );
  }
}
