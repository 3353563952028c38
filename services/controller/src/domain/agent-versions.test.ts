import { isSigilError } from '@sigil/errors';
import {
  NO_VERSION_PINS,
  decodeVersionPins,
  encodeVersionPins,
  isBelowMinimum,
  nextVersionPins,
  parseMinimumVersions,
  renewalUpgradeRefusal,
  upgradeRequirement,
} from './agent-versions';
import type { AgentVersionPins } from './agent-versions';

const T0 = Date.UTC(2030, 0, 1);
const DAY = 86_400_000;

function refusalOf(run: () => unknown): { code: string; field: unknown; message: string } {
  try {
    run();
  } catch (err) {
    if (!isSigilError(err)) throw err;
    return { code: err.code, field: err.details.field, message: err.message };
  }
  throw new Error('expected a SigilError');
}

describe('parseMinimumVersions', () => {
  it('reads both minimums, normalised, with null or absent clearing one', () => {
    expect(parseMinimumVersions({ connector_min: 'v1.4.0', tunneler_min: null })).toEqual({
      connector: '1.4.0',
      tunneler: null,
    });
    expect(parseMinimumVersions({ tunneler_min: ' 2.0.0-rc.1 ' })).toEqual({
      connector: null,
      tunneler: '2.0.0-rc.1',
    });
    expect(parseMinimumVersions({})).toEqual({ connector: null, tunneler: null });
  });

  it.each([
    [{ connector_min: 'latest' }, 'connector_min'],
    [{ tunneler_min: '1.4' }, 'tunneler_min'],
    [{ tunneler_min: 14 }, 'tunneler_min'],
    [{ connector_min: '1.0.0', tunneler_min: '>=1.2.0' }, 'tunneler_min'],
    [{ connector_min: `1.0.0-${'a'.repeat(80)}` }, 'connector_min'],
  ])('refuses %j naming the field', (body, field) => {
    const refusal = refusalOf(() => parseMinimumVersions(body));
    expect(refusal).toMatchObject({ code: 'ERR_REQUEST_INVALID', field });
    expect(refusal.message).toMatch(new RegExp(`^${field} .* is not a semantic version`));
  });

  it('refuses an unknown field by name', () => {
    expect(refusalOf(() => parseMinimumVersions({ connector_minimum: '1.0.0' }))).toEqual({
      code: 'ERR_REQUEST_INVALID',
      field: 'connector_minimum',
      message: 'unknown field "connector_minimum" (expected connector_min, tunneler_min)',
    });
  });
});

describe('isBelowMinimum', () => {
  it.each([
    ['1.3.9', '1.4.0', true],
    ['1.4.0', '1.4.0', false],
    ['1.10.0', '1.4.0', false],
    ['v1.4.1', '1.4.0', false],
    // A prerelease precedes its release (semver 11), and follows the earlier release.
    ['1.4.0-rc.1', '1.4.0', true],
    ['1.4.0-rc.1', '1.3.9', false],
    ['1.4.0-rc.2', '1.4.0-rc.10', true],
    ['1.4.0', '1.4.0-rc.1', false],
    // Build metadata does not count (semver 10).
    ['1.4.0+build.7', '1.4.0', false],
    // Not a version: it cannot be shown to meet the minimum.
    ['', '0.0.1', true],
    ['dev', '0.0.1', true],
    ['1.4', '1.0.0', true],
  ])('%j below %j: %s', (version, minimum, below) => {
    expect(isBelowMinimum(version, minimum)).toBe(below);
  });
});

describe('nextVersionPins', () => {
  const pins: AgentVersionPins = { connector: { minimum: '1.4.0', setAt: T0 }, tunneler: null };

  it('keeps the time of an unchanged minimum, restarts it for a changed one, clears null', () => {
    expect(nextVersionPins(pins, { connector: '1.4.0', tunneler: '2.0.0' }, T0 + DAY)).toEqual({
      connector: { minimum: '1.4.0', setAt: T0 },
      tunneler: { minimum: '2.0.0', setAt: T0 + DAY },
    });
    expect(nextVersionPins(pins, { connector: '1.5.0', tunneler: null }, T0 + DAY)).toEqual({
      connector: { minimum: '1.5.0', setAt: T0 + DAY },
      tunneler: null,
    });
    expect(nextVersionPins(pins, { connector: null, tunneler: null }, T0)).toEqual(NO_VERSION_PINS);
  });
});

describe('upgradeRequirement and renewalUpgradeRefusal', () => {
  const pins: AgentVersionPins = {
    connector: { minimum: '1.4.0', setAt: T0 },
    tunneler: { minimum: '2.0.0', setAt: T0 + DAY },
  };
  const spiffeId = 'spiffe://example.org/connector/edge-1';

  it('requires an upgrade only below the minimum of the agent kind', () => {
    expect(upgradeRequirement(pins, 'connector', '1.4.0', undefined)).toBeUndefined();
    expect(upgradeRequirement(pins, 'connector', '1.9.0', 7 * DAY)).toBeUndefined();
    expect(upgradeRequirement(pins, 'tunneler', '1.9.0', 7 * DAY)).toEqual({
      kind: 'tunneler',
      minimum: '2.0.0',
      version: '1.9.0',
      deadline: T0 + 8 * DAY,
    });
    expect(upgradeRequirement(NO_VERSION_PINS, 'tunneler', '0.0.1', 7 * DAY)).toBeUndefined();
  });

  it('never refuses renewals without a grace period', () => {
    const requirement = upgradeRequirement(pins, 'connector', '1.0.0', undefined);
    expect(requirement?.deadline).toBeNull();
    expect(renewalUpgradeRefusal(requirement, T0 + 365 * DAY, spiffeId)).toBeUndefined();
  });

  it('refuses renewals from the end of the grace period, naming the minimum', () => {
    const requirement = upgradeRequirement(pins, 'connector', '1.3.0', DAY);
    expect(renewalUpgradeRefusal(requirement, T0 + DAY - 1, spiffeId)).toBeUndefined();
    const refusal = renewalUpgradeRefusal(requirement, T0 + DAY, spiffeId);
    expect(refusal?.code).toBe('ERR_AGENT_UPGRADE_REQUIRED');
    expect(refusal?.message).toBe(
      'spiffe://example.org/connector/edge-1 runs connector 1.3.0, below the minimum version 1.4.0 pinned for connectors, and the grace period ended at 2030-01-02T00:00:00.000Z: upgrade the connector to 1.4.0 or later to renew its certificate',
    );
    expect(refusal?.details).toMatchObject({ minimumVersion: '1.4.0', version: '1.3.0' });
    expect(renewalUpgradeRefusal(undefined, T0 + 365 * DAY, spiffeId)).toBeUndefined();
  });

  it('refuses at once with a grace of zero', () => {
    const requirement = upgradeRequirement(pins, 'connector', '', 0);
    expect(renewalUpgradeRefusal(requirement, T0, spiffeId)?.message).toMatch(
      /runs connector an unreported version, below the minimum version 1\.4\.0/,
    );
  });
});

describe('encodeVersionPins and decodeVersionPins', () => {
  it('round-trips the pins; nothing stored is no pin', () => {
    const pins: AgentVersionPins = { connector: null, tunneler: { minimum: '2.0.0', setAt: T0 } };
    expect(decodeVersionPins(encodeVersionPins(pins))).toEqual(pins);
    expect(decodeVersionPins(undefined)).toEqual(NO_VERSION_PINS);
  });

  it.each([
    '{',
    '[]',
    '{"connector":{"minimum":"latest","setAt":1}}',
    '{"tunneler":{"minimum":"1.0.0"}}',
  ])('refuses the unreadable %j naming the setting, never drops a pin', (stored) => {
    const refusal = refusalOf(() => decodeVersionPins(stored));
    expect(refusal.code).toBe('ERR_INTERNAL');
    expect(refusal.message).toMatch(/^the stored setting agent_versions is unreadable/);
  });
});
