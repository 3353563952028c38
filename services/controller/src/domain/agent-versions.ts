// Agent version pinning: the minimum version per agent kind, compared as semver, and what follows
// for an agent below it (the `upgrade_required` flag, the UpgradeRequired command, and after the
// grace period the refusal of its renewals). Pure: the store, the clock and the streams are the
// caller's.
import { lt, valid } from 'semver';
import { SigilError } from '@sigil/errors';
import type { AgentKind } from '../store/store';

/** The settings key the pins are stored under (JSON of {@link AgentVersionPins}). */
export const AGENT_VERSIONS_SETTING = 'agent_versions';

/** The request and response field of each kind's minimum (`PUT /api/admin/agent-versions`). */
export const MINIMUM_FIELDS = {
  connector: 'connector_min',
  tunneler: 'tunneler_min',
} as const satisfies Record<AgentKind, string>;

/** The longest version string accepted as a minimum. */
const MAX_VERSION_LENGTH = 64;

/** One kind's pinned minimum. */
export interface VersionPin {
  /** The lowest accepted version, normalised semver (`1.4.0`, `2.0.0-rc.1`). */
  minimum: string;
  /** Unix milliseconds when this minimum was set: the grace period runs from here. */
  setAt: number;
}

/** The minimum per kind; null where none is pinned. */
export type AgentVersionPins = Record<AgentKind, VersionPin | null>;

/** No minimum for either kind: the state before any pin. */
export const NO_VERSION_PINS: AgentVersionPins = Object.freeze({
  connector: null,
  tunneler: null,
});

/** What an agent below its kind's minimum is told (UpgradeRequired) and flagged with. */
export interface UpgradeRequirement {
  kind: AgentKind;
  /** The minimum it is below. */
  minimum: string;
  /** The version it reported. */
  version: string;
  /** Unix milliseconds from which its renewals are refused, or null when they never are (no grace configured). */
  deadline: number | null;
}

/**
 * Reads the body of `PUT /api/admin/agent-versions`: `connector_min` and `tunneler_min`, each a
 * semantic version (normalised: `v1.2.3` becomes `1.2.3`) or null/absent to clear that kind's
 * minimum. Throws `ERR_REQUEST_INVALID` naming the field (an unknown field, or a value that is
 * not a semantic version).
 *
 * @example
 * ```ts
 * parseMinimumVersions({ connector_min: '1.4.0' }); // { connector: '1.4.0', tunneler: null }
 * parseMinimumVersions({ tunneler_min: 'latest' }); // throws ERR_REQUEST_INVALID, details.field 'tunneler_min'
 * ```
 */
export function parseMinimumVersions(
  body: Record<string, unknown>,
): Record<AgentKind, string | null> {
  const known: string[] = Object.values(MINIMUM_FIELDS);
  for (const key of Object.keys(body))
    if (!known.includes(key))
      throw new SigilError(
        'ERR_REQUEST_INVALID',
        `unknown field "${key.slice(0, 64)}" (expected ${known.join(', ')})`,
        { details: { field: key.slice(0, 64) } },
      );
  const parse = (field: string, value: unknown): string | null => {
    if (value === null || value === undefined) return null;
    const normalised =
      typeof value === 'string' && value.length <= MAX_VERSION_LENGTH ? valid(value.trim()) : null;
    if (normalised === null)
      throw new SigilError(
        'ERR_REQUEST_INVALID',
        `${field} ${JSON.stringify(typeof value === 'string' ? value.slice(0, MAX_VERSION_LENGTH) : value)} is not a semantic version (MAJOR.MINOR.PATCH with an optional -prerelease, e.g. "1.4.0"), nor null to clear the minimum`,
        { details: { field } },
      );
    return normalised;
  };
  return {
    connector: parse(MINIMUM_FIELDS.connector, body[MINIMUM_FIELDS.connector]),
    tunneler: parse(MINIMUM_FIELDS.tunneler, body[MINIMUM_FIELDS.tunneler]),
  };
}

/**
 * The pins after an operator set `requested` at `now`: a kind whose minimum is unchanged keeps
 * its `setAt` (so re-applying the same pin does not restart the grace period), a changed one
 * starts it again, null clears it.
 *
 * @example
 * ```ts
 * const next = nextVersionPins(current, { connector: '1.4.0', tunneler: null }, Date.now());
 * ```
 */
export function nextVersionPins(
  current: AgentVersionPins,
  requested: Record<AgentKind, string | null>,
  now: number,
): AgentVersionPins {
  const next = (kind: AgentKind): VersionPin | null => {
    const minimum = requested[kind];
    if (minimum === null) return null;
    const pin = current[kind];
    return pin?.minimum === minimum ? pin : { minimum, setAt: now };
  };
  return { connector: next('connector'), tunneler: next('tunneler') };
}

/**
 * True when `version` is below `minimum` in semver order (a prerelease is below its release:
 * `1.4.0-rc.1` < `1.4.0`). A version that is not semver at all (empty, `dev`) cannot be shown to
 * meet the minimum and counts as below it.
 *
 * @example
 * ```ts
 * isBelowMinimum('1.3.9', '1.4.0'); // true
 * isBelowMinimum('1.4.0-rc.1', '1.4.0'); // true
 * isBelowMinimum('v1.10.0', '1.4.0'); // false
 * isBelowMinimum('dev', '0.0.1'); // true
 * ```
 */
export function isBelowMinimum(version: string, minimum: string): boolean {
  const reported = valid(version.trim());
  return reported === null || lt(reported, minimum);
}

/**
 * What an agent of `kind` reporting `version` must be told, or undefined when it meets its
 * kind's minimum (or none is pinned). With `graceMs` the deadline is the pin's `setAt` plus it;
 * without, renewals are never refused.
 *
 * @example
 * ```ts
 * const requirement = upgradeRequirement(pins, 'tunneler', '0.9.0', 7 * 86_400_000);
 * if (requirement) console.log(`upgrade to ${requirement.minimum} by ${new Date(requirement.deadline!)}`);
 * ```
 */
export function upgradeRequirement(
  pins: AgentVersionPins,
  kind: AgentKind,
  version: string,
  graceMs: number | undefined,
): UpgradeRequirement | undefined {
  const pin = pins[kind];
  if (pin === null || !isBelowMinimum(version, pin.minimum)) return undefined;
  return {
    kind,
    minimum: pin.minimum,
    version,
    deadline: graceMs === undefined ? null : pin.setAt + graceMs,
  };
}

/**
 * The refusal of a renewal by an agent below its minimum once the grace period is over
 * (`ERR_AGENT_UPGRADE_REQUIRED`, naming the minimum), or undefined when the renewal may go on.
 *
 * @example
 * ```ts
 * const refusal = renewalUpgradeRefusal(requirement, Date.now(), 'spiffe://example.org/connector/edge-1');
 * if (refusal) throw refusal;
 * ```
 */
export function renewalUpgradeRefusal(
  requirement: UpgradeRequirement | undefined,
  now: number,
  spiffeId: string,
): SigilError | undefined {
  if (requirement?.deadline == null || now < requirement.deadline) return undefined;
  const version = requirement.version === '' ? 'an unreported version' : requirement.version;
  return new SigilError(
    'ERR_AGENT_UPGRADE_REQUIRED',
    `${spiffeId} runs ${requirement.kind} ${version}, below the minimum version ${requirement.minimum} pinned for ${requirement.kind}s, and the grace period ended at ${new Date(requirement.deadline).toISOString()}: upgrade the ${requirement.kind} to ${requirement.minimum} or later to renew its certificate`,
    {
      details: {
        spiffeId,
        kind: requirement.kind,
        version: requirement.version,
        minimumVersion: requirement.minimum,
        deadline: new Date(requirement.deadline).toISOString(),
      },
    },
  );
}

/**
 * The pins as stored in the settings table.
 *
 * @example
 * ```ts
 * await store.setSetting(AGENT_VERSIONS_SETTING, encodeVersionPins(pins));
 * ```
 */
export function encodeVersionPins(pins: AgentVersionPins): string {
  return JSON.stringify(pins);
}

/**
 * The pins from the settings table (undefined: none stored yet). A value this controller cannot
 * read throws `ERR_INTERNAL` naming the setting, rather than silently dropping a pin.
 *
 * @example
 * ```ts
 * const pins = decodeVersionPins(await store.getSetting(AGENT_VERSIONS_SETTING));
 * ```
 */
export function decodeVersionPins(stored: string | undefined): AgentVersionPins {
  if (stored === undefined) return NO_VERSION_PINS;
  const unreadable = (why: string): SigilError =>
    new SigilError(
      'ERR_INTERNAL',
      `the stored setting ${AGENT_VERSIONS_SETTING} is unreadable (${why}), so the pinned minimum agent versions are unknown: remove it (DELETE FROM settings WHERE key = '${AGENT_VERSIONS_SETTING}') and pin them again with PUT /api/admin/agent-versions`,
      { details: { setting: AGENT_VERSIONS_SETTING } },
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(stored);
  } catch (err) {
    throw unreadable((err as Error).message);
  }
  const pin = (value: unknown): VersionPin | null => {
    if (value === null || value === undefined) return null;
    const { minimum, setAt } = value as Partial<VersionPin>;
    if (typeof minimum !== 'string' || valid(minimum) !== minimum || !Number.isSafeInteger(setAt))
      throw unreadable(`not a {minimum, setAt} pin: ${JSON.stringify(value).slice(0, 120)}`);
    return { minimum, setAt: setAt! };
  };
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw unreadable('not a JSON object');
  const record = parsed as Partial<Record<AgentKind, unknown>>;
  return { connector: pin(record.connector), tunneler: pin(record.tunneler) };
}
