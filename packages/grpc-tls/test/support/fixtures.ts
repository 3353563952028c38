// Certificates from @sigil/pki written the way deployments lay them out, and a log capture.
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertificateAuthority, IssuedCertificate, IssueOptions } from '@sigil/pki';
import { createCertificateAuthority } from '@sigil/pki';
import type { Logger } from 'pino';
import pino from 'pino';

export const TRUST_DOMAIN = 'example.org';

export interface Pki {
  ca: CertificateAuthority;
  /** A certificate for 127.0.0.1/localhost plus a SPIFFE ID, both EKUs. */
  issue(options?: IssueOptions): Promise<IssuedCertificate>;
}

/** A CA created 30 days ago, so tests can also issue certificates that have already expired. */
export async function createPki(trustDomain = TRUST_DOMAIN): Promise<Pki> {
  const ca = await createCertificateAuthority({
    trustDomain,
    now: new Date(Date.now() - 30 * 86_400_000),
  });
  return {
    ca,
    issue: (options = {}) =>
      ca.issue({
        spiffeId: `spiffe://${trustDomain}/svc/echo`,
        dnsNames: ['localhost'],
        ipAddresses: ['127.0.0.1'],
        profile: 'svid',
        ...options,
      }),
  };
}

export function tempDir(prefix = 'sigil-grpc-tls-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Files of an identity: certificate chain, key and CA. */
export interface IdentityFiles {
  cert: string;
  key: string;
  ca: string;
}

export function identityFiles(issued: IssuedCertificate, ca = issued.caPem): IdentityFiles {
  return { cert: issued.chainPem, key: issued.privateKeyPem!, ca };
}

/** Writes tls.crt, tls.key, ca.crt as plain files in `dir`. */
export function writePlainSecret(dir: string, files: IdentityFiles): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tls.crt'), files.cert);
  writeFileSync(join(dir, 'tls.key'), files.key, { mode: 0o600 });
  writeFileSync(join(dir, 'ca.crt'), files.ca);
}

let generation = 0;

/**
 * A Secret volume as kubelet writes it: the data in a `..<timestamp>` directory, `..data` a symlink
 * to it, each key a symlink through `..data`. An update writes a new directory and swaps `..data`
 * atomically with a rename, then removes the old directory.
 */
export function writeKubeletSecret(dir: string, files: IdentityFiles): void {
  mkdirSync(dir, { recursive: true });
  generation += 1;
  const stamp = `..2025_01_01_00_00_00.${process.pid}_${generation}`;
  const data = join(dir, stamp);
  writePlainSecret(data, files);
  const tmp = join(dir, '..data_tmp');
  symlinkSync(stamp, tmp);
  let previous: string | undefined;
  try {
    previous = readlinkSync(join(dir, '..data'));
  } catch {
    previous = undefined;
  }
  renameSync(tmp, join(dir, '..data'));
  for (const name of ['tls.crt', 'tls.key', 'ca.crt']) {
    try {
      symlinkSync(join('..data', name), join(dir, name));
    } catch {
      // already linked through ..data
    }
  }
  if (previous) rmSync(join(dir, previous), { recursive: true, force: true });
}

export interface CapturedLogs {
  logger: Logger;
  lines: Record<string, unknown>[];
  events(): string[];
  find(event: string): Record<string, unknown> | undefined;
}

export function captureLogs(): CapturedLogs {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return {
    logger,
    lines,
    events: () => lines.map((l) => String(l['event'])),
    find: (event) => lines.find((l) => l['event'] === event),
  };
}

/** Resolves the first time `register`'s listener fires with a value passing `accept`. */
export function once<T>(
  register: (listener: (value: T) => void) => () => void,
  accept: (value: T) => boolean = () => true,
): Promise<T> {
  return new Promise((resolve) => {
    const stop = register((value) => {
      if (!accept(value)) return;
      stop();
      resolve(value);
    });
  });
}

/**
 * A certificate that breaks the X509-SVID leaf rules while TLS itself accepts it: basicConstraints
 * cA=true and keyCertSign, with `spiffeId` as its one URI SAN, signed by `ca` (made with the
 * openssl command, since @sigil/pki refuses to issue such a thing).
 */
export function forgeCaCertificateWithSpiffeId(
  ca: CertificateAuthority,
  spiffeId: string,
): { chainPem: string; privateKeyPem: string } {
  const work = tempDir('sigil-forged-ca-');
  try {
    const file = (name: string, content?: string): string => {
      const path = join(work.path, name);
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
      file('ca.crt', ca.certificatePem),
      '-CAkey',
      file('ca.key', ca.privateKeyPem),
      '-set_serial',
      '4242',
      '-extfile',
      file(
        'ext.cnf',
        [
          'basicConstraints = critical, CA:TRUE',
          'keyUsage = critical, digitalSignature, keyCertSign',
          'extendedKeyUsage = serverAuth, clientAuth',
          `subjectAltName = URI:${spiffeId}, DNS:localhost, IP:127.0.0.1`,
        ].join('\n'),
      ),
      '-out',
      file('cert.pem'),
    );
    return {
      chainPem: readFileSync(file('cert.pem'), 'utf8'),
      privateKeyPem: readFileSync(file('key.pem'), 'utf8'),
    };
  } finally {
    work.remove();
  }
}
