// What replicas on one PostgreSQL database tell each other, and which of them does the periodic
// work. Changes: the store's triggers (migration 9) NOTIFY at commit, every replica LISTENs on its
// replica link and re-reads what changed at once (its 2 s polls stay as the fallback; after the
// link reconnects every topic is re-read, notifications sent meanwhile are lost). Leadership: the
// replica whose link holds the advisory lock leads; the others try again every `intervalMs`, and
// a dead leader's connection (and lock) is dropped by PostgreSQL. On SQLite there is one replica:
// it always leads and nothing is notified.
import type pino from 'pino';
import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { ChangeTopic, ReplicaLink } from '../store/replica-store';
import type { ControllerStore } from '../store/store';

/** How often a replica retries the leader lock (and the leader checks its connection), ms. */
export const LEADER_RETRY_MS = 2000;

/** Options of {@link startReplicaCoordination}. */
export interface ReplicaCoordinationOptions {
  /** The store as opened (its `replicaLink`, when it has one). */
  store: ControllerStore;
  logger: pino.Logger;
  /** Where `sigil_controller_leader` is registered. */
  registry: Registry;
  /** What to re-read when a topic changed: on its notification, and every one after (re)connecting. */
  refresh: Partial<Record<ChangeTopic, () => Promise<unknown>>>;
  /** This replica's name in the logs. */
  replicaId: string;
  /** Default {@link LEADER_RETRY_MS}. */
  intervalMs?: number;
}

/** The running coordination of one replica. */
export interface ReplicaCoordination {
  /** True while this replica leads (always on SQLite): periodic work runs only then. */
  isLeader(): boolean;
  /** True while change notifications arrive (never on SQLite). */
  readonly listening: boolean;
  /** Stops retrying and closes the link, giving up leadership. */
  close(): Promise<void>;
}

/**
 * Starts the coordination: connects the replica link (first round awaited, so a lone replica
 * leads before it serves), then one round every `intervalMs`. Logs `controller.leadership_gained`
 * and `controller.leadership_lost`, and exports `sigil_controller_leader` (1 or 0).
 *
 * @example
 * ```ts
 * const coordination = await startReplicaCoordination({ store, logger, registry, replicaId, refresh: { trust: () => trust.refresh() } });
 * if (coordination.isLeader()) await pruneAudit();
 * await coordination.close();
 * ```
 */
export async function startReplicaCoordination(
  options: ReplicaCoordinationOptions,
): Promise<ReplicaCoordination> {
  const { logger, replicaId } = options;
  const running = new Map<ChangeTopic, Promise<void>>();
  const pending = new Set<ChangeTopic>();

  // One refresh per topic at a time; a change noticed meanwhile re-runs it once after.
  const refresh = (topic: ChangeTopic): void => {
    const work = options.refresh[topic];
    if (work === undefined) return;
    if (running.has(topic)) return void pending.add(topic);
    const run = work()
      .then(
        () => undefined,
        (err: unknown) =>
          logger.error(
            { event: 'controller.replica_refresh_failed', topic, err },
            'controller.replica_refresh_failed',
          ),
      )
      .finally(() => {
        running.delete(topic);
        if (pending.delete(topic)) refresh(topic);
      });
    running.set(topic, run);
  };

  let leading = false;
  const settle = (now: boolean): void => {
    if (now === leading) return;
    leading = now;
    const event = now ? 'controller.leadership_gained' : 'controller.leadership_lost';
    logger[now ? 'info' : 'warn']({ event, replicaId }, event);
  };
  const link: ReplicaLink | undefined = options.store.replicaLink?.({
    onChange: refresh,
    onConnected: () => {
      logger.info(
        { event: 'controller.replica_link_connected', replicaId },
        'controller.replica_link_connected',
      );
      for (const topic of Object.keys(options.refresh) as ChangeTopic[]) refresh(topic);
    },
    onLost: (err) => {
      logger.warn(
        { event: 'controller.replica_link_lost', replicaId, err },
        'controller.replica_link_lost',
      );
      settle(false);
    },
  });

  new Gauge({
    name: 'sigil_controller_leader',
    help: 'Whether this replica leads (1) and runs the periodic work (audit retention, expired admin sessions, CA auto-rotation) or not (0); exactly one replica on a database leads',
    registers: [options.registry],
    collect() {
      this.set(link === undefined || leading ? 1 : 0);
    },
  });

  if (link === undefined)
    return { isLeader: () => true, listening: false, close: async () => undefined };

  let round: Promise<void> | undefined;
  const tick = (): Promise<void> =>
    (round ??= link
      .tick()
      .then(settle, (err: unknown) => {
        settle(false);
        logger.debug(
          { event: 'controller.replica_link_failed', err },
          'controller.replica_link_failed',
        );
      })
      .finally(() => (round = undefined)));
  await tick();
  const timer = setInterval(() => void tick(), options.intervalMs ?? LEADER_RETRY_MS);
  timer.unref();
  return {
    isLeader: () => leading,
    get listening() {
      return link.listening;
    },
    async close() {
      clearInterval(timer);
      await round;
      await link.close();
      settle(false);
      await Promise.all(running.values());
    },
  };
}
