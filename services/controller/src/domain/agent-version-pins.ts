// The pinned minimum agent versions as the controller holds them (in memory, in step with the
// store's settings table, so every replica sees a pin set on another) and the operator's use case
// that changes them.
import type { ControllerContext } from '../internal/context';
import type { AgentKind } from '../store/store';
import {
  AGENT_VERSIONS_SETTING,
  NO_VERSION_PINS,
  MINIMUM_FIELDS,
  decodeVersionPins,
  encodeVersionPins,
  nextVersionPins,
  parseMinimumVersions,
  upgradeRequirement,
} from './agent-versions';
import type { AgentVersionPins } from './agent-versions';
import type { AgentVersionPinSet } from './ports';

/**
 * An empty pin set: no minimum for either kind until the store's are loaded.
 *
 * @example
 * ```ts
 * const versions = createAgentVersionPinSet(7 * 86_400_000);
 * versions.requirement('connector', '0.9.0'); // undefined until a minimum is pinned
 * ```
 */
export function createAgentVersionPinSet(graceMs?: number): AgentVersionPinSet {
  let pins = NO_VERSION_PINS;
  let generation = 0;
  return {
    current: () => pins,
    requirement: (kind, version) => upgradeRequirement(pins, kind, version, graceMs),
    graceMs,
    replace(next) {
      pins = next;
      generation += 1;
    },
    get generation() {
      return generation;
    },
  };
}

/**
 * Reads the pins from the store into `ctx.agentVersions` (at start, then every few seconds so a
 * pin set on another replica applies here). A refresh that raced a set here is dropped: the next
 * one reads it.
 *
 * @example
 * ```ts
 * setInterval(() => void refreshAgentVersionPins(ctx), 2000);
 * ```
 */
export async function refreshAgentVersionPins(ctx: ControllerContext): Promise<void> {
  const generation = ctx.agentVersions.generation;
  const pins = decodeVersionPins(await ctx.store.getSetting(AGENT_VERSIONS_SETTING));
  if (ctx.agentVersions.generation !== generation) return;
  const before = encodeVersionPins(ctx.agentVersions.current());
  if (encodeVersionPins(pins) !== before) ctx.agentVersions.replace(pins);
}

/**
 * `PUT /api/admin/agent-versions`: validates `connector_min` and `tunneler_min` (see
 * {@link parseMinimumVersions}; null or absent clears a minimum), stores the pins durably,
 * applies them here at once (agents below are told on their next heartbeat) and audits
 * `admin.agent_versions_set` with `actor` and the old and new minimums.
 *
 * @example
 * ```ts
 * await setAgentVersionPins(ctx, { connector_min: '1.4.0', tunneler_min: null }, 'admin');
 * ```
 */
export async function setAgentVersionPins(
  ctx: ControllerContext,
  body: Record<string, unknown>,
  actor: string,
): Promise<AgentVersionPins> {
  const requested = parseMinimumVersions(body);
  const previous = ctx.agentVersions.current();
  const next = nextVersionPins(previous, requested, ctx.clock().getTime());
  await ctx.store.setSetting(AGENT_VERSIONS_SETTING, encodeVersionPins(next));
  ctx.agentVersions.replace(next);
  const details: Record<string, unknown> = {};
  for (const kind of ['connector', 'tunneler'] as const) {
    details[MINIMUM_FIELDS[kind]] = next[kind]?.minimum ?? null;
    details[`previous_${MINIMUM_FIELDS[kind]}`] = previous[kind]?.minimum ?? null;
  }
  await ctx.audit.record({
    action: 'admin.agent_versions_set',
    outcome: 'success',
    actor,
    subject: 'agent-versions',
    details,
  });
  return next;
}

/** The pins with what follows from them now (`GET /api/admin/agent-versions`). */
export interface AgentVersionsReport {
  pins: AgentVersionPins;
  /** `AGENT_UPGRADE_GRACE` in ms, or undefined: renewals are never refused. */
  graceMs: number | undefined;
  /** Per kind: enrolled, non-revoked agents whose last reported version is below the minimum. */
  upgradeRequired: Record<AgentKind, number>;
}

/**
 * The pins in force here and how many agents are below them.
 *
 * @example
 * ```ts
 * const { pins, upgradeRequired } = agentVersionsReport(ctx);
 * ```
 */
export function agentVersionsReport(ctx: ControllerContext): AgentVersionsReport {
  const below = (views: Array<{ status: string; upgradeRequired: boolean }>): number =>
    views.filter((v) => v.status !== 'REVOKED' && v.upgradeRequired).length;
  return {
    pins: ctx.agentVersions.current(),
    graceMs: ctx.agentVersions.graceMs,
    upgradeRequired: {
      connector: below(ctx.registry.listConnectors()),
      tunneler: below(ctx.registry.listTunnelers()),
    },
  };
}
