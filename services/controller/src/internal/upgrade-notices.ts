import { controlplaneV1 } from '@sigil/proto';
import type { UpgradeRequirement } from '../domain/agent-versions';
import type { AgentKind } from '../store/store';
import type { ControllerContext } from './context';

type ControllerBody = NonNullable<controlplaneV1.ControllerMessage['body']>;

/** What one control stream has told its agents about upgrades, see {@link createUpgradeNotices}. */
export interface UpgradeNotices {
  /**
   * The UpgradeRequired to send for the agent that just reported `version` on this stream, or
   * undefined when it was already told exactly that (or has nothing to be told).
   */
  next(kind: AgentKind, agentId: string, version: string): ControllerBody | undefined;
}

const WIRE_KIND: Record<AgentKind, controlplaneV1.AgentKind> = {
  connector: controlplaneV1.AgentKind.AGENT_KIND_CONNECTOR,
  tunneler: controlplaneV1.AgentKind.AGENT_KIND_TUNNELER,
};

const stateOf = (requirement: UpgradeRequirement | undefined): string =>
  requirement === undefined
    ? ''
    : `${requirement.minimum}|${requirement.deadline ?? 0}|${requirement.version}`;

/**
 * The UpgradeRequired commands of one connector control stream: for the connector and each
 * tunneler whose heartbeat it forwards, one command when the agent is first seen below its kind's
 * minimum, another when the minimum, deadline or reported version changes, and one with an empty
 * `minimum_version` when the requirement no longer holds. Nothing per heartbeat: a new stream
 * (reconnect, restart, another replica) starts afresh, so every agent is told again there.
 * Holds one short string per agent seen on the stream (bounded by the enrolled tunnelers).
 *
 * @example
 * ```ts
 * const upgrades = createUpgradeNotices(ctx);
 * const body = upgrades.next('connector', 'edge-1', heartbeat.version);
 * if (body) command(session, body);
 * ```
 */
export function createUpgradeNotices(ctx: ControllerContext): UpgradeNotices {
  const told = new Map<string, string>();
  return {
    next(kind, agentId, version) {
      const requirement = ctx.agentVersions.requirement(kind, version);
      const key = `${kind}/${agentId}`;
      const state = stateOf(requirement);
      if ((told.get(key) ?? '') === state) return undefined;
      if (state === '') told.delete(key);
      else told.set(key, state);
      ctx.logger.info(
        {
          event: requirement ? 'controlplane.upgrade_required' : 'controlplane.upgrade_cleared',
          kind,
          agentId,
          version,
          minimumVersion: requirement?.minimum ?? null,
        },
        requirement ? 'controlplane.upgrade_required' : 'controlplane.upgrade_cleared',
      );
      return {
        $case: 'upgradeRequired',
        upgradeRequired: {
          minimumVersion: requirement?.minimum ?? '',
          kind: WIRE_KIND[kind],
          deadline: requirement?.deadline ?? 0,
          agentId,
          currentVersion: version,
        },
      };
    },
  };
}
