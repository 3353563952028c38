import { SigilError } from '@sigil/errors';
import {
  createClientCredentials,
  createRotatingIdentity,
  createServerCredentials,
  loadClientTlsConfig,
  loadServerTlsConfig,
  type ClientCredentialsHandle,
  type RotatingIdentity,
  type ServerCredentialsHandle,
} from '@sigil/grpc-tls';
import {
  assertKeyMatchesCertificate,
  createCertificateSigningRequest,
  formatSpiffeId,
  generateKeyPair,
  validateX509Svid,
} from '@sigil/pki';
import type { controlplaneV1 } from '@sigil/proto';
import type pino from 'pino';
import { createAgentMetrics, type AgentMetrics } from './agent-metrics';
import { createControllerDialer, type ControllerDialer } from './controller-dialer';
import type { AgentIdentity } from './identity';
import type { IdentityStore } from './identity-store';
import { createIdentityPersistence, type PersistenceStatus } from './identity-persistence';
import { CHECK_THE_CLOCK, CLOCK_SKEW_TOLERANCE_MS, notYetValid } from './internal/clock-skew';
import { isRevocationStatus, isUpgradeRequiredStatus } from './internal/grpc-errors';
import { createRenewalScheduler, type RenewalReason, type RenewalTimeOptions } from './renewal';
import { revocationError } from './revocation';
import type { RevocationEvidence } from './stream-supervisor';

/**
 * Options of the session an agent runtime keeps (`AgentRuntime.session`).
 *
 * @example
 * ```ts
 * const options: AgentSessionOptions = {
 *   identity, store, controllerAddresses: identity.controllerAddresses, controllerCaPem: identity.controllerCaPem, version, logger,
 * };
 * const session = createAgentSession(options);
 * ```
 */
export interface AgentSessionOptions {
  /** The identity from enrollment or from STATE_DIR. */
  identity: AgentIdentity;
  /** Where renewed identities and bundles are persisted (in memory when ephemeral). */
  store: IdentityStore;
  controllerAddresses: readonly string[];
  /** The bootstrap CA that verifies the controller. */
  controllerCaPem: string;
  controllerServerName?: string;
  version: string;
  logger: pino.Logger;
  /** Renewal timing (30% remaining, 10% jitter by default) and retry backoff. */
  renewal?: RenewalTimeOptions & { retryInitialMs?: number; retryMaxMs?: number };
  /** Clock. Default `() => new Date()`. */
  now?: () => Date;
}

/**
 * A running agent identity: `AgentRuntime.session` of a started agent.
 *
 * @example
 * ```ts
 * const session: AgentSession = createAgentSession(options);
 * await session.start();
 * session.onRenewed(() => control.reauthenticate());
 * await session.renewNow();
 * console.log(session.identity.notAfter, session.nextRenewalAt);
 * session.stop();
 * ```
 */
export interface AgentSession {
  /** The identity in use now (changes at each renewal and bundle update). */
  readonly identity: AgentIdentity;
  readonly metrics: AgentMetrics;
  /** ControlPlaneService over mTLS with the current certificate, with failover. */
  readonly dialer: ControllerDialer;
  /** When the next renewal is planned. */
  readonly nextRenewalAt: Date | undefined;
  /** Whether the identity in use is written to STATE_DIR (a failed write is retried with backoff). */
  persistence(): PersistenceStatus;
  /** Server credentials for peers of the runtime trust domain (the connector's tunneler port); client certificates required. */
  peerServerCredentials(): Promise<ServerCredentialsHandle>;
  /** Client credentials to a peer of the runtime trust domain that must present `expectedServerId`. */
  peerClientCredentials(expectedServerId: string): Promise<ClientCredentialsHandle>;
  /** Starts the renewal schedule. */
  start(): Promise<void>;
  /** Stops renewing and releases the credentials. */
  stop(): void;
  /** Renews at once (RenewNow); joins one already in flight. */
  renewNow(): Promise<void>;
  /** Applies a trust bundle (BundleUpdate) when newer than the current one. */
  applyBundle(bundle: controlplaneV1.TrustBundle): Promise<void>;
  /**
   * A peer (the connector, in heartbeat acks) says bundle `version` exists: when it is newer than
   * the one held, fetches it from the controller (GetTrustBundle; the roots never come from the
   * peer) and applies it. One fetch at a time; a failure is logged and retried at the next hint.
   */
  followBundleVersion(version: number): void;
  /** Calls `listener` after each successful renewal (to re-authenticate open streams); returns the unsubscribe. */
  onRenewed(listener: (identity: AgentIdentity) => void): () => void;
  /**
   * Records that `peer` (`the controller`, `connector edge-1`) revoked this identity: logs
   * `agent.revoked` with the reason and time, stops renewing and settles {@link AgentSession.revocation}.
   * The first call wins.
   */
  revoke(evidence: RevocationEvidence & { peer: string }): void;
  /** Resolves with ERR_AGENT_REVOKED once the identity is revoked (the agent then stops, exit code 4). */
  readonly revocation: Promise<SigilError>;
  /**
   * Resolves with ERR_IDENTITY_UNUSABLE once the certificate has expired unrenewed (the process
   * was stopped or suspended past `notAfter`): renewal has stopped and the agent must stop too
   * (exit code 1) and be enrolled again. Or with ERR_AGENT_UPGRADE_REQUIRED once the controller
   * refuses to renew this version (below the pinned minimum, grace period over): the agent stops
   * (exit code 5) and an upgraded one starts from the same STATE_DIR.
   */
  readonly unusable: Promise<SigilError>;
}

/**
 * Holds an agent's identity while it runs: serves it to gRPC through two `@sigil/grpc-tls`
 * rotating identities (one verifying the controller, one verifying peers against the runtime
 * bundle), renews it by CSR at 30% remaining lifetime with jitter or on demand, swaps renewed
 * certificates in memory without touching open streams, and persists each change to STATE_DIR
 * (atomically; nothing when ephemeral). Exposes the agent metrics.
 *
 * The controller is verified by its SPIFFE ID `spiffe://<td>/controller` against the runtime
 * bundle plus the bootstrap CA pinned at enrollment: its certificate is signed by the current
 * runtime CA (so a new bootstrap CA does not cut the agent off), or by the bootstrap CA while the
 * runtime CA is an upstream intermediate; the runtime CA issues the controller's ID to no agent.
 *
 * @example
 * ```ts
 * const session = createAgentSession({ identity, store, controllerAddresses, controllerCaPem, version, logger });
 * await session.start();
 * const tunnelPort = await session.peerServerCredentials();
 * ```
 */
export function createAgentSession(options: AgentSessionOptions): AgentSession {
  const { logger, store } = options;
  const now = options.now ?? (() => new Date());
  let identity = options.identity;
  const expiredHint = (cause: unknown): SigilError =>
    new SigilError(
      'ERR_IDENTITY_UNUSABLE',
      `the ${identity.kind} identity ${identity.spiffeId}${store.stateDir ? ` in STATE_DIR ${store.stateDir}` : ''} cannot be used: ${(cause as Error).message}${notYetValid(cause) ? CHECK_THE_CLOCK : '; enroll again with a new token'}`,
      { cause, details: { stateDir: store.stateDir, notAfter: identity.notAfter.toISOString() } },
    );
  const controllerMaterial = (id: AgentIdentity) => ({
    certificateChainPem: id.certificateChainPem,
    privateKeyPem: id.privateKeyPem,
    caPem: `${id.bundlePem.trim()}\n${options.controllerCaPem.trim()}\n`,
  });
  const peerMaterial = (id: AgentIdentity) => ({
    certificateChainPem: id.certificateChainPem,
    privateKeyPem: id.privateKeyPem,
    caPem: id.bundlePem,
  });
  let controllerTls: RotatingIdentity;
  let peerTls: RotatingIdentity;
  try {
    controllerTls = createRotatingIdentity(controllerMaterial(identity), { now });
    peerTls = createRotatingIdentity(peerMaterial(identity), { now });
  } catch (cause) {
    throw expiredHint(cause);
  }
  const metrics = createAgentMetrics({
    kind: identity.kind,
    agentId: identity.agentId,
    version: options.version,
    certificateExpirySeconds: () => (identity.notAfter.getTime() - now().getTime()) / 1000,
  });
  const persistence = createIdentityPersistence({
    store,
    logger,
    failures: metrics.stateWriteFailures,
    persisted: metrics.identityPersisted,
  });
  const handles: { close(): void }[] = [];
  const credentialsOptions = { logger, registry: metrics.registry, now };
  let controllerCredentials: ClientCredentialsHandle | undefined;
  const dialer = createControllerDialer({
    addresses: options.controllerAddresses,
    serverName: options.controllerServerName,
    credentials: () => {
      if (controllerCredentials === undefined) throw new Error('agent session not started');
      return controllerCredentials.credentials;
    },
  });

  const renewalListeners = new Set<(identity: AgentIdentity) => void>();
  let revoked: SigilError | undefined;
  let settleRevocation: (error: SigilError) => void = () => undefined;
  const revocation = new Promise<SigilError>((resolve) => (settleRevocation = resolve));
  let settleUnusable: (error: SigilError) => void = () => undefined;
  const unusable = new Promise<SigilError>((resolve) => (settleUnusable = resolve));

  // Renewals and bundle updates change the identity one at a time.
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(task: () => Promise<T>): Promise<T> => {
    const result = queue.then(task);
    queue = result.catch(() => undefined);
    return result;
  };

  const install = async (
    next: AgentIdentity,
    event: string,
    fields: Record<string, unknown>,
  ): Promise<void> => {
    controllerTls.update(controllerMaterial(next));
    peerTls.update(peerMaterial(next));
    identity = next;
    await persistence.save(next);
    logger.info(
      {
        event,
        spiffeId: next.spiffeId,
        notAfter: next.notAfter.toISOString(),
        bundleVersion: next.bundleVersion,
        ...fields,
      },
      event,
    );
  };

  const renewOnce = async (reason: RenewalReason): Promise<void> => {
    const key = await generateKeyPair('ec-p256');
    const response = await dialer.renew({ csrPem: await createCertificateSigningRequest(key) });
    const obtainedAt = now();
    const offered = response.trustBundle;
    const bundle =
      offered !== undefined && offered.rootsPem !== '' && offered.version >= identity.bundleVersion
        ? offered
        : undefined;
    const bundlePem = bundle?.rootsPem ?? identity.bundlePem;
    let svid;
    try {
      svid = validateX509Svid(response.certificateChainPem, bundlePem, {
        trustDomain: identity.trustDomain,
        at: obtainedAt,
        clockSkewToleranceMs: CLOCK_SKEW_TOLERANCE_MS,
      });
      if (svid.spiffeId !== identity.spiffeId)
        throw new Error(`issued to ${svid.spiffeId}, not ${identity.spiffeId}`);
      assertKeyMatchesCertificate(key, svid.leaf, {
        keySource: 'the renewal key',
        certificateSource: 'RenewResponse',
      });
    } catch (cause) {
      throw new SigilError(
        'ERR_RENEWAL_INVALID',
        `the controller's renewal answer is unusable: ${(cause as Error).message}`,
        { cause },
      );
    }
    const renewals = identity.renewals + 1;
    await install(
      {
        ...identity,
        privateKeyPem: key.privateKeyPem,
        certificateChainPem: response.certificateChainPem,
        bundlePem,
        bundleVersion: bundle?.version ?? identity.bundleVersion,
        notBefore: svid.notBefore,
        notAfter: svid.notAfter,
        obtainedAt,
        renewals,
      },
      'renewal.completed',
      { reason, renewals, serial: svid.leaf.serialNumber.toLowerCase() },
    );
    for (const listener of renewalListeners) listener(identity);
  };

  const renew = (reason: RenewalReason): Promise<void> =>
    serialized(async () => {
      try {
        await renewOnce(reason);
      } catch (err) {
        metrics.renewals.inc({ result: 'failure' });
        if (isRevocationStatus(err)) revoke({ peer: 'the controller', refusal: err });
        if (isUpgradeRequiredStatus(err)) refuseOutdated(err);
        throw err;
      }
      metrics.renewals.inc({ result: 'success' });
    });

  const scheduler = createRenewalScheduler({
    ...options.renewal,
    current: () => identity,
    renew,
    now: () => now().getTime(),
    onError: (err, retryInMs) =>
      logger.warn(
        {
          event: 'renewal.failed',
          reason: (err as Error).message,
          retryInMs,
          notAfter: identity.notAfter.toISOString(),
        },
        'renewal.failed',
      ),
    onExpired: (notAfter) => {
      const error = expiredHint(
        new Error(
          `its certificate expired at ${notAfter.toISOString()} before it could be renewed (was the process stopped or suspended?)`,
        ),
      );
      logger.error(
        {
          event: 'identity.expired',
          spiffeId: identity.spiffeId,
          ...error.details,
          message: error.message,
        },
        'identity.expired',
      );
      settleUnusable(error);
    },
  });

  // The controller refuses to renew this version: stop while the certificate is still valid, so
  // the upgraded agent starts from the same STATE_DIR and renews without a new enrollment.
  const refuseOutdated = (refusal: unknown): void => {
    scheduler.stop();
    const details = (refusal as { details?: string }).details ?? String(refusal);
    const error = new SigilError(
      'ERR_AGENT_UPGRADE_REQUIRED',
      `the controller refused to renew ${identity.spiffeId}: ${details}`,
      {
        cause: refusal,
        details: {
          spiffeId: identity.spiffeId,
          version: options.version,
          stateDir: store.stateDir,
        },
      },
    );
    logger.error(
      { event: 'renewal.upgrade_required', ...error.details, message: error.message },
      'renewal.upgrade_required',
    );
    settleUnusable(error);
  };

  const applyBundle = (bundle: controlplaneV1.TrustBundle): Promise<void> =>
    serialized(async () => {
      if (bundle.version <= identity.bundleVersion && bundle.rootsPem === identity.bundlePem)
        return;
      if (bundle.version < identity.bundleVersion) return;
      await install(
        { ...identity, bundlePem: bundle.rootsPem, bundleVersion: bundle.version },
        'bundle.updated',
        { previousVersion: identity.bundleVersion },
      );
      metrics.bundleUpdates.inc();
    });
  let fetchingBundle = false;
  const followBundleVersion = (version: number): void => {
    if (fetchingBundle || version <= identity.bundleVersion || revoked !== undefined) return;
    fetchingBundle = true;
    dialer
      .getTrustBundle()
      .then(applyBundle)
      .catch((err: unknown) =>
        logger.warn(
          { event: 'bundle.fetch_failed', version, reason: (err as Error).message },
          'bundle.fetch_failed',
        ),
      )
      .finally(() => (fetchingBundle = false));
  };

  const revoke = (evidence: RevocationEvidence & { peer: string }): void => {
    if (revoked !== undefined) return;
    revoked = revocationError({ ...evidence, spiffeId: identity.spiffeId });
    scheduler.stop();
    logger.error(
      { event: 'agent.revoked', ...revoked.details, message: revoked.message },
      'agent.revoked',
    );
    settleRevocation(revoked);
  };

  return {
    get identity() {
      return identity;
    },
    metrics,
    dialer,
    get nextRenewalAt() {
      return scheduler.nextRenewalAt;
    },
    persistence: () => persistence.status(),
    async peerServerCredentials() {
      const handle = await createServerCredentials(
        loadServerTlsConfig({
          env: {},
          configFile: false,
          identity: peerTls,
          requireClientCertificate: true,
        }),
        credentialsOptions,
      );
      handles.push(handle);
      return handle;
    },
    async peerClientCredentials(expectedServerId) {
      const handle = await createClientCredentials(
        loadClientTlsConfig({ env: {}, configFile: false, identity: peerTls, expectedServerId }),
        credentialsOptions,
      );
      handles.push(handle);
      return handle;
    },
    async start() {
      controllerCredentials = await createClientCredentials(
        loadClientTlsConfig({
          env: {},
          configFile: false,
          identity: controllerTls,
          expectedServerId: String(formatSpiffeId(identity.trustDomain, 'controller')),
          serverName: options.controllerServerName,
        }),
        credentialsOptions,
      );
      handles.push(controllerCredentials);
      scheduler.start();
      logger.info(
        {
          event: 'renewal.scheduled',
          spiffeId: identity.spiffeId,
          notAfter: identity.notAfter.toISOString(),
          renewAt: scheduler.nextRenewalAt?.toISOString(),
        },
        'renewal.scheduled',
      );
    },
    stop() {
      scheduler.stop();
      persistence.stop();
      for (const handle of handles.splice(0)) handle.close();
    },
    renewNow: () => scheduler.renewNow(),
    applyBundle,
    followBundleVersion,
    onRenewed(listener) {
      renewalListeners.add(listener);
      return () => renewalListeners.delete(listener);
    },
    revoke,
    revocation,
    unusable,
  };
}
