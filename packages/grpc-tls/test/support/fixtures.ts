// Certificates from @sigil/pki written the way deployments lay them out.
import {
  mkdirSync,
  mkdtempSync,
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
