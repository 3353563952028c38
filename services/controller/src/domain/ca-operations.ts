// The operator's runtime CA rotation steps (GET /api/admin/ca, prepare, activate, retire): each
// decided by domain/trust-lifecycle.ts, stored through the trust runtime, audited as `admin.ca_*`.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ControllerContext } from '../internal/context';
import type { GenerationSource, TrustRuntime } from '../internal/trust-state';
import type { AgentKind } from '../store/store';
import { decideCaRotationStep } from './trust-lifecycle';
import type {
  ActivationCheck,
  AgentBundleReport,
  CaGeneration,
  CaRotationStep,
  LiveCertificate,
  TrustState,
} from './trust-lifecycle';
import { adminActorName } from '../internal/admin-actor';

/** What the CA steps ask of the live agent connections. */
export interface CaNotifier {
  /** Asks a connected connector to renew now; the command id, or undefined without a stream. */
  requestRenewal(connectorId: string): string | undefined;
  /** Asks a connected connector to tell these tunnelers of its to renew now; false without a stream. */
  requestTunnelerRenewal(connectorId: string, tunnelerIds: readonly string[]): boolean;
}

/** One generation as `GET /api/admin/ca` shows it. */
export interface GenerationStatus {
  role: 'next' | 'current' | 'previous';
  generation: CaGeneration;
  /** Live agent certificates it signed, by kind. */
  liveCertificates: Record<AgentKind, number>;
}

/** `GET /api/admin/ca`. */
export interface CaStatus {
  bundleVersion: number;
  revision: number;
  generations: GenerationStatus[];
  /** While a generation is prepared: who has acknowledged its root. */
  activation: ActivationCheck | null;
  graceSeconds: number;
}

/** What a forced retire did before retiring. */
export interface RetireResult {
  state: TrustState;
  forced: boolean;
  /** Agents told to renew first (their certificates chained to the retired root). */
  toldToRenew: string[];
  /** Agents whose certificates still chained to it when the wait ended. */
  stillStranded: string[];
}

/** The CA steps. */
export interface CaOperations {
  status(): Promise<CaStatus>;
  prepare(source: GenerationSource): Promise<TrustState>;
  activate(): Promise<{ state: TrustState; check: ActivationCheck }>;
  retire(options: { force: boolean; waitSeconds?: number }): Promise<RetireResult>;
  /**
   * One move of the automatic rotation (`CA_AUTO_ROTATE`): decides with
   * {@link decideCaRotationStep} and takes the step it names (audited with actor
   * `auto-rotation`); returns the decision.
   */
  rotateAutomatically(options: { rotateAtFraction: number }): Promise<CaRotationStep>;
}

/** Options of {@link createCaOperations}. */
export interface CaOperationsOptions {
  /** CA_ACTIVATION_GRACE in seconds: after this since prepare, activation stops waiting for acknowledgements. */
  graceSeconds: number;
  /** How long a forced retire waits for the told agents to renew. Default 30 s. */
  forcedRetireWaitSeconds?: number;
}

const agentName = (c: { kind: AgentKind; agentId: string }): string => `${c.kind} ${c.agentId}`;

/**
 * The runtime CA steps over the context, the trust runtime and the control streams.
 *
 * @example
 * ```ts
 * const ca = createCaOperations(ctx, trust, controlPlane, { graceSeconds: 3600 });
 * await ca.prepare({ kind: 'self-signed' });
 * ```
 */
export function createCaOperations(
  ctx: ControllerContext,
  trust: TrustRuntime,
  notifier: CaNotifier,
  options: CaOperationsOptions,
): CaOperations {
  const graceMs = options.graceSeconds * 1000;
  const reports = (): Promise<AgentBundleReport[]> =>
    trust.bundleReports([
      ...ctx.registry
        .listConnectors()
        .filter((c) => c.status !== 'REVOKED')
        .map((c) => ({ kind: 'connector' as const, agentId: c.id, online: c.status === 'ONLINE' })),
      ...ctx.registry
        .listTunnelers()
        .filter((t) => t.status !== 'REVOKED')
        .map((t) => ({ kind: 'tunneler' as const, agentId: t.id, online: t.status === 'ONLINE' })),
    ]);
  const live = async (): Promise<LiveCertificate[]> =>
    (await trust.liveCertificates()).filter(
      (c) => ctx.revocations.get(c.kind, c.agentId) === undefined,
    );
  // Who took a step: the admin request's user (the API), or `auto-rotation` (CA_AUTO_ROTATE).
  type Actor = string;
  const audit = (
    actor: Actor,
    action: string,
    details: Record<string, unknown>,
    outcome: 'success' | 'refused' = 'success',
  ) => ctx.audit.record({ action, outcome, actor, subject: 'runtime-ca', details });
  const audited = async <T>(
    actor: Actor,
    action: string,
    work: () => Promise<T>,
    details: (result: T) => Record<string, unknown>,
  ): Promise<T> => {
    try {
      const result = await work();
      await audit(actor, action, details(result));
      return result;
    } catch (err) {
      await audit(actor, action, { reason: (err as Error).message }, 'refused');
      throw err;
    }
  };
  const prepare = (actor: Actor, source: GenerationSource) =>
    audited(
      actor,
      'admin.ca_prepared',
      () => trust.prepare(source),
      (state) => ({
        generation: state.next!.id,
        fingerprint: state.next!.fingerprint,
        bundle_version: state.bundleVersion,
        upstream: source.kind !== 'self-signed',
      }),
    );
  const activate = async (actor: Actor) =>
    audited(
      actor,
      'admin.ca_activated',
      async () => trust.activate(await reports(), graceMs),
      ({ state, check }) => ({
        generation: state.current.id,
        fingerprint: state.current.fingerprint,
        basis: check.basis,
        pending: check.pending.map(agentName),
      }),
    );

  const operations: CaOperations = {
    async status() {
      const state = trust.state;
      const certificates = await live();
      const count = (id: number): Record<AgentKind, number> => ({
        connector: certificates.filter((c) => c.generation === id && c.kind === 'connector').length,
        tunneler: certificates.filter((c) => c.generation === id && c.kind === 'tunneler').length,
      });
      const generations: GenerationStatus[] = [];
      for (const role of ['next', 'current', 'previous'] as const) {
        const generation = state[role];
        if (generation !== null)
          generations.push({ role, generation, liveCertificates: count(generation.id) });
      }
      return {
        bundleVersion: state.bundleVersion,
        revision: state.revision,
        generations,
        activation: state.next === null ? null : trust.checkActivation(await reports(), graceMs),
        graceSeconds: options.graceSeconds,
      };
    },
    prepare: (source) => prepare(adminActorName(), source),
    activate: () => activate(adminActorName()),
    retire: (retireOptions) => retire(adminActorName(), retireOptions),
    async rotateAutomatically({ rotateAtFraction }) {
      const state = trust.state;
      const previous = state.previous;
      const decision = decideCaRotationStep(state, ctx.clock().getTime(), {
        rotateAtFraction,
        activation: state.next === null ? null : trust.checkActivation(await reports(), graceMs),
        livePrevious:
          previous === null ? 0 : (await live()).filter((c) => c.generation === previous.id).length,
      });
      if (decision.step === 'prepare') await prepare('auto-rotation', { kind: 'self-signed' });
      else if (decision.step === 'activate') await activate('auto-rotation');
      else if (decision.step === 'retire') await retire('auto-rotation', { force: false });
      return decision;
    },
  };
  return operations;

  function retire(
    actor: Actor,
    retireOptions: { force: boolean; waitSeconds?: number },
  ): Promise<RetireResult> {
    return audited(
      actor,
      'admin.ca_retired',
      async () => {
        const previous = trust.state.previous;
        let toldToRenew: string[] = [];
        let stranded: LiveCertificate[] = [];
        if (retireOptions.force && previous !== null) {
          stranded = (await live()).filter((c) => c.generation === previous.id);
          toldToRenew = stranded.map(agentName);
          tellToRenew(stranded);
          const deadline =
            Date.now() +
            (retireOptions.waitSeconds ?? options.forcedRetireWaitSeconds ?? 30) * 1000;
          while (stranded.length > 0 && Date.now() < deadline) {
            await sleep(250);
            stranded = (await live()).filter((c) => c.generation === previous.id);
          }
        }
        const state = await trust.retire(retireOptions.force);
        return {
          state,
          forced: retireOptions.force,
          toldToRenew,
          stillStranded: stranded.map(agentName),
        };
      },
      (result) => ({
        bundle_version: result.state.bundleVersion,
        forced: result.forced,
        told_to_renew: result.toldToRenew,
        still_stranded: result.stillStranded,
      }),
    );
  }

  function tellToRenew(stranded: readonly LiveCertificate[]): void {
    const byConnector = new Map<string, string[]>();
    for (const certificate of stranded) {
      if (certificate.kind === 'connector') {
        notifier.requestRenewal(certificate.agentId);
        continue;
      }
      const connectorId = ctx.registry.tunnelerConnector(certificate.agentId);
      if (connectorId === undefined) continue;
      byConnector.set(connectorId, [...(byConnector.get(connectorId) ?? []), certificate.agentId]);
    }
    for (const [connectorId, tunnelerIds] of byConnector)
      notifier.requestTunnelerRenewal(connectorId, tunnelerIds);
  }
}
