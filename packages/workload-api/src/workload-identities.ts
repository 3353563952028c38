import { X509Certificate } from 'node:crypto';
import {
  assertKeyMatchesCertificate,
  createCertificateSigningRequest,
  generateKeyPair,
  parseCertificatesPem,
  validateX509Svid,
} from '@sigil/pki';
import type { WorkloadEntry } from './entries';

/**
 * One issued workload X509-SVID: DER forms as the Workload API sends them, PEM for local use.
 *
 * @example
 * ```ts
 * const svid: IssuedWorkloadSvid | undefined = identities.svid(entry.id);
 * if (svid) console.log(svid.spiffeId, svid.notAfter.toISOString());
 * ```
 */
export interface IssuedWorkloadSvid {
  readonly entryId: string;
  readonly spiffeId: string;
  /** Leaf first, concatenated DER. */
  readonly chainDer: Buffer;
  /** PKCS#8 DER. */
  readonly keyDer: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/**
 * What {@link createWorkloadIdentities} needs from the agent: its controller calls and its trust
 * bundle.
 *
 * @example
 * ```ts
 * const options: WorkloadIdentitiesOptions = {
 *   trustDomain: session.identity.trustDomain,
 *   trustBundlePem: () => session.identity.bundlePem,
 *   signCsr: (entryId, csrPem) => session.dialer.signWorkloadSvid({ entryId, csrPem }),
 *   mintJwtSvid: (entryId, audience) => session.dialer.mintJwtSvid({ entryId, audience }),
 * };
 * ```
 */
export interface WorkloadIdentitiesOptions {
  trustDomain: string;
  /** The runtime trust bundle (PEM) the workload SVIDs chain to; read at each change. */
  trustBundlePem: () => string;
  /**
   * The serving agent's own certificate chain (PEM), read at each {@link
   * WorkloadIdentities.bundleChanged}: the controller signs workload SVIDs with the CA that
   * signed it, so once the agent holds a certificate of a newly activated CA, SVIDs still signed
   * by the previous one are re-signed at once rather than at half their lifetime (before that
   * CA retires). Without it, only SVIDs that no longer chain to the bundle are re-signed early.
   */
  agentCertificatePem?: () => string;
  /** The controller's SignWorkloadSvid: certifies the CSR's key for the entry. */
  signCsr: (entryId: string, csrPem: string) => Promise<{ certificateChainPem: string }>;
  /** The controller's MintJwtSvid. */
  mintJwtSvid: (
    entryId: string,
    audience: string[],
  ) => Promise<{ spiffeId: string; token: string; expiresAt: number }>;
  /** Called when issuing or renewing an entry's SVID failed (it is retried). */
  onError?: (entryId: string, err: unknown, retryInMs: number) => void;
  /** Called after each issued or renewed SVID. */
  onIssued?: (svid: IssuedWorkloadSvid) => void;
  /** Delay before retrying a failed issuance. Default 5 s. */
  retryMs?: number;
  /** Clock. Default `() => new Date()`. */
  now?: () => Date;
}

/**
 * The serving agent's workload identities: the entries it was given, one key and X509-SVID per
 * entry (the key generated here, only the CSR leaves), renewed at half their lifetime, the X.509
 * and JWT bundles, and cached JWT-SVIDs. Listeners hear every change (entries, SVIDs, bundles),
 * which the Workload API streams push.
 *
 * @example
 * ```ts
 * const identities = createWorkloadIdentities(options);
 * identities.setEntries(entries);
 * await identities.ready(entries.map((e) => e.id));
 * identities.onChange(() => push());
 * ```
 */
export interface WorkloadIdentities {
  readonly trustDomain: string;
  /** Replaces the entries: new ones are issued, removed ones dropped. */
  setEntries(entries: readonly WorkloadEntry[]): void;
  entries(): readonly WorkloadEntry[];
  /** The current SVID of an entry, once issued. */
  svid(entryId: string): IssuedWorkloadSvid | undefined;
  /** Resolves once every named entry that still exists has an SVID (or after `timeoutMs`). */
  ready(entryIds: readonly string[], timeoutMs?: number): Promise<void>;
  /** Renews the named entries' SVIDs at once (all when omitted). */
  rotate(entryIds?: readonly string[]): Promise<void>;
  /** The trust domain's X.509 bundle, concatenated DER. */
  x509Bundle(): Buffer;
  /**
   * Call when the trust bundle or the agent's own certificate changed (CA rotation, renewal):
   * listeners are told, and SVIDs not signed by the current CA are re-signed at once.
   */
  bundleChanged(): void;
  /** Sets the JWT bundle (JWKS JSON) of the trust domain; a change drops the cached JWT-SVIDs. */
  setJwtBundle(jwksJson: string): void;
  /** The JWT bundle (JWKS JSON), once the controller sent it. */
  jwtBundle(): string | undefined;
  /** A JWT-SVID for the entry and audience, cached until half its lifetime. */
  jwtSvid(entry: WorkloadEntry, audience: readonly string[]): Promise<string>;
  /** Calls `listener` after every change; returns the unsubscribe. */
  onChange(listener: () => void): () => void;
  /** Stops the renewal timers. */
  close(): void;
}

interface Slot {
  entry: WorkloadEntry;
  svid?: IssuedWorkloadSvid;
  leaf?: X509Certificate;
  timer?: NodeJS.Timeout;
  inFlight?: Promise<void>;
}

const derOf = (pem: string, source: string): Buffer =>
  Buffer.concat(parseCertificatesPem(pem, source).map((c) => c.raw));

const certificatesOf = (pem: string, source: string): X509Certificate[] =>
  parseCertificatesPem(pem, source).map((c) => new X509Certificate(c.raw));

/**
 * The CAs a workload SVID must be signed by to stay: the one that signed the agent's own leaf
 * when known (the controller's current CA), else every root of the bundle.
 */
function acceptedIssuers(options: WorkloadIdentitiesOptions): X509Certificate[] {
  const roots = certificatesOf(options.trustBundlePem(), 'the trust bundle');
  if (options.agentCertificatePem === undefined) return roots;
  const [agentLeaf, ...intermediates] = certificatesOf(
    options.agentCertificatePem(),
    "the agent's certificate",
  );
  const issuer = [...intermediates, ...roots].find(
    (ca) => agentLeaf !== undefined && agentLeaf.verify(ca.publicKey),
  );
  return issuer === undefined ? roots : [issuer];
}

/**
 * Creates the {@link WorkloadIdentities} of a serving agent.
 *
 * @example
 * ```ts
 * const identities = createWorkloadIdentities({ trustDomain, trustBundlePem, signCsr, mintJwtSvid });
 * ```
 */
export function createWorkloadIdentities(options: WorkloadIdentitiesOptions): WorkloadIdentities {
  const now = options.now ?? (() => new Date());
  const retryMs = options.retryMs ?? 5_000;
  const slots = new Map<string, Slot>();
  const listeners = new Set<() => void>();
  const jwtCache = new Map<string, { token: string; refreshAt: number }>();
  let jwks: string | undefined;
  let closed = false;
  const changed = (): void => {
    for (const listener of [...listeners]) listener();
  };

  const schedule = (slot: Slot, delayMs: number): void => {
    clearTimeout(slot.timer);
    if (closed) return;
    // setTimeout holds at most 2^31-1 ms; a longer wait is re-armed.
    slot.timer = setTimeout(() => void issue(slot), Math.min(Math.max(delayMs, 0), 2 ** 31 - 1));
    slot.timer.unref();
  };

  const issueOnce = async (slot: Slot): Promise<void> => {
    const key = await generateKeyPair('ec-p256');
    const csrPem = await createCertificateSigningRequest(key);
    const { certificateChainPem } = await options.signCsr(slot.entry.id, csrPem);
    const validated = validateX509Svid(certificateChainPem, options.trustBundlePem(), {
      trustDomain: options.trustDomain,
      at: now(),
      clockSkewToleranceMs: 5 * 60_000,
    });
    if (validated.spiffeId !== slot.entry.spiffeId)
      throw new Error(`the controller issued ${validated.spiffeId}, not ${slot.entry.spiffeId}`);
    assertKeyMatchesCertificate(key, validated.leaf, {
      keySource: 'the workload key',
      certificateSource: 'SignWorkloadSvidResponse',
    });
    if (slots.get(slot.entry.id) !== slot) return;
    slot.leaf = validated.leaf;
    slot.svid = {
      entryId: slot.entry.id,
      spiffeId: validated.spiffeId,
      chainDer: derOf(certificateChainPem, 'SignWorkloadSvidResponse'),
      keyDer: key.privateKey.export({ format: 'der', type: 'pkcs8' }),
      notBefore: validated.notBefore,
      notAfter: validated.notAfter,
    };
    // Half the lifetime left at issuance: notBefore is back-dated for skewed clocks, so it
    // would put the renewal point in the past for a short-lived SVID.
    schedule(slot, (validated.notAfter.getTime() - now().getTime()) / 2);
    options.onIssued?.(slot.svid);
    changed();
  };

  const issue = (slot: Slot): Promise<void> => {
    slot.inFlight ??= issueOnce(slot)
      .catch((err: unknown) => {
        options.onError?.(slot.entry.id, err, retryMs);
        if (slots.get(slot.entry.id) === slot) schedule(slot, retryMs);
      })
      .finally(() => (slot.inFlight = undefined));
    return slot.inFlight;
  };

  const sameEntry = (a: WorkloadEntry, b: WorkloadEntry): boolean =>
    a.spiffeId === b.spiffeId &&
    a.x509TtlSeconds === b.x509TtlSeconds &&
    a.jwtTtlSeconds === b.jwtTtlSeconds &&
    a.selectors.join('\n') === b.selectors.join('\n');

  return {
    trustDomain: options.trustDomain,
    setEntries(entries) {
      const next = new Map(entries.map((e) => [e.id, e]));
      for (const [id, slot] of slots)
        if (!next.has(id) || !sameEntry(slot.entry, next.get(id)!)) {
          clearTimeout(slot.timer);
          slots.delete(id);
        }
      for (const entry of entries)
        if (!slots.has(entry.id)) {
          const slot: Slot = { entry };
          slots.set(entry.id, slot);
          void issue(slot);
        }
      jwtCache.clear();
      changed();
    },
    entries: () => [...slots.values()].map((s) => s.entry),
    svid: (entryId) => slots.get(entryId)?.svid,
    async ready(entryIds, timeoutMs = 15_000) {
      const pending = entryIds
        .map((id) => slots.get(id))
        .filter((slot): slot is Slot => slot !== undefined && slot.svid === undefined);
      if (pending.length === 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        const stop = this.onChange(() => {
          if (pending.every((slot) => slot.svid !== undefined || slots.get(slot.entry.id) !== slot))
            done();
        });
        function done(): void {
          clearTimeout(timer);
          stop();
          resolve();
        }
      });
    },
    async rotate(entryIds) {
      const targets = [...slots.values()].filter(
        (slot) => entryIds === undefined || entryIds.includes(slot.entry.id),
      );
      await Promise.all(
        targets.map((slot) => (slot.inFlight ?? Promise.resolve()).then(() => issue(slot))),
      );
    },
    x509Bundle: () => derOf(options.trustBundlePem(), 'the trust bundle'),
    bundleChanged() {
      changed();
      // A CA activated (the agent's own certificate now comes from another CA) or retired (the
      // bundle lost a root): SVIDs of the old CA are re-signed now, pushed when they are.
      const issuers = acceptedIssuers(options);
      for (const slot of slots.values())
        if (slot.leaf !== undefined && !issuers.some((ca) => slot.leaf!.verify(ca.publicKey)))
          void issue(slot);
    },
    setJwtBundle(json) {
      if (json === jwks) return;
      jwks = json;
      // A new bundle may mean a new signing key (JWT authority rotation): mint again, so no
      // cached token of a key about to retire is handed out.
      jwtCache.clear();
      changed();
    },
    jwtBundle: () => jwks,
    async jwtSvid(entry, audience) {
      const key = `${entry.id}\n${[...audience].sort().join('\n')}`;
      const cached = jwtCache.get(key);
      if (cached !== undefined && cached.refreshAt > now().getTime()) return cached.token;
      const minted = await options.mintJwtSvid(entry.id, [...audience]);
      const issuedAt = now().getTime();
      jwtCache.set(key, {
        token: minted.token,
        refreshAt: issuedAt + (minted.expiresAt - issuedAt) / 2,
      });
      return minted.token;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed = true;
      for (const slot of slots.values()) clearTimeout(slot.timer);
      listeners.clear();
    },
  };
}
