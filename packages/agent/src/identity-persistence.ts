import type pino from 'pino';
import type { Counter, Gauge } from 'prom-client';
import { createBackoff, type BackoffOptions } from './backoff';
import type { AgentIdentity } from './identity';
import type { IdentityStore } from './identity-store';

/** Whether the identity in use is the one in STATE_DIR, as `/readyz` reports it. */
export interface PersistenceStatus {
  /** False while the identity in use (a renewal, a bundle update) could not be written to STATE_DIR. */
  persisted: boolean;
  stateDir: string | null;
  /** While not persisted: why the last write failed, e.g. `ENOSPC: no space left on device`. */
  reason?: string;
  /** While not persisted: failed writes of this identity so far. */
  failures?: number;
}

/** Writes the identity in use to STATE_DIR, retrying a failed write until one succeeds. */
export interface IdentityPersistence {
  /** Writes `identity` now; on failure keeps retrying (the latest identity given) with backoff. */
  save(identity: AgentIdentity): Promise<void>;
  status(): PersistenceStatus;
  /** Stops retrying. */
  stop(): void;
}

/** Options of {@link createIdentityPersistence}. */
export interface IdentityPersistenceOptions {
  store: IdentityStore;
  logger: pino.Logger;
  /** `sigil_agent_state_write_failures_total`. */
  failures: Counter;
  /** `sigil_agent_identity_persisted`. */
  persisted: Gauge;
  /** Between retries: full jitter from 1 s up to 60 s by default. */
  backoff?: BackoffOptions;
}

/**
 * Keeps STATE_DIR in step with the identity the agent uses. A failed write (a read-only or full
 * disk) is logged (`identity.persist_failed`), counted in `sigil_agent_state_write_failures_total`,
 * turns `sigil_agent_identity_persisted` to 0 and `/readyz` to 503, and is retried with backoff
 * with the latest identity until a write succeeds (`identity.persisted`): until then a restart
 * would start from the older identity on disk, which the controller may no longer honour.
 *
 * @example
 * ```ts
 * const persistence = createIdentityPersistence({ store, logger, failures, persisted });
 * await persistence.save(renewed);
 * if (!persistence.status().persisted) logger.warn('STATE_DIR is behind');
 * ```
 */
export function createIdentityPersistence(
  options: IdentityPersistenceOptions,
): IdentityPersistence {
  const { store, logger } = options;
  const backoff = createBackoff({ initialMs: 1_000, maxMs: 60_000, ...options.backoff });
  let latest: AgentIdentity | undefined;
  let failure: { reason: string; failures: number } | undefined;
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;
  options.persisted.set(1);

  const attempt = async (): Promise<void> => {
    const identity = latest!;
    try {
      await store.save(identity);
    } catch (err) {
      if (identity !== latest) return; // a newer identity's write is under way
      options.failures.inc();
      options.persisted.set(0);
      failure = { reason: (err as Error).message, failures: (failure?.failures ?? 0) + 1 };
      const retryInMs = backoff.next();
      logger.error(
        {
          event: 'identity.persist_failed',
          stateDir: store.stateDir,
          failures: failure.failures,
          retryInMs,
          err,
        },
        'identity.persist_failed',
      );
      clearTimeout(retry);
      if (!stopped) {
        retry = setTimeout(() => void attempt(), retryInMs);
        retry.unref();
      }
      return;
    }
    if (identity !== latest) return;
    if (failure !== undefined)
      logger.info(
        { event: 'identity.persisted', stateDir: store.stateDir, afterFailures: failure.failures },
        'identity.persisted',
      );
    failure = undefined;
    backoff.reset();
    options.persisted.set(1);
  };

  return {
    async save(identity) {
      latest = identity;
      clearTimeout(retry);
      await attempt();
    },
    status: () => ({
      persisted: failure === undefined,
      stateDir: store.stateDir ?? null,
      ...(failure === undefined ? {} : failure),
    }),
    stop() {
      stopped = true;
      clearTimeout(retry);
    },
  };
}
