// The shell around domain/trust-lifecycle.ts: the trust state lives in the store (shared by every
// replica, compare-and-set by revision), CA keys sealed with DATA_DIR's sealing key; this module
// loads it, signs with the current generation, runs the steps, and tells listeners (the serving
// TLS identity, the control streams) whenever the bundle changes, here or on another replica.
import { SigilError } from '@sigil/errors';
import {
  createCertificateAuthority,
  createIntermediateCertificateAuthority,
  fingerprint,
  loadCertificateAuthority,
  parseCertificatesPem,
} from '@sigil/pki';
import type { CertificateAuthority } from '@sigil/pki';
import {
  activateRotation,
  activationRefused,
  bundleIntermediatesPemOf,
  bundlePemOf,
  decideActivation,
  initialTrustState,
  prepareRotation,
  retireRotation,
} from '../domain/trust-lifecycle';
import type {
  ActivationCheck,
  AgentBundleReport,
  CaGeneration,
  LiveCertificate,
  TrustState,
} from '../domain/trust-lifecycle';
import type { AgentKind, ControllerStore } from '../store/store';
import type { CaKeySealer } from './ca-key-sealing';
import type { RuntimeTrustState } from './context';

/** What a new generation is made from: a fresh self-signed root, or a CA the operator signed. */
export type GenerationSource =
  | { kind: 'self-signed'; ttlSeconds?: number }
  | {
      kind: 'upstream';
      /** The intermediate certificate (then any intermediates above it), PEM. */
      certificatePem: string;
      privateKeyPem: string;
      /** The operator's root, PEM: what the bundle carries. */
      rootPem: string;
    }
  | {
      /** The controller makes the intermediate itself, signed once with the root key (not kept). */
      kind: 'upstream-root-key';
      rootPem: string;
      rootKeyPem: string;
    };

/** Options of {@link loadTrustRuntime}. */
export interface TrustRuntimeOptions {
  store: ControllerStore;
  sealer: CaKeySealer;
  /** The runtime CA in DATA_DIR: generation 1 when the store has no trust state yet. */
  seed: CertificateAuthority;
  trustDomain: string;
  clock: () => Date;
  /** Lifetime of a new self-signed generation when the step names none (`RUNTIME_CA_TTL`). Default: pki's (10 years). */
  runtimeCaTtlSeconds?: number;
}

/** The runtime trust of this replica, kept in step with the store. */
export interface TrustRuntime {
  /** What issuance and the TLS layers use now. */
  runtime(): RuntimeTrustState;
  /** The stored state as this replica last saw it. */
  readonly state: TrustState;
  /** Calls `listener` after every change of the state (a step here, or a refresh that found one). */
  onChange(listener: (state: TrustState) => void): void;
  /** Re-reads the store; true when another replica changed the state. */
  refresh(): Promise<boolean>;
  /** Adds a generation as next. */
  prepare(source: GenerationSource): Promise<TrustState>;
  /** What activation would decide now, given what the agents reported. */
  checkActivation(reports: readonly AgentBundleReport[], graceMs: number): ActivationCheck;
  /** Makes next current when {@link TrustRuntime.checkActivation} allows it; refuses otherwise. */
  activate(
    reports: readonly AgentBundleReport[],
    graceMs: number,
  ): Promise<{ state: TrustState; check: ActivationCheck }>;
  /** Live certificates with the generation that signed each. */
  liveCertificates(): Promise<LiveCertificate[]>;
  /** Removes previous from the bundle (see retireRotation). */
  retire(force: boolean): Promise<TrustState>;
  /**
   * Records the bundle version an agent reported (written only when it rises): the write's
   * promise, or undefined when there was nothing to write (every heartbeat reports its version, so
   * the usual case allocates no promise).
   */
  noteBundleVersion(kind: AgentKind, agentId: string, version: number): Promise<void> | undefined;
  /** `agents` (from the registry) with the highest bundle version each reported (0: none). */
  bundleReports(
    agents: ReadonlyArray<Omit<AgentBundleReport, 'bundleVersion'>>,
  ): Promise<AgentBundleReport[]>;
}

interface Document {
  state: TrustState;
  /** Sealed private keys by generation id. */
  keys: Record<string, string>;
}

const keyContext = (id: number): string => `runtime-ca/${id}`;

/**
 * Loads the trust state from the store, creating it from `seed` on the first start under schema
 * 3 (a race between replicas is settled by the compare-and-set: one document wins).
 *
 * @example
 * ```ts
 * const trust = await loadTrustRuntime({ store, sealer, seed: authorities.runtime, trustDomain, clock });
 * const bundle = trust.runtime().bundlePem;
 * ```
 */
export async function loadTrustRuntime(options: TrustRuntimeOptions): Promise<TrustRuntime> {
  const { store, sealer, trustDomain, clock } = options;
  const read = async (): Promise<{ revision: number; doc: Document } | undefined> => {
    const stored = await store.getTrustState();
    return stored === undefined
      ? undefined
      : { revision: stored.revision, doc: JSON.parse(stored.document) as Document };
  };

  let loaded = await read();
  if (loaded === undefined) {
    const seed = options.seed;
    const doc: Document = {
      state: initialTrustState({ ...describe(seed), createdAt: clock().getTime() }),
      keys: { '1': sealer.seal(seed.privateKeyPem, keyContext(1)) },
    };
    await store.replaceTrustState({ revision: 1, document: JSON.stringify(doc) }, undefined);
    loaded = await read();
    if (loaded === undefined) throw new Error('the trust state vanished after it was written');
  }
  let doc = loaded.doc;
  let signer = authorityOf(doc, doc.state.current, sealer);
  const listeners: Array<(state: TrustState) => void> = [];
  const reported = new Map<string, number>();

  const install = (next: Document): void => {
    const currentChanged = next.state.current.id !== doc.state.current.id;
    if (currentChanged) signer = authorityOf(next, next.state.current, sealer);
    doc = next;
    for (const listener of listeners) listener(doc.state);
  };

  /** Applies `step` to the latest stored document; a lost compare-and-set is retried once. */
  const mutate = async (step: (latest: Document) => Document): Promise<TrustState> => {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const latest = (await read())!;
      const next = step(latest.doc);
      if (
        await store.replaceTrustState(
          { revision: next.state.revision, document: JSON.stringify(next) },
          latest.revision,
        )
      ) {
        install(next);
        return next.state;
      }
    }
    throw new SigilError(
      'ERR_CA_ROTATION_REFUSED',
      'another controller replica changed the trust state at the same moment; read GET /api/admin/ca and retry',
      { details: { step: 'store' } },
    );
  };

  const liveCertificates = async (): Promise<LiveCertificate[]> =>
    store.listLiveCertificates(clock().getTime());

  const runtime: TrustRuntime = {
    runtime: () => ({
      ca: signer,
      bundlePem: bundlePemOf(doc.state),
      intermediatesPem: bundleIntermediatesPemOf(doc.state),
      bundleVersion: doc.state.bundleVersion,
      generation: doc.state.current.id,
    }),
    get state() {
      return doc.state;
    },
    onChange: (listener) => void listeners.push(listener),
    async refresh() {
      const latest = await read();
      if (latest === undefined || latest.doc.state.revision <= doc.state.revision) return false;
      install(latest.doc);
      return true;
    },
    async prepare(source) {
      const now = clock();
      const made = await generationOf(
        source.kind === 'self-signed' &&
          source.ttlSeconds === undefined &&
          options.runtimeCaTtlSeconds !== undefined
          ? { ...source, ttlSeconds: options.runtimeCaTtlSeconds }
          : source,
        trustDomain,
        now,
        doc.state,
      );
      return mutate((latest) => {
        const state = prepareRotation(latest.state, {
          ...describe(made),
          createdAt: now.getTime(),
        });
        return {
          state,
          keys: {
            ...latest.keys,
            [state.next!.id]: sealer.seal(made.privateKeyPem, keyContext(state.next!.id)),
          },
        };
      });
    },
    checkActivation: (reports, graceMs) =>
      decideActivation(doc.state, reports, clock().getTime(), graceMs),
    async activate(reports, graceMs) {
      let check: ActivationCheck | undefined;
      const state = await mutate((latest) => {
        check = decideActivation(latest.state, reports, clock().getTime(), graceMs);
        if (!check.allowed) throw activationRefused(check);
        return { state: activateRotation(latest.state, clock().getTime()), keys: latest.keys };
      });
      return { state, check: check! };
    },
    liveCertificates,
    async retire(force) {
      const live = await liveCertificates();
      return mutate((latest) => {
        const state = retireRotation(latest.state, live, force);
        const keys = { ...latest.keys };
        delete keys[String(latest.state.previous!.id)];
        return { state, keys };
      });
    },
    noteBundleVersion(kind, agentId, version) {
      const key = `${kind}/${agentId}`;
      if (version <= (reported.get(key) ?? 0)) return undefined;
      reported.set(key, version);
      return store.recordBundleVersion({
        kind,
        agentId,
        bundleVersion: version,
        reportedAt: clock().getTime(),
      });
    },
    async bundleReports(agents) {
      const versions = new Map(
        (await store.listBundleVersions()).map((r) => [`${r.kind}/${r.agentId}`, r.bundleVersion]),
      );
      return agents.map((agent) => ({
        ...agent,
        bundleVersion: versions.get(`${agent.kind}/${agent.agentId}`) ?? 0,
      }));
    },
  };
  return runtime;
}

function describe(ca: {
  certificatePem: string;
  intermediatesPem: string;
  bundlePem: string;
}): Omit<CaGeneration, 'id' | 'bundleVersion' | 'activatedAt' | 'createdAt'> {
  const [certificate] = parseCertificatesPem(ca.certificatePem, 'the runtime CA');
  const chain = ca.intermediatesPem.trim() === '' ? ca.certificatePem : ca.intermediatesPem;
  return {
    certificatePem: chain.trim() + '\n',
    rootPem: ca.bundlePem.trim() + '\n',
    fingerprint: fingerprint(certificate!),
    notAfter: new Date(certificate!.validTo).getTime(),
  };
}

function authorityOf(
  doc: Document,
  generation: CaGeneration,
  sealer: CaKeySealer,
): CertificateAuthority {
  const sealed = doc.keys[String(generation.id)];
  if (sealed === undefined)
    throw new SigilError(
      'ERR_DATA_DIR_UNUSABLE',
      `the trust state has no key for runtime CA generation ${generation.id}`,
    );
  const selfSigned = generation.certificatePem.trim() === generation.rootPem.trim();
  return loadCertificateAuthority({
    certificatePem: selfSigned
      ? generation.certificatePem
      : `${generation.certificatePem.trim()}\n${generation.rootPem.trim()}\n`,
    privateKeyPem: sealer.open(sealed, keyContext(generation.id)),
    certificateSource: `runtime CA generation ${generation.id}`,
    keySource: `runtime CA generation ${generation.id} key`,
  });
}

async function generationOf(
  source: GenerationSource,
  trustDomain: string,
  now: Date,
  state: TrustState,
): Promise<CertificateAuthority> {
  if (source.kind === 'self-signed')
    return createCertificateAuthority({
      trustDomain,
      commonName: `${trustDomain} runtime CA ${state.current.id + 1}`,
      now,
      ...(source.ttlSeconds === undefined ? {} : { ttlSeconds: source.ttlSeconds }),
    });
  const ca =
    source.kind === 'upstream'
      ? loadCertificateAuthority({
          certificatePem: `${source.certificatePem.trim()}\n${source.rootPem.trim()}\n`,
          privateKeyPem: source.privateKeyPem,
          certificateSource: 'the upstream intermediate certificate',
          keySource: 'the upstream intermediate key',
        })
      : await createIntermediateCertificateAuthority(
          loadCertificateAuthority({
            certificatePem: source.rootPem,
            privateKeyPem: source.rootKeyPem,
            certificateSource: 'the upstream root certificate',
            keySource: 'the upstream root key',
          }),
          { commonName: `${trustDomain} runtime CA ${state.current.id + 1}`, now },
        );
  if (ca.trustDomain !== trustDomain)
    throw new SigilError(
      'ERR_CA_INVALID',
      `the upstream intermediate is for trust domain ${ca.trustDomain}, the controller's is ${trustDomain}`,
    );
  return ca;
}
