import type { controlplaneV1 } from '@sigil/proto';
import { connectorPolicy } from '../domain/resources';
import type { ControllerContext } from './context';

/** Keeps every connector's data-plane policy computed and pushes it when it changes. */
export interface PolicyDistributor {
  /** Re-reads resources, grants and tunneler labels from the store; pushes what changed. */
  refresh(): Promise<void>;
  /** The connector's current policy (empty before the first refresh). */
  current(connectorId: string): controlplaneV1.ConnectorPolicy;
}

/** Options of {@link createPolicyDistributor}. */
export interface PolicyDistributorOptions {
  /** Sends the policy down the connector's control stream (false when it has none). */
  push: (connectorId: string, policy: controlplaneV1.ConnectorPolicy) => boolean;
}

/**
 * The policies connectors hold, recomputed from the store on every local change and on the
 * replication timer (so a change made through another controller sharing the database, or a
 * tunneler enrolled with a label, reaches its connector within one sync interval).
 *
 * @example
 * ```ts
 * const distributor = createPolicyDistributor(ctx, { push: (id, policy) => controlPlane.pushConnectorPolicy(id, policy) });
 * await distributor.refresh();
 * ```
 */
export function createPolicyDistributor(
  ctx: ControllerContext,
  options: PolicyDistributorOptions,
): PolicyDistributor {
  let policies = new Map<string, controlplaneV1.ConnectorPolicy>();
  let sent = new Map<string, string>();
  let running: Promise<void> | undefined;
  let again = false;

  const load = async (): Promise<void> => {
    const { policy } = ctx.store;
    const [resources, grants, tunnelers] = await Promise.all([
      policy.listResources(),
      policy.listGrants(),
      policy.listTunnelerLabels(),
    ]);
    const connectors = new Set([
      ...resources.map((r) => r.connectorId),
      ...sent.keys(),
      ...policies.keys(),
    ]);
    const next = new Map<string, controlplaneV1.ConnectorPolicy>();
    for (const id of connectors) next.set(id, connectorPolicy(id, resources, grants, tunnelers));
    policies = next;
    const nextSent = new Map<string, string>();
    for (const [id, p] of next) {
      const text = JSON.stringify(p);
      if (sent.get(id) === text) nextSent.set(id, text);
      else if (options.push(id, p)) nextSent.set(id, text);
    }
    sent = nextSent;
  };

  const refresh = async (): Promise<void> => {
    // One load at a time; a change during a load gets one more, so the last write always lands.
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await load();
        } while (again);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  return {
    refresh,
    current: (connectorId) => policies.get(connectorId) ?? { resources: [] },
  };
}
