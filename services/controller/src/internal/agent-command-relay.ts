// Commands for an agent whose control stream another replica holds. The replica the operator
// called queues the command in the store (`agent_commands`, migration 7); every replica polls the
// open commands, and the one holding the agent's stream claims it (one conditional UPDATE: exactly
// one replica wins) and then delivers it with the queued command id. The caller waits for the
// claim; when none comes in time it withdraws the command (the same conditional UPDATE, so a late
// claim and a withdrawal cannot both win) and answers that no replica holds a stream. Needs no
// server beyond the database.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ReplicaStore } from '../store/replica-store';

/** How often each replica looks for commands to deliver. */
export const AGENT_COMMAND_POLL_MS = 250;
/** How long the caller waits for a replica to claim a command before it answers "not connected". */
export const AGENT_COMMAND_WAIT_MS = 3000;

/** The live streams of this replica, as the relay needs them. */
export interface LocalStreams {
  hasStream(connectorId: string): boolean;
  /** Sends RenewNow with `commandId`; the id, or undefined when the stream has gone. */
  deliverRenewal(connectorId: string, commandId: string): string | undefined;
}

/** Options of {@link createAgentCommandRelay}. */
export interface AgentCommandRelayOptions {
  store: ReplicaStore;
  streams: LocalStreams;
  clock: () => Date;
  /** This replica's name in `claimed_by`; default host, pid and a random suffix. */
  replicaId?: string;
  waitMs?: number;
  pollMs?: number;
}

/** Where a relayed command went. */
export interface RelayedCommand {
  commandId: string;
  /** The replica that delivered it. */
  deliveredBy: string;
}

/** Queues commands for other replicas' streams and delivers the ones queued for streams here. */
export interface AgentCommandRelay {
  readonly replicaId: string;
  /** Queues RenewNow for the replica holding the connector's stream; undefined when none claimed it in time. */
  requestRenewal(connectorId: string): Promise<RelayedCommand | undefined>;
  /** One round: claims and delivers the open commands whose stream is here; resolves to how many. */
  deliverQueued(): Promise<number>;
  /** The commands changed (a notification): delivers at once and wakes the callers waiting for a claim. */
  changed(): Promise<number>;
}

/**
 * The relay of agent commands across replicas sharing one store.
 *
 * @example
 * ```ts
 * const relay = createAgentCommandRelay({ store, streams: controlPlane, clock });
 * setInterval(() => void relay.deliverQueued(), AGENT_COMMAND_POLL_MS);
 * const relayed = await relay.requestRenewal('connector-01'); // on any replica
 * ```
 */
export function createAgentCommandRelay(options: AgentCommandRelayOptions): AgentCommandRelay {
  const { store, streams, clock } = options;
  const replicaId = options.replicaId ?? `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  const waitMs = options.waitMs ?? AGENT_COMMAND_WAIT_MS;
  const pollMs = options.pollMs ?? AGENT_COMMAND_POLL_MS;
  let delivering: Promise<number> | undefined;
  const waiters = new Set<() => void>();
  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });

  async function deliverOnce(): Promise<number> {
    let delivered = 0;
    const now = clock().getTime();
    for (const command of await store.openAgentCommands(now)) {
      if (command.kind !== 'connector' || command.command !== 'renew_now') continue;
      if (!streams.hasStream(command.agentId)) continue;
      if (!(await store.claimAgentCommand(command.id, replicaId, clock().getTime()))) continue;
      if (streams.deliverRenewal(command.agentId, command.id) !== undefined) delivered += 1;
    }
    return delivered;
  }

  let again: Promise<number> | undefined;
  function deliverQueued(): Promise<number> {
    // One round at a time: a slow round is not overtaken by the next tick; a call during a round
    // (a command queued after it read the table) gets one more round after it.
    if (delivering === undefined)
      return (delivering = deliverOnce().finally(() => (delivering = undefined)));
    return (again ??= delivering
      .catch(() => 0)
      .then(() => {
        again = undefined;
        return deliverQueued();
      }));
  }

  return {
    replicaId,
    async requestRenewal(connectorId) {
      const commandId = randomUUID();
      const createdAt = clock().getTime();
      await store.queueAgentCommand({
        id: commandId,
        kind: 'connector',
        agentId: connectorId,
        command: 'renew_now',
        createdAt,
        expiresAt: createdAt + waitMs,
      });
      const deadline = Date.now() + waitMs;
      for (;;) {
        const command = await store.getAgentCommand(commandId);
        if (command?.claimedBy != null) return { commandId, deliveredBy: command.claimedBy };
        if (Date.now() >= deadline) break;
        await pause(Math.min(pollMs / 2, 100));
      }
      if (await store.withdrawAgentCommand(commandId, clock().getTime())) return undefined;
      // Claimed between the last look and the withdrawal: it was delivered.
      const claimed = await store.getAgentCommand(commandId);
      return { commandId, deliveredBy: claimed?.claimedBy ?? 'unknown' };
    },
    deliverQueued,
    changed() {
      for (const wake of [...waiters]) wake();
      return deliverQueued();
    },
  };
}
