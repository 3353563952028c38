import { join, resolve } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type pino from 'pino';
import type { Registry } from 'prom-client';
import { SigilError } from '@sigil/errors';
import { validateCertExpiration } from '@sigil/cert-expiry';
import {
  createRotatingIdentity,
  createServerCredentials,
  loadServerTlsConfig,
} from '@sigil/grpc-tls';
import type { ServerCredentialsHandle } from '@sigil/grpc-tls';
import { parseTrustDomain } from '@sigil/pki';
import type { CertificateAuthority } from '@sigil/pki';
import { createLogger, formatListenAddress, parseListenAddress } from '@sigil/runtime';
import type { HttpEndpoint, ListenAddress } from '@sigil/runtime';
import { createAdminEndpoints, readJsonObject } from './admin-api';
import { createBearerAuthenticator } from './admin-server/bearer';
import { createAdminAuthenticator } from './admin-server/authenticator';
import { sessionRoutes } from './admin-server/session-routes';
import { userRoutes } from './admin-server/user-routes';
import { ensureFirstAdminUser } from './admin-auth/first-admin';
import { createAdminSessions } from './admin-auth/sessions';
import { CONTROLLER_DEFAULTS } from './config';
import type { ControllerConfig } from './config';
import { createAdminOperations } from './domain/admin-operations';
import type { AdminOperations } from './domain/admin-operations';
import { RENEWAL_OVERLAP_MS } from './domain/agent-policy';
import { createRevocationSet, syncRevocations } from './domain/revocations';
import { createAgentVersionPinSet, refreshAgentVersionPins } from './domain/agent-version-pins';
import type { RevokeAgentResult } from './domain/revocations';
import type { CreatedEnrollmentToken, EnrollmentTokenRequest, PendingToken } from './domain/tokens';
import { ADMIN_LIMIT_DEFAULTS, createAdminGuard } from './internal/admin-guard';
import { startAdminListener } from './internal/admin-listener';
import { createAdminTokenSource } from './internal/admin-token';
import { decideAdminTransport, readAdminTlsFiles, watchAdminTlsFiles } from './internal/admin-tls';
import type { AdminTokenSource } from './internal/admin-token';
import { createAuditLog } from './internal/audit';
import { createGrpcGuard } from './internal/connection-limits';
import type { GrpcGuard } from './internal/connection-limits';
import { GRPC_LIMIT_DEFAULTS, grpcServerOptions } from './internal/grpc-limits';
import { createRateLimiter } from './internal/rate-limiter';
import { DATA_FILES, loadOrCreateAuthorities } from './internal/authorities';
import type { ControllerContext } from './internal/context';
import { createControlPlane } from './internal/control-plane';
import { createPolicyDistributor } from './internal/policy-distributor';
import { createPolicyOperations } from './domain/resource-operations';
import { loadOrCreateJwtAuthority } from './internal/jwt-authority';
import { jwtAuthorityRoutes } from './internal/admin-jwt-authority-routes';
import { createWorkloadRegistry } from './internal/workload-registry';
import type { ControlPlane } from './internal/control-plane';
import { createGrpcServer, shutdownServer } from './internal/grpc-server';
import { createControllerMetrics } from './internal/metrics';
import { createStoreHealth } from './internal/store-health';
import type { StoreHealth } from './internal/store-health';
import { createServingCertificate } from './internal/serving-certificate';
import type { ServingCertificate } from './internal/serving-certificate';
import { AgentRegistry } from './registry';
import type { ConnectorView, TunnelerView } from './registry';
import { openControllerStore } from './store/open-store';
import { createCaRoutes } from './ca-admin-routes';
import { startCaAutoRotation } from './ca-auto-rotation';
import { createCaOperations } from './domain/ca-operations';
import type { CaOperations } from './domain/ca-operations';
import { loadCaKeySealer } from './internal/ca-key-sealing';
import { lockDataDir } from './internal/data-dir-lock';
import { AGENT_COMMAND_POLL_MS, createAgentCommandRelay } from './internal/agent-command-relay';
import { startReplicaCoordination } from './internal/replica-coordination';
import type { ReplicaCoordination } from './internal/replica-coordination';
import type { DataDirLock } from './internal/data-dir-lock';
import { loadTrustRuntime } from './internal/trust-state';
import type { TrustRuntime } from './internal/trust-state';
import type { AgentKind, ControllerStore, RevocationRecord } from './store/store';

/** Options of {@link createController}: the {@link ControllerConfig} fields (all but `dataDir` optional) plus in-process hooks. */
export interface ControllerOptions extends Partial<Omit<ControllerConfig, 'dataDir'>> {
  dataDir: string;
  /** Structured logger; default a pino logger named `sigil-controller` at `logLevel`. */
  logger?: pino.Logger;
  /** The controller's notion of now (token expiry, certificate issuance, status); tests inject one. */
  clock?: () => Date;
  /** With `databaseUrl`: use this PostgreSQL schema (created if missing). Tests use one per run. */
  postgresSchema?: string;
  /**
   * A store to use instead of opening one from `databaseUrl`/`dataDir`. The controller migrates
   * it; the caller owns it and closes it after `stop()`.
   */
  store?: ControllerStore;
  /** Renewals allowed per agent identity and minute (also the burst). Default 10. */
  renewalsPerMinute?: number;
}

/** Options of {@link Controller.stop}. */
export interface ControllerStopOptions {
  /** How long in-flight RPCs may take after streams are drained before the server is forced down. Default 5000 ms. */
  graceMs?: number;
}

/** A running (or startable) controller. Properties marked "after start" throw `ERR_CONTROLLER_NOT_STARTED` before. */
export interface Controller {
  /** Loads or creates the CAs, opens and migrates the store, binds gRPC and the admin HTTP server. */
  start(): Promise<void>;
  /** Sends Drain on every control stream, stops both servers, flushes the registry, closes the store. */
  stop(options?: ControllerStopOptions): Promise<void>;
  /** After start: `host:port` of the gRPC server (the bound port when configured with 0). */
  readonly grpcAddress: string;
  /** After start: `http://host:port` of the admin API. */
  readonly adminUrl: string;
  /** After start: the admin token when it was configured or generated by this start; undefined otherwise (only its hash is kept). */
  readonly adminToken: string | undefined;
  /** After start: true when this start generated the admin token (first start without SIGIL_ADMIN_TOKEN). */
  readonly adminTokenGenerated: boolean;
  /** After start: the password of user `admin` when this start created that user (first start); undefined otherwise. */
  readonly adminPassword: string | undefined;
  /** After start: true when this start created user `admin` with a generated password (no SIGIL_ADMIN_PASSWORD). */
  readonly adminPasswordGenerated: boolean;
  readonly trustDomain: string;
  readonly dataDir: string;
  /** `$DATA_DIR/bootstrap-ca.crt`: what agents pin as CONTROLLER_CA_PATH. */
  readonly bootstrapCaPath: string;
  /** After start: the bootstrap CA certificate, PEM. */
  readonly bootstrapCaPem: string;
  /** After start: the runtime trust bundle (roots agents verify each other with), PEM. */
  readonly trustBundlePem: string;
  /** After start: the store. */
  readonly store: ControllerStore;
  /** The Prometheus registry served at /metrics. */
  readonly metrics: Registry;
  /** After start: creates a one-time enrollment token, exactly as `POST /api/admin/tokens` does. */
  createEnrollmentToken(request: EnrollmentTokenRequest): Promise<CreatedEnrollmentToken>;
  /** After start: the pending enrollment tokens (`GET /api/admin/tokens`). */
  listEnrollmentTokens(): Promise<PendingToken[]>;
  /** After start: cancels a pending token by its token id (`DELETE /api/admin/tokens/{token_id}`). */
  cancelEnrollmentToken(tokenId: string): Promise<PendingToken>;
  /** After start: the connectors with their ONLINE/OFFLINE/REVOKED status. */
  listConnectors(): ConnectorView[];
  /** After start: the tunnelers with their ONLINE/OFFLINE/REVOKED status. */
  listTunnelers(): TunnelerView[];
  /** After start: revokes an agent (`POST /api/admin/{connectors|tunnelers}/{id}/revoke`). */
  revokeAgent(kind: AgentKind, id: string, reason: string): Promise<RevokeAgentResult>;
  /** After start: every revocation, newest first (`GET /api/admin/revocations`). */
  listRevocations(): Promise<RevocationRecord[]>;
  /** After start: sends RenewNow to a connected connector (through the replica holding its stream, on PostgreSQL); resolves to the command id, rejects `ERR_AGENT_NOT_CONNECTED` when no replica holds a stream. */
  requestRenewal(connectorId: string): Promise<string>;
  /** After start: issues a new TLS certificate for the controller now (it also renews itself at two thirds of its lifetime). */
  renewServingCertificate(): Promise<void>;
  /** After start: writes buffered heartbeat timestamps to the store. */
  flushRegistry(): Promise<void>;
  /** After start: the runtime CA rotation steps (`/api/admin/ca`). */
  readonly ca: CaOperations;
}

const REGISTRY_FLUSH_MS = 2000;
const REVOCATION_SYNC_MS = 2000;
/** How often expired console sessions are deleted from the store. */
const SESSION_SWEEP_MS = 10 * 60_000;
const DEFAULT_RENEWALS_PER_MINUTE = 10;
const ENROLL_PATH = '/sigil.controlplane.v1.EnrollmentService/Enroll';

interface Running {
  adminToken: string | undefined;
  adminTokenGenerated: boolean;
  adminPassword: string | undefined;
  adminPasswordGenerated: boolean;
  adminTokens: AdminTokenSource;
  guard: GrpcGuard;
  store: ControllerStore;
  storeHealth: StoreHealth;
  ownsStore: boolean;
  bootstrap: CertificateAuthority;
  trust: TrustRuntime;
  ca: CaOperations;
  ctx: ControllerContext;
  admin: AdminOperations;
  controlPlane: ControlPlane;
  serving: ServingCertificate;
  tls: ServerCredentialsHandle;
  server: grpc.Server;
  http: HttpEndpoint;
  stopAdminTlsWatch: () => void;
  grpcAddress: string;
  timers: NodeJS.Timeout[];
  dataDirLock: DataDirLock | undefined;
  coordination: ReplicaCoordination;
}

/**
 * Creates the Sigil controller: enrollment (one-time tokens, CSR signing by the runtime CA), the
 * mTLS control plane (connector streams bound to their certificates, renewal), revocation, the
 * agent registry, the admin HTTP API, and the durable store (SQLite under `dataDir`, PostgreSQL
 * with `databaseUrl`, or a `store` passed in). Nothing happens until `start()`.
 * `sigil-controller` is a thin shell around it. Decisions live in `domain/`; this is the
 * composition root that wires them to the store and the two transports.
 *
 * @example
 * ```ts
 * const controller = createController({ dataDir: '/var/lib/sigil', trustDomain: 'example.org', controllerListenAddress: '127.0.0.1:0', adminListenAddress: '127.0.0.1:0' });
 * await controller.start();
 * const { token } = await controller.createEnrollmentToken({ kind: 'connector', id: 'connector-01' });
 * // ... agents enroll against controller.grpcAddress, pinning controller.bootstrapCaPath
 * await controller.stop();
 * ```
 */
export function createController(options: ControllerOptions): Controller {
  const dataDir = resolve(options.dataDir);
  const trustDomain = parseTrustDomain(options.trustDomain ?? CONTROLLER_DEFAULTS.trustDomain);
  const grpcListen = parseListenAddress(
    options.controllerListenAddress ?? CONTROLLER_DEFAULTS.controllerListenAddress,
    'CONTROLLER_LISTEN_ADDR',
  );
  const adminListen = parseListenAddress(
    options.adminListenAddress ?? CONTROLLER_DEFAULTS.adminListenAddress,
    'ADMIN_LISTEN_ADDR',
  );
  const adminTransport = decideAdminTransport({
    mode: options.adminTls ?? CONTROLLER_DEFAULTS.adminTls,
    host: adminListen.host,
    ...(options.adminTlsCertFile === undefined ? {} : { certFile: options.adminTlsCertFile }),
    ...(options.adminTlsKeyFile === undefined ? {} : { keyFile: options.adminTlsKeyFile }),
  });
  const clock = options.clock ?? (() => new Date());
  const logger =
    options.logger ?? createLogger({ name: 'sigil-controller', level: options.logLevel ?? 'info' });
  const bootstrapCaPath = join(dataDir, DATA_FILES.bootstrapCaCertificate);
  // The `.catch` of background work: log the failure under `event`, the next round retries.
  const logFailure =
    (event: string) =>
    (err: unknown): void =>
      logger.error({ event, err }, event);

  let running: Running | undefined;
  let starting = false;
  let stopping: Promise<void> | undefined;
  const metrics = createControllerMetrics({
    connectedConnectors: () => running?.controlPlane.size() ?? 0,
    agentCounts: () =>
      running?.ctx.registry.counts() ?? {
        connector: { online: 0, offline: 0 },
        tunneler: { online: 0, offline: 0 },
      },
    certificates: (): Record<string, string> =>
      running === undefined
        ? {}
        : {
            controller: running.serving.current.chainPem,
            'bootstrap-ca': running.bootstrap.certificatePem,
            'runtime-ca': running.trust.state.current.certificatePem,
            ...(running.trust.state.next === null
              ? {}
              : { 'runtime-ca-next': running.trust.state.next.certificatePem }),
            ...(running.trust.state.previous === null
              ? {}
              : { 'runtime-ca-previous': running.trust.state.previous.certificatePem }),
          },
    now: clock,
  });

  const live = (): Running => {
    if (running === undefined)
      throw new SigilError(
        'ERR_CONTROLLER_NOT_STARTED',
        'the controller is not running: call start() first',
      );
    return running;
  };

  async function start(): Promise<void> {
    if (running !== undefined || starting)
      throw new SigilError('ERR_CONTROLLER_STARTED', 'the controller is already started');
    starting = true;
    const cleanup: Array<() => Promise<void>> = [];
    // Started once everything it refreshes exists; until then this replica does not lead.
    let coordination: ReplicaCoordination | undefined;
    const isLeader = (): boolean => coordination?.isLeader() ?? false;
    try {
      // The embedded SQLite store serves one replica: a second controller on DATA_DIR is refused.
      const dataDirLock =
        options.store === undefined && options.databaseUrl === undefined
          ? lockDataDir(dataDir)
          : undefined;
      if (dataDirLock !== undefined) cleanup.push(async () => dataDirLock.release());
      const authorities = await loadOrCreateAuthorities({
        dataDir,
        trustDomain,
        now: clock(),
        ...(options.runtimeCaTtlSeconds === undefined
          ? {}
          : { runtimeCaTtlSeconds: options.runtimeCaTtlSeconds }),
      });
      warnExpiringCas(authorities, clock(), logger);
      const opened =
        options.store ??
        (await openControllerStore({
          dataDir,
          ...(options.databaseUrl === undefined ? {} : { databaseUrl: options.databaseUrl }),
          ...(options.postgresSchema === undefined
            ? {}
            : { postgresSchema: options.postgresSchema }),
        }));
      if (options.store === undefined) cleanup.push(() => opened.close());
      const storeHealth = createStoreHealth(opened, { logger, registry: metrics.registry, clock });
      cleanup.push(async () => storeHealth.close());
      const store = storeHealth.store;
      const applied = await store.migrate();
      const adminTokens = createAdminTokenSource({
        store,
        ...(options.adminToken === undefined ? {} : { configured: options.adminToken }),
        onRefreshFailed: (err) =>
          logger.warn(
            { event: 'controller.admin_token_refresh_failed', err },
            'controller.admin_token_refresh_failed',
          ),
      });
      const adminStart = await adminTokens.start();
      cleanup.push(async () => adminTokens.close());
      const firstAdmin = await ensureFirstAdminUser(store.adminAuth, {
        password: options.adminPassword,
        now: clock(),
      });
      if (firstAdmin.created)
        // The password itself is never logged: the caller prints a generated one once.
        logger.info(
          {
            event: 'admin_user.created',
            user: firstAdmin.user,
            password: firstAdmin.generated ? 'generated' : 'SIGIL_ADMIN_PASSWORD',
          },
          'admin_user.created',
        );
      // The runtime CA generations and bundle version live in the store, shared by replicas.
      const trust = await loadTrustRuntime({
        store,
        sealer: loadCaKeySealer(dataDir),
        seed: authorities.runtime,
        trustDomain,
        clock,
        ...(options.runtimeCaTtlSeconds === undefined
          ? {}
          : { runtimeCaTtlSeconds: options.runtimeCaTtlSeconds }),
      });
      const revocations = createRevocationSet();
      revocations.replace(await store.activeRevocations());
      const agentVersions = createAgentVersionPinSet(
        options.agentUpgradeGraceSeconds === undefined
          ? undefined
          : options.agentUpgradeGraceSeconds * 1000,
      );
      const offlineAfterMs =
        (options.agentOfflineAfterSeconds ?? CONTROLLER_DEFAULTS.agentOfflineAfterSeconds) * 1000;
      const registry = new AgentRegistry(
        store,
        clock,
        offlineAfterMs,
        logger,
        (kind, id) => revocations.get(kind, id) !== undefined,
        (kind, version) => agentVersions.requirement(kind, version) !== undefined,
      );
      await registry.load();
      const ctx: ControllerContext = {
        trustDomain,
        lifetimes: {
          connector: options.connectorCertTtlSeconds ?? CONTROLLER_DEFAULTS.connectorCertTtlSeconds,
          tunneler: options.tunnelerCertTtlSeconds ?? CONTROLLER_DEFAULTS.tunnelerCertTtlSeconds,
        },
        store,
        registry,
        audit: createAuditLog(store, logger, clock, {
          retentionMs:
            (options.auditRetentionSeconds ?? CONTROLLER_DEFAULTS.auditRetentionSeconds) * 1000,
          summaryIntervalMs:
            (options.auditSummaryIntervalSeconds ??
              CONTROLLER_DEFAULTS.auditSummaryIntervalSeconds) * 1000,
          isLeader,
        }),
        metrics,
        logger,
        clock,
        runtime: () => trust.runtime(),
        reportBundleVersion: (kind, id, version) => {
          if (version > 0)
            trust
              .noteBundleVersion(kind, id, version)
              ?.catch(logFailure('controller.bundle_version_record_failed'));
        },
        revocations,
        renewalLimiter: createRateLimiter({
          perMinute: options.renewalsPerMinute ?? DEFAULT_RENEWALS_PER_MINUTE,
          clock,
        }),
        renewalOverlapMs: RENEWAL_OVERLAP_MS,
        clockSkewWarnMs:
          (options.clockSkewWarnSeconds ?? CONTROLLER_DEFAULTS.clockSkewWarnSeconds) * 1000,
        certBackdateSeconds: options.certBackdateSeconds ?? CONTROLLER_DEFAULTS.certBackdateSeconds,
        agentVersions,
      };
      cleanup.push(() => ctx.audit.close());
      await refreshAgentVersionPins(ctx);
      // Its keys live in the store, sealed like the CA keys, shared by replicas.
      const jwtAuthority = await loadOrCreateJwtAuthority({
        dataDir,
        store,
        sealer: loadCaKeySealer(dataDir),
      });
      const workloads = createWorkloadRegistry(ctx, jwtAuthority);
      const policyDistributor = createPolicyDistributor(ctx, {
        push: (connectorId, policy) => controlPlane.pushConnectorPolicy(connectorId, policy),
      });
      const controlPlane = createControlPlane(ctx, {
        policy: policyDistributor.current,
        workloads,
        onTunnelerEnrolled: () =>
          void policyDistributor.refresh().catch(logFailure('controller.policy_sync_failed')),
      });
      await policyDistributor.refresh();
      await workloads.refresh();
      const policy = createPolicyOperations(ctx, () => policyDistributor.refresh());
      // Replicas (PostgreSQL only: SQLite serves one) relay commands to the one holding the stream.
      const relay =
        store.dialect === 'postgres'
          ? createAgentCommandRelay({ store, streams: controlPlane, clock })
          : undefined;
      const admin = createAdminOperations(ctx, controlPlane, {
        tokenTtlSeconds:
          options.enrollmentTokenTtlSeconds ?? CONTROLLER_DEFAULTS.enrollmentTokenTtlSeconds,
        ...(relay === undefined ? {} : { relayRenewal: (id: string) => relay.requestRenewal(id) }),
      });

      // The serving certificate (runtime CA, cross-signed by the bootstrap CA) and the roots client certificates are verified
      // against (the runtime bundle), swapped together whenever the certificate renews (never
      // before `identity` below exists: the first renewal is minutes away).
      const serving = await createServingCertificate({
        bootstrap: authorities.bootstrap,
        runtime: () => trust.runtime().ca,
        trustDomain,
        names: [
          'localhost',
          '127.0.0.1',
          ...(isWildcard(grpcListen) ? [] : [grpcListen.host]),
          ...(isWildcard(adminListen) ? [] : [adminListen.host]),
          ...(options.serverNames ?? []),
        ],
        ttlSeconds:
          options.controllerCertTtlSeconds ?? CONTROLLER_DEFAULTS.controllerCertTtlSeconds,
        clock,
        logger,
        onIssued: (issued) => {
          identity.update({
            certificateChainPem: issued.chainPem,
            privateKeyPem: issued.privateKeyPem!,
            caPem: trust.runtime().bundlePem,
          });
          if (adminTransport.tls && adminTransport.certificate === 'controller')
            running?.http.updateTls({
              certificateChainPem: issued.chainPem,
              privateKeyPem: issued.privateKeyPem!,
            });
        },
      });
      cleanup.push(async () => serving.close());
      const identity = createRotatingIdentity(
        {
          certificateChainPem: serving.current.chainPem,
          privateKeyPem: serving.current.privateKeyPem!,
          caPem: trust.runtime().bundlePem,
        },
        { requireIssuedByBundle: false, now: clock },
      );
      // Request a client certificate, verify it when presented: Enroll is called without one.
      const tls = await createServerCredentials(
        loadServerTlsConfig({ identity, clientCertificate: 'request', env: {} }),
        { logger, registry: metrics.registry },
      );
      cleanup.push(async () => tls.close());
      // A new bundle (a step here, or one another replica stored) reaches new handshakes at once
      // and every open control stream; nothing is torn down.
      // A new current runtime CA (activation) re-issues the serving certificate under it.
      let servedGeneration = trust.runtime().generation;
      trust.onChange(() => {
        identity.update({ ...identity.current, caPem: trust.runtime().bundlePem });
        controlPlane.broadcastBundle();
        if (trust.runtime().generation === servedGeneration) return;
        servedGeneration = trust.runtime().generation;
        serving.renew().catch(logFailure('controller.certificate_renewal_failed'));
      });
      const ca = createCaOperations(ctx, trust, controlPlane, {
        graceSeconds:
          options.caActivationGraceSeconds ?? CONTROLLER_DEFAULTS.caActivationGraceSeconds,
      });
      const grpcLimits = options.grpcLimits ?? GRPC_LIMIT_DEFAULTS;
      const guard = createGrpcGuard({
        limits: grpcLimits,
        clock,
        enrollPath: ENROLL_PATH,
        onRefused: (refusal) => {
          metrics.refusals.inc({ reason: refusal.reason });
          void ctx.audit.record({
            action: 'grpc.connection_refused',
            outcome: 'refused',
            actor: refusal.address,
            subject: refusal.reason,
            details: { reason: refusal.reason },
          });
        },
      });
      const server = createGrpcServer(ctx, controlPlane, {
        options: grpcServerOptions(grpcLimits),
        interceptors: [guard.interceptor],
        presentedCertificate: (peer) => guard.presentedCertificate(peer),
      });
      const grpcPort = await guard.listen(server, tls.credentials, grpcListen);
      cleanup.push(async () => {
        server.forceShutdown();
        await guard.close();
      });
      const adminLimits = options.adminLimits ?? ADMIN_LIMIT_DEFAULTS;

      const adminTlsFiles =
        adminTransport.tls && adminTransport.certificate === 'files'
          ? { certFile: options.adminTlsCertFile!, keyFile: options.adminTlsKeyFile! }
          : undefined;
      const adminGuard = createAdminGuard({
        limits: adminLimits,
        clock,
        onThrottled: (address) => {
          metrics.refusals.inc({ reason: 'admin_unauthorized' });
          void ctx.audit.record({
            action: 'admin.unauthorized',
            outcome: 'refused',
            actor: address,
            subject: 'throttled',
            details: { reason: 'rate_limited' },
          });
        },
      });
      const adminTokenHash = () => adminTokens.hash();
      const sessions = createAdminSessions({
        store: store.adminAuth,
        clock,
        idleTimeoutMs:
          (options.adminSessionIdleTimeoutSeconds ??
            CONTROLLER_DEFAULTS.adminSessionIdleTimeoutSeconds) * 1000,
        maxAgeMs:
          (options.adminSessionMaxAgeSeconds ?? CONTROLLER_DEFAULTS.adminSessionMaxAgeSeconds) *
          1000,
      });
      // One listener: the fastify admin server (admin-server/) with the endpoints of
      // admin-api.ts behind sessions, API tokens and the bearer check, the probes of @sigil/runtime.
      const http = await startAdminListener({
        listen: adminListen,
        ...(!adminTransport.tls
          ? {}
          : {
              tls:
                adminTlsFiles === undefined
                  ? {
                      certificateChainPem: serving.current.chainPem,
                      privateKeyPem: serving.current.privateKeyPem!,
                    }
                  : readAdminTlsFiles(adminTlsFiles.certFile, adminTlsFiles.keyFile),
            }),
        limits: adminLimits,
        registry: metrics.registry,
        isReady: () => running !== undefined && stopping === undefined && storeHealth.status().up,
        readiness: () => ({ store: storeHealth.status() }),
        logger,
        authenticate: createAdminAuthenticator({
          ctx,
          guard: adminGuard,
          sessions,
          bearer: createBearerAuthenticator({ ctx, guard: adminGuard, adminTokenHash }),
        }),
        plugins: [
          sessionRoutes({
            ctx,
            guard: adminGuard,
            sessions,
            userFailures: createRateLimiter({
              perMinute:
                options.adminSignInFailuresPerMinute ??
                CONTROLLER_DEFAULTS.adminSignInFailuresPerMinute,
              clock,
            }),
          }),
          userRoutes({ ctx, sessions }),
        ],
        endpoints: createAdminEndpoints({
          ctx,
          admin,
          bootstrapCaPem: () => authorities.bootstrap.certificatePem,
          grpcListenAddress: () => formatListenAddress({ host: grpcListen.host, port: grpcPort }),
          policy,
          workloads,
          routes: [
            ...createCaRoutes(ca, {
              ...(options.caAutoRotate === true && {
                autoRotateAtFraction:
                  options.caRotateAtFraction ?? CONTROLLER_DEFAULTS.caRotateAtFraction,
              }),
            }),
            ...jwtAuthorityRoutes(ctx, jwtAuthority, readJsonObject),
          ],
        }),
      });
      cleanup.push(() => http.close());
      // The operator's files are re-read when they change; the controller's own certificate
      // reaches the admin listener through the serving certificate's onIssued.
      const stopAdminTlsWatch =
        adminTlsFiles === undefined
          ? () => undefined
          : watchAdminTlsFiles({ ...adminTlsFiles, logger, onChange: (t) => http.updateTls(t) });
      cleanup.push(async () => stopAdminTlsWatch());
      if (!adminTransport.tls && adminTransport.exposed)
        logger.warn(
          {
            event: 'controller.admin_api_exposed',
            address: formatListenAddress(adminListen),
            risk: 'ADMIN_TLS=off: the admin API is plain HTTP off loopback; the bearer token and session cookies cross the network unencrypted unless a TLS proxy fronts it',
          },
          'controller.admin_api_exposed',
        );
      const timers = [
        setInterval(() => void registry.flush(), REGISTRY_FLUSH_MS),
        setInterval(() => {
          // Replicas share the sessions table: the leader sweeps it.
          if (isLeader()) sessions.sweep().catch(logFailure('controller.session_sweep_failed'));
        }, SESSION_SWEEP_MS),
        setInterval(() => {
          syncRevocations(ctx, controlPlane).catch(logFailure('controller.revocation_sync_failed'));
        }, REVOCATION_SYNC_MS),
        setInterval(() => {
          refreshAgentVersionPins(ctx).catch(
            logFailure('controller.agent_versions_refresh_failed'),
          );
          policyDistributor.refresh().catch(logFailure('controller.policy_sync_failed'));
          workloads.refresh().catch(logFailure('controller.entries_sync_failed'));
          trust.refresh().catch(logFailure('controller.trust_sync_failed'));
          jwtAuthority.refresh().catch(logFailure('controller.jwt_authority_sync_failed'));
        }, REVOCATION_SYNC_MS),
      ];
      // CA_AUTO_ROTATE: prepare, activate and retire on the schedule domain/trust-lifecycle.ts decides.
      if (options.caAutoRotate === true)
        timers.push(
          startCaAutoRotation({
            ca,
            trust,
            rotateAtFraction: options.caRotateAtFraction ?? CONTROLLER_DEFAULTS.caRotateAtFraction,
            intervalMs:
              (options.caAutoRotateIntervalSeconds ??
                CONTROLLER_DEFAULTS.caAutoRotateIntervalSeconds) * 1000,
            logger,
            registry: metrics.registry,
            isLeader,
          }).timer,
        );
      if (relay !== undefined)
        timers.push(
          setInterval(() => {
            relay.deliverQueued().catch(logFailure('controller.agent_commands_failed'));
          }, AGENT_COMMAND_POLL_MS),
        );
      // Replicas on PostgreSQL: what another replica changed is re-read at its commit, and one of
      // them leads the periodic work (SQLite: one replica, always leader).
      coordination = await startReplicaCoordination({
        store: opened,
        logger,
        registry: metrics.registry,
        replicaId: relay?.replicaId ?? 'sqlite',
        refresh: {
          commands: async () => relay?.changed(),
          revocations: () => syncRevocations(ctx, controlPlane),
          trust: () => trust.refresh(),
          jwt: () => jwtAuthority.refresh(),
          policy: () => policyDistributor.refresh(),
          entries: () => workloads.refresh(),
          settings: () => refreshAgentVersionPins(ctx),
          agents: async () => {
            for (const id of await registry.reload()) controlPlane.pushApprovedTunnelers(id);
          },
        },
      });
      const coordinated = coordination;
      cleanup.push(() => coordinated.close());
      for (const timer of timers) timer.unref();
      running = {
        store,
        storeHealth,
        ownsStore: options.store === undefined,
        bootstrap: authorities.bootstrap,
        trust,
        ca,
        ctx,
        admin,
        controlPlane,
        serving,
        tls,
        server,
        http,
        stopAdminTlsWatch,
        grpcAddress: formatListenAddress({ host: grpcListen.host, port: grpcPort }),
        adminToken: adminStart.token,
        adminTokenGenerated: adminStart.generated,
        adminPassword: firstAdmin.created ? firstAdmin.password : undefined,
        adminPasswordGenerated: firstAdmin.created && firstAdmin.generated,
        adminTokens,
        guard,
        timers,
        dataDirLock,
        coordination,
      };
      logger.info(
        {
          event: 'controller.started',
          grpcAddress: running.grpcAddress,
          adminUrl: http.url,
          trustDomain,
          dataDir,
          store: store.dialect,
          storeLocation: store.location,
          migrationsApplied: applied,
          casCreated: authorities.created,
          bootstrapCaPath,
        },
        'controller.started',
      );
    } catch (err) {
      for (const undo of cleanup.reverse()) await undo().catch(() => undefined);
      throw err;
    } finally {
      starting = false;
    }
  }

  async function stop(stopOptions: ControllerStopOptions = {}): Promise<void> {
    if (stopping !== undefined) return stopping;
    const state = running;
    if (state === undefined) return;
    stopping = (async () => {
      logger.info(
        { event: 'controller.stopping', streams: state.controlPlane.size() },
        'controller.stopping',
      );
      state.serving.close();
      for (const timer of state.timers) clearInterval(timer);
      await state.coordination.close();
      state.controlPlane.drain('controller shutting down', 1000);
      await shutdownServer(state.server, stopOptions.graceMs ?? 5000);
      await state.guard.close();
      state.tls.close();
      state.stopAdminTlsWatch();
      await state.http.close();
      state.adminTokens.close();
      await state.ctx.audit.close();
      await state.ctx.registry.flush();
      state.storeHealth.close();
      if (state.ownsStore) await state.store.close();
      state.dataDirLock?.release();
      running = undefined;
      logger.info({ event: 'controller.stopped' }, 'controller.stopped');
    })();
    try {
      await stopping;
    } finally {
      stopping = undefined;
    }
  }

  return {
    start,
    stop,
    get grpcAddress() {
      return live().grpcAddress;
    },
    get adminUrl() {
      return live().http.url;
    },
    get adminToken() {
      return live().adminToken;
    },
    get adminTokenGenerated() {
      return live().adminTokenGenerated;
    },
    get adminPassword() {
      return live().adminPassword;
    },
    get adminPasswordGenerated() {
      return live().adminPasswordGenerated;
    },
    trustDomain,
    dataDir,
    bootstrapCaPath,
    get bootstrapCaPem() {
      return live().bootstrap.certificatePem;
    },
    get trustBundlePem() {
      return live().trust.runtime().bundlePem;
    },
    get store() {
      return live().store;
    },
    metrics: metrics.registry,
    createEnrollmentToken: (request) => live().admin.createToken(request),
    listEnrollmentTokens: () => live().admin.listTokens(),
    cancelEnrollmentToken: (tokenId) => live().admin.cancelToken(tokenId),
    listConnectors: () => live().admin.listConnectors(),
    listTunnelers: () => live().admin.listTunnelers(),
    revokeAgent: (kind, id, reason) => live().admin.revoke(kind, id, reason),
    listRevocations: () => live().admin.listRevocations(),
    requestRenewal: (connectorId) => live().admin.requestRenewal(connectorId),
    renewServingCertificate: () => live().serving.renew(),
    flushRegistry: () => live().ctx.registry.flush(),
    get ca() {
      return live().ca;
    },
  };
}

function warnExpiringCas(
  authorities: { bootstrap: CertificateAuthority; runtime: CertificateAuthority },
  now: Date,
  logger: pino.Logger,
): void {
  for (const [name, ca] of [
    ['bootstrap', authorities.bootstrap],
    ['runtime', authorities.runtime],
  ] as const) {
    const report = validateCertExpiration(ca.certificatePem, { now, warnDays: 90 });
    if (report.status !== 'ok')
      logger.warn(
        {
          event: 'controller.ca_expiring',
          ca: name,
          status: report.status,
          notAfter: report.notAfter.toISOString(),
        },
        'controller.ca_expiring',
      );
  }
}

function isWildcard(address: ListenAddress): boolean {
  return address.host === '0.0.0.0' || address.host === '::';
}
