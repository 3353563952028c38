// Runtime CA rotation as pure decisions over the stored trust state (SPIRE's prepare / activate /
// taint, step-ca's intermediate roll): which generations exist, what the bundle holds, and when a
// step is allowed. The shell (internal/trust-state.ts) loads, signs, stores and pushes.
import { SigilError } from '@sigil/errors';
import type { AgentKind } from '../store/store';

/** One runtime CA: its certificate (and chain up to an upstream root), its root, when it came. */
export interface CaGeneration {
  /** 1, 2, 3, ...: the order generations were created in. */
  id: number;
  /** The CA certificate, then its intermediates up to (excluding) the root, PEM. */
  certificatePem: string;
  /** The root the bundle carries for it (the CA itself, or an operator's upstream root), PEM. */
  rootPem: string;
  /** SHA-256 of the CA certificate (DER), lower-case colon-separated hex. */
  fingerprint: string;
  /** Unix milliseconds. */
  notAfter: number;
  /** Unix milliseconds. */
  createdAt: number;
  /** The first bundle version that carried this generation's root. */
  bundleVersion: number;
  /** Unix milliseconds, once it signs new certificates. */
  activatedAt: number | null;
}

/** The runtime trust of every replica: durable, compare-and-set by `revision`. */
export interface TrustState {
  /** Increases with every stored change (the compare-and-set key). */
  revision: number;
  /** Increases whenever the bundle (the set of roots) changes; agents keep the highest. */
  bundleVersion: number;
  /** Prepared: its root is in the bundle, it signs nothing yet. */
  next: CaGeneration | null;
  /** Signs every new agent certificate. */
  current: CaGeneration;
  /** Replaced by `current`: its root stays in the bundle until retired. */
  previous: CaGeneration | null;
}

/** The roots agents must trust now: next, current and previous, each once (an upstream root is shared). */
export function bundleRoots(state: TrustState): string[] {
  const roots: string[] = [];
  for (const generation of [state.next, state.current, state.previous]) {
    if (generation === null) continue;
    const root = generation.rootPem.trim();
    if (!roots.includes(root)) roots.push(root);
  }
  return roots;
}

/**
 * The PEM bundle of {@link bundleRoots}.
 *
 * @example
 * ```ts
 * identity.update({ ...identity.current, caPem: bundlePemOf(state) });
 * ```
 */
export function bundlePemOf(state: TrustState): string {
  return `${bundleRoots(state).join('\n')}\n`;
}

/**
 * The intermediates between the roots and the leaves of every generation in the bundle (the
 * upstream-signed CA certificates), PEM, each once; empty when every generation is its own root.
 * A peer check that sees only the leaf builds the path through these.
 *
 * @example
 * ```ts
 * validateX509Svid([leaf], bundlePemOf(state), { intermediates: bundleIntermediatesPemOf(state) });
 * ```
 */
export function bundleIntermediatesPemOf(state: TrustState): string {
  const intermediates: string[] = [];
  for (const generation of [state.next, state.current, state.previous]) {
    if (generation === null || generation.certificatePem.trim() === generation.rootPem.trim())
      continue;
    const chain = generation.certificatePem.trim();
    if (!intermediates.includes(chain)) intermediates.push(chain);
  }
  return intermediates.length === 0 ? '' : `${intermediates.join('\n')}\n`;
}

/**
 * The first state: the CA found in DATA_DIR is generation 1 and current, bundle version 1 (the
 * version agents enrolled before rotation existed already hold).
 *
 * @example
 * ```ts
 * const state = initialTrustState(generationOne);
 * ```
 */
export function initialTrustState(
  generation: Omit<CaGeneration, 'id' | 'bundleVersion' | 'activatedAt'>,
): TrustState {
  return {
    revision: 1,
    bundleVersion: 1,
    next: null,
    current: { ...generation, id: 1, bundleVersion: 1, activatedAt: generation.createdAt },
    previous: null,
  };
}

const refused = (step: string, message: string, details: Record<string, unknown> = {}) =>
  new SigilError('ERR_CA_ROTATION_REFUSED', `${step} refused: ${message}`, {
    details: { step, ...details },
  });

/**
 * Prepare: a new generation enters as `next`, its root joins the bundle (version + 1). Refused
 * while one is already prepared, or while a previous generation is still in the bundle (retire
 * it first: three roots would mean two rotations in flight).
 *
 * @example
 * ```ts
 * const next = prepareRotation(state, { certificatePem, rootPem, fingerprint, notAfter, createdAt: now });
 * ```
 */
export function prepareRotation(
  state: TrustState,
  generation: Omit<CaGeneration, 'id' | 'bundleVersion' | 'activatedAt'>,
): TrustState {
  if (state.next !== null)
    throw refused(
      'prepare',
      `generation ${state.next.id} is already prepared: activate it (POST /api/admin/ca/activate) first`,
      { next: state.next.id },
    );
  if (state.previous !== null)
    throw refused(
      'prepare',
      `generation ${state.previous.id} is still in the bundle: retire it (POST /api/admin/ca/retire) first`,
      { previous: state.previous.id },
    );
  const bundleVersion = state.bundleVersion + 1;
  return {
    ...state,
    revision: state.revision + 1,
    bundleVersion,
    next: {
      ...generation,
      id: state.current.id + 1,
      bundleVersion,
      activatedAt: null,
    },
  };
}

/** An agent and the highest bundle version it reported. */
export interface AgentBundleReport {
  kind: AgentKind;
  agentId: string;
  /** Whether the registry sees it ONLINE now (an offline agent gets the bundle when it returns). */
  online: boolean;
  /** The highest bundle version it reported (0: none yet). */
  bundleVersion: number;
}

/** What {@link decideActivation} found: who holds the new root, who does not, and the grace period. */
export interface ActivationCheck {
  /** Online agents that reported the bundle carrying the next root. */
  acknowledged: AgentBundleReport[];
  /** Online agents that did not (yet). */
  pending: AgentBundleReport[];
  /** Offline agents: not waited for. */
  offline: AgentBundleReport[];
  /** Unix milliseconds: after this, activation no longer waits for acknowledgements. */
  graceEndsAt: number;
  /** True when activation may go ahead now. */
  allowed: boolean;
  /** Why it may: every online agent acknowledged, or the grace period is over. */
  basis: 'acknowledged' | 'grace_period_elapsed' | 'refused';
}

/**
 * Whether the prepared generation may become current: every online agent must have reported the
 * bundle that carries its root (so nobody meets a certificate it cannot verify), unless the
 * grace period since prepare (`CA_ACTIVATION_GRACE`) is over.
 *
 * @example
 * ```ts
 * const check = decideActivation(state, reports, Date.now(), 3_600_000);
 * if (!check.allowed) throw activationRefused(state, check);
 * ```
 */
export function decideActivation(
  state: TrustState,
  reports: readonly AgentBundleReport[],
  now: number,
  graceMs: number,
): ActivationCheck {
  const next = state.next;
  if (next === null)
    throw refused('activate', 'no generation is prepared: POST /api/admin/ca/prepare first');
  const online = reports.filter((r) => r.online);
  const acknowledged = online.filter((r) => r.bundleVersion >= next.bundleVersion);
  const pending = online.filter((r) => r.bundleVersion < next.bundleVersion);
  const graceEndsAt = next.createdAt + graceMs;
  const basis =
    pending.length === 0 ? 'acknowledged' : now >= graceEndsAt ? 'grace_period_elapsed' : 'refused';
  return {
    acknowledged,
    pending,
    offline: reports.filter((r) => !r.online),
    graceEndsAt,
    allowed: basis !== 'refused',
    basis,
  };
}

/**
 * The refusal for an activation {@link decideActivation} did not allow, naming the agents.
 *
 * @example
 * ```ts
 * if (!check.allowed) throw activationRefused(check);
 * ```
 */
export function activationRefused(check: ActivationCheck): SigilError {
  const names = check.pending.map((r) => `${r.kind} ${r.agentId}`);
  return refused(
    'activate',
    `${names.length} online agent(s) have not acknowledged the bundle with the new root (${names.slice(0, 10).join(', ')}${names.length > 10 ? ', ...' : ''}); retry once they have, or after the grace period ends at ${new Date(check.graceEndsAt).toISOString()}`,
    {
      pending: names,
      grace_period_ends_at: new Date(check.graceEndsAt).toISOString(),
    },
  );
}

/**
 * Activate: next becomes current (it signs from now on), current becomes previous (its root
 * stays in the bundle, so certificates it issued keep verifying). The bundle does not change.
 *
 * @example
 * ```ts
 * const activated = activateRotation(state, Date.now());
 * ```
 */
export function activateRotation(state: TrustState, now: number): TrustState {
  if (state.next === null)
    throw refused('activate', 'no generation is prepared: POST /api/admin/ca/prepare first');
  return {
    ...state,
    revision: state.revision + 1,
    next: null,
    current: { ...state.next, activatedAt: now },
    previous: state.current,
  };
}

/** A live agent certificate and the generation that issued it. */
export interface LiveCertificate {
  kind: AgentKind;
  agentId: string;
  serial: string;
  notAfter: number;
  /** The generation that signed it. */
  generation: number;
}

/**
 * Retire: the previous root leaves the bundle (version + 1), after which nothing it issued
 * verifies anywhere. Refused while live certificates still chain to it, unless `force`.
 *
 * @example
 * ```ts
 * const retired = retireRotation(state, live, false);
 * ```
 */
export function retireRotation(
  state: TrustState,
  live: readonly LiveCertificate[],
  force: boolean,
): TrustState {
  const previous = state.previous;
  if (previous === null)
    throw refused('retire', 'there is no previous generation: activate a prepared one first');
  const stranded = live.filter((c) => c.generation === previous.id);
  if (stranded.length > 0 && !force) {
    const names = stranded.map((c) => `${c.kind} ${c.agentId}`);
    throw refused(
      'retire',
      `${stranded.length} live certificate(s) still chain to generation ${previous.id} (${names.slice(0, 10).join(', ')}${names.length > 10 ? ', ...' : ''}); wait until they renew, or pass force to tell them to renew now and retire anyway`,
      { stranded: names, previous: previous.id },
    );
  }
  const sameRoot = previous.rootPem.trim() === state.current.rootPem.trim();
  return {
    ...state,
    revision: state.revision + 1,
    bundleVersion: sameRoot ? state.bundleVersion : state.bundleVersion + 1,
    previous: null,
  };
}

/** What {@link decideCaRotationStep} weighs besides the state. */
export interface CaRotationInputs {
  /** The fraction of the current CA's lifetime after which the next is prepared (SPIRE: 0.5). */
  rotateAtFraction: number;
  /** While a generation is prepared: {@link decideActivation} now. */
  activation: ActivationCheck | null;
  /** Live agent certificates signed by the previous generation. */
  livePrevious: number;
}

/** The automatic rotation's next move, and when the current generation is (or was) due. */
export type CaRotationStep =
  | { step: 'prepare' | 'activate' | 'retire'; dueAt: number }
  | { step: 'wait'; dueAt: number; reason: string };

/**
 * When `generation` is due for replacement: `fraction` of its lifetime in the trust state (from
 * `createdAt`, not the back-dated notBefore) has passed.
 *
 * @example
 * ```ts
 * caRotationDueAt(state.current, 0.5); // half-life, Unix ms
 * ```
 */
export function caRotationDueAt(generation: CaGeneration, fraction: number): number {
  const from = generation.createdAt;
  return Math.floor(from + Math.max(0, generation.notAfter - from) * fraction);
}

/**
 * The automatic rotation (`CA_AUTO_ROTATE`) as one decision over the state, SPIRE's way: prepare
 * once the current CA has lived `rotateAtFraction` of its lifetime, activate as soon as
 * {@link decideActivation} allows (every online agent acknowledged, or the grace period is
 * over), retire once no live certificate chains to the previous generation. One step at a time;
 * a step started by hand is carried on. A current generation under an upstream root is never
 * replaced automatically (the controller holds no upstream key): it waits, and the due time
 * passes (the stuck-rotation alert says so).
 *
 * @example
 * ```ts
 * const next = decideCaRotationStep(state, Date.now(), { rotateAtFraction: 0.5, activation, livePrevious: 0 });
 * if (next.step === 'prepare') await ca.prepare({ kind: 'self-signed' });
 * ```
 */
export function decideCaRotationStep(
  state: TrustState,
  now: number,
  inputs: CaRotationInputs,
): CaRotationStep {
  const dueAt = caRotationDueAt(state.current, inputs.rotateAtFraction);
  if (state.previous !== null)
    return inputs.livePrevious === 0
      ? { step: 'retire', dueAt }
      : {
          step: 'wait',
          dueAt,
          reason: `${inputs.livePrevious} live certificate(s) still chain to generation ${state.previous.id}`,
        };
  if (state.next !== null) {
    const activation = inputs.activation;
    if (activation?.allowed === true) return { step: 'activate', dueAt };
    return {
      step: 'wait',
      dueAt,
      reason: `${activation?.pending.length ?? 0} online agent(s) have not acknowledged generation ${state.next.id}; the grace period ends at ${new Date(activation?.graceEndsAt ?? now).toISOString()}`,
    };
  }
  if (now < dueAt)
    return {
      step: 'wait',
      dueAt,
      reason: `generation ${state.current.id} is due at ${new Date(dueAt).toISOString()}`,
    };
  if (state.current.certificatePem.trim() !== state.current.rootPem.trim())
    return {
      step: 'wait',
      dueAt,
      reason: `generation ${state.current.id} is under an upstream root: prepare its successor by hand (sigil admin ca prepare --upstream-...)`,
    };
  return { step: 'prepare', dueAt };
}
