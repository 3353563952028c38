import type { controlplaneV1 } from '@sigil/proto';
import type pino from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { AgentKind } from './identity';

/**
 * Options of {@link createUpgradeNotice}.
 *
 * @example
 * ```ts
 * const options: UpgradeNoticeOptions = { kind: 'connector', version, logger, registry: session.metrics.registry };
 * ```
 */
export interface UpgradeNoticeOptions {
  kind: AgentKind;
  /** The version this agent runs (what its heartbeats report). */
  version: string;
  logger: pino.Logger;
  /** Where `sigil_agent_upgrade_required` is registered. */
  registry: Registry;
}

/**
 * What the agent knows of the controller's minimum version for its kind.
 *
 * @example
 * ```ts
 * const upgrade: UpgradeNotice = createUpgradeNotice(options);
 * upgrade.apply(message.upgradeRequired);
 * console.log(upgrade.minimumVersion); // '1.4.0' while this version is below it
 * ```
 */
export interface UpgradeNotice {
  /** Applies an UpgradeRequired from the controller (or, for a tunneler, forwarded by its connector). */
  apply(notice: controlplaneV1.UpgradeRequired): void;
  /** The minimum this version is below, or undefined. */
  readonly minimumVersion: string | undefined;
}

/**
 * The agent's side of version pinning. An UpgradeRequired naming a minimum logs
 * `agent.upgrade_required` (warn, once per minimum and deadline) with the minimum, the running
 * version and the date from which the controller refuses renewals, and sets the gauge
 * `sigil_agent_upgrade_required{minimum_version}` to 1; one with an empty minimum (the pin was
 * lowered or cleared) logs `agent.upgrade_cleared` and clears the gauge. A notice about another
 * version than this one (sent before a restart into a new version) is ignored.
 *
 * @example
 * ```ts
 * const upgrade = createUpgradeNotice({ kind: 'tunneler', version, logger, registry: session.metrics.registry });
 * if (message.body?.$case === 'upgradeRequired') upgrade.apply(message.body.upgradeRequired);
 * ```
 */
export function createUpgradeNotice(options: UpgradeNoticeOptions): UpgradeNotice {
  const { kind, version, logger } = options;
  const gauge = new Gauge({
    name: 'sigil_agent_upgrade_required',
    help: "1 while the controller says this agent's version is below the minimum pinned for its kind (label: that minimum).",
    labelNames: ['minimum_version'],
    registers: [options.registry],
  });
  let state = '';
  let minimumVersion: string | undefined;
  return {
    get minimumVersion() {
      return minimumVersion;
    },
    apply(notice) {
      if (notice.currentVersion !== '' && notice.currentVersion !== version) return;
      const next =
        notice.minimumVersion === '' ? '' : `${notice.minimumVersion}|${notice.deadline}`;
      if (next === state) return;
      state = next;
      gauge.reset();
      if (notice.minimumVersion === '') {
        minimumVersion = undefined;
        logger.info({ event: 'agent.upgrade_cleared', kind, version }, 'agent.upgrade_cleared');
        return;
      }
      minimumVersion = notice.minimumVersion;
      gauge.set({ minimum_version: notice.minimumVersion }, 1);
      const deadline = notice.deadline > 0 ? new Date(notice.deadline).toISOString() : null;
      logger.warn(
        {
          event: 'agent.upgrade_required',
          kind,
          version,
          minimumVersion: notice.minimumVersion,
          deadline,
          message: `this ${kind} runs ${version || 'an unreported version'}, below the minimum version ${notice.minimumVersion} the controller pins for ${kind}s: upgrade it${deadline === null ? '' : `; from ${deadline} the controller refuses to renew its certificate`}`,
        },
        'agent.upgrade_required',
      );
    },
  };
}
