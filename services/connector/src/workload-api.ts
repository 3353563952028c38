import type { AgentStartContext } from '@sigil/agent';
import type { controlplaneV1 } from '@sigil/proto';
import {
  createWorkloadApiServer,
  createWorkloadIdentities,
  type WorkloadApiServer,
  type WorkloadIdentities,
} from '@sigil/workload-api';

/** The connector's SPIFFE Workload API, fed by the control stream. */
export interface ConnectorWorkloadApi {
  readonly server: WorkloadApiServer;
  readonly identities: WorkloadIdentities;
  /** WorkloadEntries from the controller: the entries this connector is the parent of. */
  setEntries(message: controlplaneV1.WorkloadEntries): void;
  /** JwtBundle from the controller. */
  setJwtBundle(message: controlplaneV1.JwtBundle): void;
  /** The runtime trust bundle changed (BundleUpdate, renewal): streams push it. */
  bundleChanged(): void;
  stop(): Promise<void>;
}

/**
 * Serves the SPIFFE Workload API on SIGIL_WORKLOAD_API_SOCKET when it is set (undefined
 * otherwise). Workload keys are generated here; the controller signs their CSRs
 * (SignWorkloadSvid) and mints JWT-SVIDs (MintJwtSvid) only for entries naming this connector as
 * parent. Entries and the JWT bundle arrive on the control stream; X.509 bundle changes come
 * through the session's bundle path, so a CA rotation reaches connected workloads.
 *
 * @example
 * ```ts
 * const workloadApi = await startConnectorWorkloadApi(context);
 * workloadApi?.setEntries(message.workloadEntries);
 * ```
 */
export async function startConnectorWorkloadApi(
  context: AgentStartContext,
): Promise<ConnectorWorkloadApi | undefined> {
  const { config, runtime, logger } = context;
  const { session } = runtime;
  if (config.workloadApiSocket === undefined) return undefined;
  const identities = createWorkloadIdentities({
    trustDomain: session.identity.trustDomain,
    trustBundlePem: () => session.identity.bundlePem,
    agentCertificatePem: () => session.identity.certificateChainPem,
    signCsr: (entryId, csrPem) => session.dialer.signWorkloadSvid({ entryId, csrPem }),
    mintJwtSvid: (entryId, audience) => session.dialer.mintJwtSvid({ entryId, audience }),
    onIssued: (svid) =>
      logger.info(
        {
          event: 'workload_svid.issued',
          entryId: svid.entryId,
          spiffeId: svid.spiffeId,
          notAfter: svid.notAfter.toISOString(),
        },
        'workload_svid.issued',
      ),
    onError: (entryId, err, retryInMs) =>
      logger.warn(
        { event: 'workload_svid.failed', entryId, reason: (err as Error).message, retryInMs },
        'workload_svid.failed',
      ),
  });
  let server: WorkloadApiServer;
  try {
    server = await createWorkloadApiServer({
      socketPath: config.workloadApiSocket,
      identities,
      logger,
    });
  } catch (err) {
    identities.close();
    // The default path was not asked for: a connector run by a user who may not create
    // /run/sigil, or a second connector on one host, keeps working without the Workload API.
    if (config.workloadApiSocketDefaulted !== true) throw err;
    logger.warn(
      {
        event: 'workload_api.not_served',
        socket: config.workloadApiSocket,
        reason: (err as Error).message,
        fix: 'set SIGIL_WORKLOAD_API_SOCKET to a path this connector may create, or to off',
      },
      'workload_api.not_served',
    );
    return undefined;
  }
  return {
    server,
    identities,
    setEntries(message) {
      logger.info(
        { event: 'command.workload_entries', count: message.entries.length },
        'command.workload_entries',
      );
      identities.setEntries(
        message.entries.map((e) => ({
          id: e.id,
          spiffeId: e.spiffeId,
          selectors: e.selectors,
          x509TtlSeconds: e.x509TtlSeconds,
          jwtTtlSeconds: e.jwtTtlSeconds,
        })),
      );
    },
    setJwtBundle: (message) => identities.setJwtBundle(message.jwksJson),
    bundleChanged: () => identities.bundleChanged(),
    async stop() {
      identities.close();
      await server.close();
    },
  };
}
