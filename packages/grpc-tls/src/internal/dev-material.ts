import { X509Certificate } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { SigilError } from '@sigil/errors';
import type { CertificateAuthority } from '@sigil/pki';
import {
  createCertificateAuthority,
  importPrivateKeyPem,
  loadCertificateAuthority,
  parseCertificatesPem,
  parseSpiffeId,
  readPrivateKeyFile,
} from '@sigil/pki';
import type { ParsedMaterial } from './material';

/** Trust domain of `dev` mode certificates unless the dev SPIFFE ID names another. */
export const DEV_TRUST_DOMAIN = 'dev.sigil.local';

/** Lifetime of a dev CA; one kept in a directory is replaced by hand (delete the file) after it. */
const DEV_CA_TTL_SECONDS = 30 * 86_400;

/** One in-memory CA per trust domain and process, so a dev server and a dev client in the same process trust each other. */
const devAuthorities = new Map<string, Promise<CertificateAuthority>>();

/**
 * A certificate from the dev CA of the ID's trust domain, valid for `localhost`, 127.0.0.1 and
 * ::1 and usable as server and client certificate, with that CA as the trust bundle. Without
 * `caDir` the CA lives in memory only; with it, the CA is kept in `caDir/dev-ca-<trust domain>.pem`
 * (created on first use, mode 0600, read again at each start), so dev endpoints in other processes
 * trust each other.
 */
export async function createDevMaterial(spiffeId: string, caDir?: string): Promise<ParsedMaterial> {
  const { trustDomain } = parseSpiffeId(spiffeId);
  let authority = caDir ? sharedDevAuthority(caDir, trustDomain) : devAuthorities.get(trustDomain);
  if (!authority) {
    authority = newDevAuthority(trustDomain);
    devAuthorities.set(trustDomain, authority);
  }
  const issued = await (
    await authority
  ).issue({
    spiffeId,
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1', '::1'],
    profile: 'svid',
    ttlSeconds: 86_400,
  });
  return {
    chain: parseCertificatesPem(issued.chainPem, 'dev certificate'),
    key: importPrivateKeyPem(issued.privateKeyPem!, 'dev key'),
    ca: parseCertificatesPem(issued.caPem, 'dev CA'),
  };
}

function newDevAuthority(trustDomain: string): Promise<CertificateAuthority> {
  return createCertificateAuthority({
    trustDomain,
    commonName: 'Sigil dev CA (throwaway)',
    ttlSeconds: DEV_CA_TTL_SECONDS,
  });
}

/**
 * The dev CA kept in a directory: read when there, else made and published with `link(2)`, which
 * never replaces a file, so two processes starting together end up with the one CA that won.
 */
async function sharedDevAuthority(
  caDir: string,
  trustDomain: string,
): Promise<CertificateAuthority> {
  const file = join(caDir, `dev-ca-${trustDomain}.pem`);
  const at = `GRPC_TLS_DEV_CA_DIR: ${file}`;
  try {
    mkdirSync(caDir, { recursive: true, mode: 0o700 });
  } catch (cause) {
    throw new SigilError(
      'ERR_FILE_UNWRITABLE',
      `${at}: cannot create the directory ${caDir} (${(cause as Error).message})`,
      {
        cause,
        details: { variable: 'GRPC_TLS_DEV_CA_DIR', file: caDir },
      },
    );
  }
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch {
    const created = await newDevAuthority(trustDomain);
    publishOnce(file, `${created.privateKeyPem.trimEnd()}\n${created.certificatePem}`);
    pem = readFileSync(file, 'utf8');
  }
  let key: ReturnType<typeof readPrivateKeyFile>;
  try {
    key = readPrivateKeyFile(file, { ownerOnly: true });
  } catch (err) {
    const error = SigilError.from(err, 'ERR_PEM_MALFORMED');
    throw new SigilError(error.code, `GRPC_TLS_DEV_CA_DIR: ${error.message}`, {
      cause: err,
      details: { ...error.details, variable: 'GRPC_TLS_DEV_CA_DIR', file },
    });
  }
  const certificatePem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(
    pem,
  )?.[0];
  if (!certificatePem)
    throw new SigilError(
      'ERR_PEM_MALFORMED',
      `${at}: no CA certificate in the file; delete it to make a new dev CA`,
      {
        details: { variable: 'GRPC_TLS_DEV_CA_DIR', file },
      },
    );
  const validTo = new Date(new X509Certificate(certificatePem).validTo);
  if (validTo.getTime() <= Date.now() + 86_400_000)
    throw new SigilError(
      'ERR_CERT_EXPIRED',
      `${at}: the dev CA expires at ${validTo.toISOString()}, too soon for a 24 h certificate; delete the file to make a new dev CA (every dev process then trusts the new one after a restart)`,
      { details: { variable: 'GRPC_TLS_DEV_CA_DIR', file } },
    );
  return loadCertificateAuthority({
    certificatePem,
    privateKeyPem: key.privateKeyPem,
    certificateSource: file,
    keySource: file,
  });
}

/** Writes `content` to a new private file and links it to `file` unless another process got there first. */
function publishOnce(file: string, content: string): void {
  const temporary = `${file}.${process.pid}.${Date.now()}.tmp`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(temporary);
  }
}
