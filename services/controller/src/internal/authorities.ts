import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SigilError } from '@sigil/errors';
import {
  CERTIFICATE_MODE,
  createCertificateAuthority,
  ensurePrivateDirectory,
  fingerprint,
  loadCertificateAuthority,
  PRIVATE_KEY_MODE,
  renameFileDurably,
  writeFileAtomic,
} from '@sigil/pki';
import type { CertificateAuthority } from '@sigil/pki';

/** File names under DATA_DIR. */
export const DATA_FILES = {
  bootstrapCaCertificate: 'bootstrap-ca.crt',
  bootstrapCaKey: 'bootstrap-ca.key',
  /** The bootstrap CA certificate a rotation replaced (kept for reference only, no key). */
  previousBootstrapCaCertificate: 'bootstrap-ca.previous.crt',
  /** A rotation's new pair before it is renamed into place (left only by an interrupted rotation). */
  nextBootstrapCaCertificate: 'bootstrap-ca.next.crt',
  nextBootstrapCaKey: 'bootstrap-ca.next.key',
  runtimeCaCertificate: 'runtime-ca.crt',
  runtimeCaKey: 'runtime-ca.key',
  sqliteDatabase: 'controller.db',
} as const;

/** The controller's two CAs: separate keys, separate trust. */
export interface ControllerAuthorities {
  /** Signs only the controller's own TLS certificate; agents pin it (CONTROLLER_CA_PATH) to enroll. */
  bootstrap: CertificateAuthority;
  /** Signs agent X509-SVIDs; its roots are the runtime trust bundle. */
  runtime: CertificateAuthority;
  /** True when this call generated the CAs (first start). */
  created: boolean;
}

/**
 * Loads the bootstrap and runtime CAs from `dataDir`, creating both on first start (keys 0600,
 * written atomically so a crash never leaves half a file). A data dir that other users can enter
 * or that belongs to another user, one created for another trust domain, or a key readable by
 * others, is refused.
 */
export async function loadOrCreateAuthorities(options: {
  dataDir: string;
  trustDomain: string;
  now: Date;
  /** Lifetime of a runtime CA created here (`RUNTIME_CA_TTL`). Default: pki's (10 years). */
  runtimeCaTtlSeconds?: number;
}): Promise<ControllerAuthorities> {
  const { dataDir, trustDomain } = options;
  ensurePrivateDirectory(dataDir, { variable: 'DATA_DIR', code: 'ERR_DATA_DIR_UNUSABLE' });
  const bootstrap = await loadOrCreate(
    dataDir,
    DATA_FILES.bootstrapCaCertificate,
    DATA_FILES.bootstrapCaKey,
    trustDomain,
    `${trustDomain} controller bootstrap CA`,
    options.now,
    undefined,
  );
  const runtime = await loadOrCreate(
    dataDir,
    DATA_FILES.runtimeCaCertificate,
    DATA_FILES.runtimeCaKey,
    trustDomain,
    `${trustDomain} runtime CA`,
    options.now,
    options.runtimeCaTtlSeconds,
  );
  return {
    bootstrap: bootstrap.ca,
    runtime: runtime.ca,
    created: bootstrap.created || runtime.created,
  };
}

async function loadOrCreate(
  dataDir: string,
  certificateFile: string,
  keyFile: string,
  trustDomain: string,
  commonName: string,
  now: Date,
  ttlSeconds: number | undefined,
): Promise<{ ca: CertificateAuthority; created: boolean }> {
  const certificatePath = join(dataDir, certificateFile);
  const keyPath = join(dataDir, keyFile);
  const haveCertificate = existsSync(certificatePath);
  const haveKey = existsSync(keyPath);
  if (!haveCertificate && !haveKey) {
    const ca = await createCertificateAuthority({
      trustDomain,
      commonName,
      now,
      ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
    });
    writeFileAtomic(keyPath, ca.privateKeyPem, { mode: PRIVATE_KEY_MODE });
    writeFileAtomic(certificatePath, ca.certificatePem, { mode: CERTIFICATE_MODE });
    return { ca, created: true };
  }
  if (!haveCertificate || !haveKey) {
    const missing = haveCertificate ? keyPath : certificatePath;
    throw new SigilError(
      'ERR_DATA_DIR_UNUSABLE',
      `DATA_DIR ${dataDir}: ${missing} is missing but its pair exists; restore it from backup (deleting both creates a new CA that no enrolled agent trusts)`,
      {
        details: { file: missing },
      },
    );
  }
  const mode = statSync(keyPath).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new SigilError(
      'ERR_KEY_PERMISSIONS',
      `${keyPath} is readable by other users (mode ${mode.toString(8)}); run: chmod 600 ${keyPath}`,
      { details: { file: keyPath } },
    );
  }
  const ca = loadCertificateAuthority({
    certificatePem: readFileSync(certificatePath, 'utf8'),
    privateKeyPem: readFileSync(keyPath, 'utf8'),
    certificateSource: certificatePath,
    keySource: keyPath,
  });
  if (ca.trustDomain !== trustDomain) {
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `TRUST_DOMAIN=${trustDomain} but ${certificatePath} belongs to trust domain ${ca.trustDomain}; use TRUST_DOMAIN=${ca.trustDomain} or a new DATA_DIR`,
      { details: { variable: 'TRUST_DOMAIN', file: certificatePath } },
    );
  }
  return { ca, created: false };
}

/** What {@link rotateBootstrapCa} did. */
export interface BootstrapCaRotation {
  /** The new bootstrap CA certificate, PEM (what `GET /api/admin/bootstrap-ca` serves after a restart). */
  certificatePem: string;
  /** SHA-256 fingerprint of the new certificate. */
  fingerprint: string;
  /** That of the replaced one; undefined when this call finished an interrupted rotation. */
  previousFingerprint: string | undefined;
}

/**
 * Replaces the bootstrap CA in `dataDir` with a new one (`bootstrap-ca.crt`/`.key`), keeping the
 * replaced certificate as `bootstrap-ca.previous.crt` (its key is dropped). The new pair is
 * written as `bootstrap-ca.next.*` and renamed into place, so a crash never leaves a certificate
 * with the wrong key: a rotation interrupted between the renames is finished by the next call.
 * A running controller keeps the CA it loaded until it restarts.
 *
 * @example
 * ```ts
 * const { fingerprint } = await rotateBootstrapCa({ dataDir: '/var/lib/sigil', trustDomain: 'example.org', now: new Date() });
 * ```
 */
export async function rotateBootstrapCa(options: {
  dataDir: string;
  trustDomain: string;
  now: Date;
}): Promise<BootstrapCaRotation> {
  const { dataDir, trustDomain, now } = options;
  ensurePrivateDirectory(dataDir, { variable: 'DATA_DIR', code: 'ERR_DATA_DIR_UNUSABLE' });
  const path = (file: string): string => join(dataDir, file);
  const certificatePath = path(DATA_FILES.bootstrapCaCertificate);
  const keyPath = path(DATA_FILES.bootstrapCaKey);
  const nextCertificatePath = path(DATA_FILES.nextBootstrapCaCertificate);
  const nextKeyPath = path(DATA_FILES.nextBootstrapCaKey);
  const install = (): void => {
    // Key first: the certificate is renamed last, and its presence under .next marks the rotation unfinished.
    if (existsSync(nextKeyPath)) renameFileDurably(nextKeyPath, keyPath);
    renameFileDurably(nextCertificatePath, certificatePath);
  };
  const loadBootstrap = () =>
    loadOrCreate(
      dataDir,
      DATA_FILES.bootstrapCaCertificate,
      DATA_FILES.bootstrapCaKey,
      trustDomain,
      '',
      now,
      undefined,
    );
  if (existsSync(nextCertificatePath)) {
    install();
    const { ca } = await loadBootstrap();
    return {
      certificatePem: ca.certificatePem,
      fingerprint: fingerprint(ca.certificate),
      previousFingerprint: undefined,
    };
  }
  if (!existsSync(certificatePath) && !existsSync(keyPath))
    throw new SigilError(
      'ERR_DATA_DIR_UNUSABLE',
      `DATA_DIR ${dataDir} has no bootstrap CA (${certificatePath}) to rotate; the controller creates one at its first start`,
      { details: { file: certificatePath } },
    );
  const { ca: previous } = await loadBootstrap();
  const stamp = now.toISOString().replace(/[-:]|\.\d+/g, '');
  const ca = await createCertificateAuthority({
    trustDomain,
    commonName: `${trustDomain} controller bootstrap CA ${stamp}`,
    now,
  });
  writeFileAtomic(path(DATA_FILES.previousBootstrapCaCertificate), previous.certificatePem, {
    mode: CERTIFICATE_MODE,
  });
  writeFileAtomic(nextKeyPath, ca.privateKeyPem, { mode: PRIVATE_KEY_MODE });
  writeFileAtomic(nextCertificatePath, ca.certificatePem, { mode: CERTIFICATE_MODE });
  install();
  return {
    certificatePem: ca.certificatePem,
    fingerprint: fingerprint(ca.certificate),
    previousFingerprint: fingerprint(previous.certificate),
  };
}
