// The I/O of `sigil doctor tls`: the settings as @sigil/grpc-tls resolves them, then each file it
// names, read with @sigil/pki's readers (the ones the credentials use), every outcome kept.
import type { X509Certificate } from 'node:crypto';
import { statSync } from 'node:fs';
import { loadClientTlsConfig, loadServerTlsConfig } from '@sigil/grpc-tls';
import type { ClientTlsConfig, ServerTlsConfig, TlsFileSetting } from '@sigil/grpc-tls';
import type { KeyPair } from '@sigil/pki';
import { readCertificateChainFile, readPrivateKeyFile, readTrustBundleFile } from '@sigil/pki';
import { factError } from './catalogue';
import type { FactError } from './catalogue';

/** A file the settings name, and what reading it gave. */
export interface TlsFileFacts<T> {
  path: string;
  /** The setting that named it: `GRPC_TLS_DIR`, `GRPC_SERVER_KEY_PATH`, ... */
  origin: string;
  /** Permission bits of the file (a symbolic link is followed), when it exists. */
  mode?: number;
  read: { value: T } | { error: FactError };
  /** Private key only: @sigil/pki's refusal of a key open to group or others (`ERR_KEY_PERMISSIONS`). */
  permission?: FactError;
}

/** What `sigil doctor tls` found, before any judgement. */
export interface TlsFacts {
  side: 'server' | 'client';
  settings: { config: ServerTlsConfig | ClientTlsConfig } | { error: FactError };
  certificate?: TlsFileFacts<X509Certificate[]>;
  privateKey?: TlsFileFacts<KeyPair>;
  ca?: TlsFileFacts<X509Certificate[]>;
}

/** Loads the settings of a server (or a client) from `env` exactly as the service would, then reads its files. */
export function gatherTlsFacts(
  side: 'server' | 'client',
  env: Readonly<Record<string, string | undefined>>,
): TlsFacts {
  let config: ServerTlsConfig | ClientTlsConfig;
  try {
    config = side === 'server' ? loadServerTlsConfig({ env }) : loadClientTlsConfig({ env });
  } catch (err) {
    return { side, settings: { error: factError(err) } };
  }
  const files = config.files ?? {};
  return {
    side,
    settings: { config },
    ...(files.certificate
      ? { certificate: readFacts(files.certificate, readCertificateChainFile) }
      : {}),
    ...(files.privateKey ? { privateKey: privateKeyFacts(files.privateKey) } : {}),
    ...(files.ca ? { ca: readFacts(files.ca, readTrustBundleFile) } : {}),
  };
}

function readFacts<T>(setting: TlsFileSetting, read: (path: string) => T): TlsFileFacts<T> {
  const mode = modeOf(setting.path);
  return {
    path: setting.path,
    origin: setting.origin,
    ...(mode === undefined ? {} : { mode }),
    read: attempt(() => read(setting.path)),
  };
}

function privateKeyFacts(setting: TlsFileSetting): TlsFileFacts<KeyPair> {
  const facts = readFacts(setting, (path) => readPrivateKeyFile(path));
  const owner = attempt(() => readPrivateKeyFile(setting.path, { ownerOnly: true }));
  if ('error' in owner && owner.error.code === 'ERR_KEY_PERMISSIONS')
    return { ...facts, permission: owner.error };
  return facts;
}

function attempt<T>(read: () => T): { value: T } | { error: FactError } {
  try {
    return { value: read() };
  } catch (err) {
    return { error: factError(err) };
  }
}

function modeOf(path: string): number | undefined {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return undefined;
  }
}
