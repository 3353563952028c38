import { readFile, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { SigilError } from '@sigil/errors';
import {
  assertKeyMatchesCertificate,
  CERTIFICATE_MODE,
  ensurePrivateDirectory,
  importPrivateKeyPem,
  PRIVATE_KEY_MODE,
  renameFileDurably,
  writeFileAtomic,
} from '@sigil/pki';
import { summarizeCertificateChain, type AgentIdentity, type AgentKind } from './identity';

/**
 * File names inside STATE_DIR.
 *
 * @example
 * ```ts
 * const chain = readFileSync(path.join(stateDir, STATE_FILES.certificate), 'utf8');
 * ```
 */
export const STATE_FILES = {
  /** Private key, PKCS#8 PEM, mode 0600. */
  key: 'tls.key',
  /** X509-SVID: leaf then intermediates. */
  certificate: 'tls.crt',
  /** Runtime trust bundle (roots). */
  bundle: 'ca.crt',
  /** Bootstrap CA the controller was verified against at enrollment. */
  controllerCa: 'controller-ca.crt',
  /** Metadata (JSON, snake_case). */
  metadata: 'agent.json',
} as const;

const PENDING = '.new';
const FORMAT = 1;

/**
 * Options of {@link createIdentityStore}.
 *
 * @example
 * ```ts
 * const options: IdentityStoreOptions = { kind: 'tunneler', stateDir: process.env.STATE_DIRECTORY };
 * const store = createIdentityStore(options);
 * ```
 */
export interface IdentityStoreOptions {
  /** The agent kind whose identity this store holds; a state dir of the other kind is refused. */
  kind: AgentKind;
  /** STATE_DIR. Omit for an in-memory store (`--ephemeral`): nothing is written to disk. */
  stateDir?: string;
}

/**
 * Where an agent keeps its identity between restarts, see {@link createIdentityStore}.
 *
 * @example
 * ```ts
 * const store: IdentityStore = createIdentityStore({ kind: 'connector', stateDir: '/var/lib/sigil-connector' });
 * const identity = await store.load();
 * if (identity !== undefined) await store.save({ ...identity, bundlePem, bundleVersion: identity.bundleVersion + 1 });
 * ```
 */
export interface IdentityStore {
  /** STATE_DIR, or undefined for an in-memory store. */
  readonly stateDir: string | undefined;
  /** The stored identity, or undefined when the agent has not enrolled yet. */
  load(): Promise<AgentIdentity | undefined>;
  /** Stores the identity; every file is replaced atomically, and a crash never leaves a key beside a certificate it does not match. */
  save(identity: AgentIdentity): Promise<void>;
}

interface Metadata {
  format: number;
  kind: AgentKind;
  agent_id: string;
  spiffe_id: string;
  trust_domain: string;
  controller_addrs: string[];
  connector_id?: string;
  connector_addr?: string;
  bundle_version: number;
  not_after: string;
  obtained_at: string;
  enrolled_at: string;
  renewals: number;
}

/**
 * The identity store of an agent. With a `stateDir` it persists the identity as
 *
 * ```text
 * STATE_DIR/            0700  refused when open to group or others, or owned by another user
 *   tls.key             0600  private key (PKCS#8 PEM)
 *   tls.crt             0644  X509-SVID, leaf then intermediates
 *   ca.crt              0644  runtime trust bundle
 *   controller-ca.crt   0644  bootstrap CA pinned at enrollment
 *   agent.json          0644  metadata: kind, ids, controller addresses, renewals
 * ```
 *
 * Each file is written to a temporary file, fsynced and renamed. A renewal replaces key and
 * certificate together: both are first written as `tls.key.new` and `tls.crt.new`, then renamed;
 * `tls.crt.new` is the commit point, so `load()` after a crash either rolls the pair forward or
 * discards a half-written key. Without `stateDir` the identity lives in memory only.
 *
 * @example
 * ```ts
 * const store = createIdentityStore({ kind: 'connector', stateDir: '/var/lib/sigil-connector' });
 * const identity = await store.load();
 * if (!identity) throw new Error('not enrolled yet');
 * ```
 */
export function createIdentityStore(options: IdentityStoreOptions): IdentityStore {
  return options.stateDir === undefined
    ? createMemoryStore()
    : createDirectoryStore(options.kind, path.resolve(options.stateDir));
}

function createMemoryStore(): IdentityStore {
  let stored: AgentIdentity | undefined;
  return {
    stateDir: undefined,
    load: async () => (stored === undefined ? undefined : { ...stored }),
    save: async (identity) => {
      stored = { ...identity };
    },
  };
}

function createDirectoryStore(kind: AgentKind, stateDir: string): IdentityStore {
  const file = (name: string): string => path.join(stateDir, name);
  let queue: Promise<unknown> = Promise.resolve();

  const write = async (identity: AgentIdentity): Promise<void> => {
    if (identity.kind !== kind)
      throw new Error(`identity store for ${kind} given a ${identity.kind} identity`);
    ensurePrivate(stateDir);
    writeFileAtomic(file(STATE_FILES.bundle), identity.bundlePem, { mode: CERTIFICATE_MODE });
    writeFileAtomic(file(STATE_FILES.controllerCa), identity.controllerCaPem, {
      mode: CERTIFICATE_MODE,
    });
    const current = await readOptional(file(STATE_FILES.certificate));
    if (current !== identity.certificateChainPem) {
      writeFileAtomic(file(STATE_FILES.key + PENDING), identity.privateKeyPem, {
        mode: PRIVATE_KEY_MODE,
      });
      writeFileAtomic(file(STATE_FILES.certificate + PENDING), identity.certificateChainPem, {
        mode: CERTIFICATE_MODE,
      });
      await commitPending(stateDir);
    }
    writeFileAtomic(
      file(STATE_FILES.metadata),
      `${JSON.stringify(toMetadata(identity), null, 2)}\n`,
      { mode: CERTIFICATE_MODE },
    );
  };

  return {
    stateDir,
    load: () => {
      const result = queue.then(() => read(kind, stateDir));
      queue = result.catch(() => undefined);
      return result;
    },
    save: (identity) => {
      const result = queue.then(() => write(identity));
      queue = result.catch(() => undefined);
      return result.catch((cause: unknown) => {
        if (cause instanceof SigilError && cause.code === 'ERR_STATE_UNWRITABLE') throw cause;
        throw new SigilError(
          'ERR_STATE_UNWRITABLE',
          `cannot write the identity to STATE_DIR ${stateDir}: ${(cause as Error).message}`,
          {
            cause,
            details: { stateDir },
          },
        );
      });
    },
  };
}

/** STATE_DIR must be the agent's alone: created 0700, and refused when open to others. */
function ensurePrivate(stateDir: string): void {
  ensurePrivateDirectory(stateDir, { variable: 'STATE_DIR', code: 'ERR_STATE_UNWRITABLE' });
}

/** Completes or discards an interrupted key/certificate replacement (see createIdentityStore). */
async function commitPending(stateDir: string): Promise<void> {
  const key = path.join(stateDir, STATE_FILES.key);
  const certificate = path.join(stateDir, STATE_FILES.certificate);
  if (await exists(certificate + PENDING)) {
    if (await exists(key + PENDING)) renameFileDurably(key + PENDING, key);
    renameFileDurably(certificate + PENDING, certificate);
  } else {
    await rm(key + PENDING, { force: true });
  }
}

async function read(kind: AgentKind, stateDir: string): Promise<AgentIdentity | undefined> {
  const file = (name: string): string => path.join(stateDir, name);
  if (!(await exists(stateDir))) return undefined;
  // Files others could have replaced are no identity to trust.
  ensurePrivate(stateDir);
  try {
    await commitPending(stateDir);
  } catch (cause) {
    throw invalid(
      stateDir,
      `cannot complete an interrupted certificate replacement: ${(cause as Error).message}`,
      cause,
    );
  }
  const names = [
    STATE_FILES.key,
    STATE_FILES.certificate,
    STATE_FILES.bundle,
    STATE_FILES.controllerCa,
    STATE_FILES.metadata,
  ];
  const contents = await Promise.all(names.map((name) => readOptional(file(name))));
  const missing = names.filter((_, i) => contents[i] === undefined);
  if (missing.length === names.length) return undefined;
  if (missing.length > 0)
    throw invalid(stateDir, `incomplete identity, missing ${missing.join(', ')}`);
  const [keyPem, chainPem, bundlePem, controllerCaPem, metadataText] = contents;

  let metadata: Metadata;
  try {
    metadata = JSON.parse(metadataText!) as Metadata;
  } catch (cause) {
    throw invalid(stateDir, `${STATE_FILES.metadata} is not valid JSON`, cause);
  }
  if (metadata.format !== FORMAT)
    throw invalid(
      stateDir,
      `${STATE_FILES.metadata} has unsupported format ${String(metadata.format)}`,
    );
  if (metadata.kind !== kind) {
    throw invalid(
      stateDir,
      `holds the identity of a ${metadata.kind} (${metadata.agent_id}), not of a ${kind}`,
    );
  }
  const summary = summarizeCertificateChain(chainPem!, file(STATE_FILES.certificate));
  const key = importPrivateKeyPem(keyPem!, file(STATE_FILES.key));
  assertKeyMatchesCertificate(key, summary.leaf, {
    keySource: file(STATE_FILES.key),
    certificateSource: file(STATE_FILES.certificate),
  });
  if (summary.spiffeId !== metadata.spiffe_id) {
    throw invalid(
      stateDir,
      `${STATE_FILES.certificate} is issued to ${summary.spiffeId} but ${STATE_FILES.metadata} says ${metadata.spiffe_id}`,
    );
  }
  return {
    kind,
    agentId: metadata.agent_id,
    spiffeId: summary.spiffeId,
    trustDomain: metadata.trust_domain,
    privateKeyPem: keyPem!,
    certificateChainPem: chainPem!,
    bundlePem: bundlePem!,
    bundleVersion: metadata.bundle_version,
    controllerCaPem: controllerCaPem!,
    controllerAddresses: metadata.controller_addrs,
    connectorId: metadata.connector_id,
    connectorAddress: metadata.connector_addr,
    notBefore: summary.notBefore,
    notAfter: summary.notAfter,
    obtainedAt: new Date(metadata.obtained_at),
    enrolledAt: new Date(metadata.enrolled_at),
    renewals: metadata.renewals,
  };
}

function toMetadata(identity: AgentIdentity): Metadata {
  return {
    format: FORMAT,
    kind: identity.kind,
    agent_id: identity.agentId,
    spiffe_id: identity.spiffeId,
    trust_domain: identity.trustDomain,
    controller_addrs: identity.controllerAddresses,
    connector_id: identity.connectorId,
    connector_addr: identity.connectorAddress,
    bundle_version: identity.bundleVersion,
    not_after: identity.notAfter.toISOString(),
    obtained_at: identity.obtainedAt.toISOString(),
    enrolled_at: identity.enrolledAt.toISOString(),
    renewals: identity.renewals,
  };
}

function invalid(stateDir: string, why: string, cause?: unknown): SigilError {
  return new SigilError(
    'ERR_STATE_INVALID',
    `STATE_DIR ${stateDir}: ${why}; enroll again with a new token (or restore the directory)`,
    {
      cause,
      details: { stateDir },
    },
  );
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SigilError('ERR_FILE_UNREADABLE', `cannot read ${file}: ${(err as Error).message}`, {
      cause: err,
      details: { file },
    });
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
