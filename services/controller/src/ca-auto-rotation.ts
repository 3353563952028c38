// The periodic shell of the automatic runtime CA rotation (CA_AUTO_ROTATE): every interval it
// re-reads the trust state and takes the one step domain/trust-lifecycle.ts decides. Only the
// leader runs it (the store's compare-and-set still lets one replica win a step should two lead for
// a moment); the others see each step on refresh.
import { isSigilError } from '@sigil/errors';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type pino from 'pino';
import type { CaOperations } from './domain/ca-operations';
import { caRotationDueAt } from './domain/trust-lifecycle';
import type { TrustRuntime } from './internal/trust-state';

/** Options of {@link startCaAutoRotation}. */
export interface CaAutoRotationOptions {
  ca: CaOperations;
  trust: TrustRuntime;
  /** The fraction of the current CA's lifetime after which its successor is prepared (`CA_ROTATE_AT`). */
  rotateAtFraction: number;
  /** How often to decide (`CA_AUTO_ROTATE_INTERVAL`), ms. */
  intervalMs: number;
  logger: pino.Logger;
  registry: Registry;
  /** Steps are taken only while this is true (the replica leads, see replica-coordination.ts). Default always. */
  isLeader?: () => boolean;
}

/** The running task. */
export interface CaAutoRotation {
  /** One decision and step now (what the timer runs; nothing while not leading); resolves when it is done. */
  tick(): Promise<void>;
  /** The interval timer (unref'd): the owner clears it on shutdown. */
  timer: NodeJS.Timeout;
}

/**
 * Starts the automatic rotation: a timer (unref'd) that calls {@link CaOperations.rotateAutomatically}
 * after refreshing the trust state, logs each step it takes (`ca.auto_rotation`) and each failure
 * (`controller.ca_auto_rotation_failed`), and exports
 * `sigil_controller_ca_next_rotation_timestamp_seconds` (when the current generation is due) and
 * `sigil_controller_ca_auto_rotation_steps_total{step}`.
 *
 * @example
 * ```ts
 * const auto = startCaAutoRotation({ ca, trust, rotateAtFraction: 0.5, intervalMs: 60_000, logger, registry });
 * // on shutdown
 * clearInterval(auto.timer);
 * ```
 */
export function startCaAutoRotation(options: CaAutoRotationOptions): CaAutoRotation {
  const { ca, trust, rotateAtFraction, logger, registry } = options;
  new Gauge({
    name: 'sigil_controller_ca_next_rotation_timestamp_seconds',
    help: 'When the automatic rotation prepares the successor of the current runtime CA (Unix seconds); a time in the past means a rotation is under way or stuck',
    registers: [registry],
    collect() {
      this.set(Math.floor(caRotationDueAt(trust.state.current, rotateAtFraction) / 1000));
    },
  });
  const steps = new Counter({
    name: 'sigil_controller_ca_auto_rotation_steps_total',
    help: 'Runtime CA rotation steps the automatic rotation took (prepare, activate, retire) or failed to take (failed)',
    labelNames: ['step'],
    registers: [registry],
  });
  let running: Promise<void> | undefined;
  const once = async (): Promise<void> => {
    try {
      await trust.refresh();
      const decision = await ca.rotateAutomatically({ rotateAtFraction });
      if (decision.step === 'wait') {
        logger.debug(
          { event: 'ca.auto_rotation_waiting', reason: decision.reason },
          'ca.auto_rotation_waiting',
        );
        return;
      }
      steps.inc({ step: decision.step });
      const state = trust.state;
      logger.info(
        {
          event: 'ca.auto_rotation',
          step: decision.step,
          dueAt: new Date(decision.dueAt).toISOString(),
          current: state.current.id,
          next: state.next?.id ?? null,
          previous: state.previous?.id ?? null,
          bundleVersion: state.bundleVersion,
        },
        'ca.auto_rotation',
      );
    } catch (err) {
      steps.inc({ step: 'failed' });
      // Another replica took the step first: it shows on the next refresh.
      const level = isSigilError(err, 'ERR_CA_ROTATION_REFUSED') ? 'info' : 'warn';
      logger[level](
        { event: 'controller.ca_auto_rotation_failed', reason: (err as Error).message },
        'controller.ca_auto_rotation_failed',
      );
    }
  };
  const tick = (): Promise<void> => {
    if (!(options.isLeader?.() ?? true)) return Promise.resolve();
    running ??= once().finally(() => (running = undefined));
    return running;
  };
  const timer = setInterval(() => void tick(), options.intervalMs);
  timer.unref();
  return { tick, timer };
}
