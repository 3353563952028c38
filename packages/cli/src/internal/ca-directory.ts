import {
  createCertificateAuthority,
  createIntermediateCertificateAuthority,
  loadCertificateAuthority,
  readCertificateChainFile,
  readPrivateKeyFile,
  toPem,
} from '@sigil/pki';
import type { CertificateAuthority } from '@sigil/pki';
import { SigilError } from '@sigil/errors';
import { assertNotExisting, exists, writeOutputFile } from './files';
import type { CliKeyType } from './options';
import { caFiles, caPaths, LAYOUTS } from './layouts';
import type { CaPaths } from './layouts';

/** A CA loaded from a directory, with the files it came from. */
export interface LoadedCa {
  ca: CertificateAuthority;
  paths: CaPaths;
}

/**
 * Loads the CA in `dir`, as written by `sigil ca init` (`ca.crt` + `ca.key`) or by
 * `sigil certs generate --layout pem` (`cert.pem` + `key.pem`). The certificate file may hold an
 * intermediate CA followed by its chain up to the root.
 */
export async function loadCaDirectory(dir: string, flag = '--ca'): Promise<LoadedCa> {
  for (const layout of LAYOUTS) {
    const paths = caPaths(dir, layout);
    if (!(await exists(paths.privateKey))) continue;
    const certificates = readCertificateChainFile(paths.certificate);
    const key = readPrivateKeyFile(paths.privateKey);
    const ca = loadCertificateAuthority({
      certificatePem: toPem(certificates),
      privateKeyPem: key.privateKeyPem,
      certificateSource: paths.certificate,
      keySource: paths.privateKey,
    });
    return { ca, paths };
  }
  throw new SigilError(
    'ERR_CA_NOT_FOUND',
    `${flag} ${dir}: no CA found (expected ca.crt and ca.key, or cert.pem and key.pem)`,
    {
      details: { file: dir, flag },
    },
  );
}

/**
 * Creates a root CA, or an intermediate signed by `parent`, and writes its certificate (an
 * intermediate followed by its chain up to the root) and key (0600) to `paths`, refusing with
 * `ERR_FILE_EXISTS` to replace an existing CA unless `force`.
 */
export async function createCaFiles(
  paths: CaPaths,
  options: {
    trustDomain: string;
    keyType: CliKeyType;
    parent?: CertificateAuthority;
    ttlSeconds?: number | undefined;
    pathLength?: number | undefined;
    force?: boolean | undefined;
    now?: Date | undefined;
  },
): Promise<CertificateAuthority> {
  if (!options.force) {
    await assertNotExisting(
      [paths.privateKey, paths.certificate],
      'pass --force to replace the CA (everything it issued stops verifying)',
    );
  }
  const caOptions = {
    trustDomain: options.trustDomain,
    keyType: options.keyType,
    ...(options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds }),
    ...(options.pathLength === undefined ? {} : { pathLength: options.pathLength }),
    ...(options.now ? { now: options.now } : {}),
  };
  const ca = options.parent
    ? await createIntermediateCertificateAuthority(options.parent, caOptions)
    : await createCertificateAuthority(caOptions);
  for (const file of caFiles(ca, paths)) await writeOutputFile(file);
  return ca;
}
