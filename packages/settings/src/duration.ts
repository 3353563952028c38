import { invalidSetting } from './invalid-setting';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  y: 365 * 86_400_000,
};
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|y))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|y)/g;

/**
 * Parses `500ms`, `90s`, `15m`, `1h`, `1h30m`, `2d`, `1y` (365 days) into milliseconds, naming
 * `at` (the variable, flag or file key) in the error. A unit is required so `10` never silently
 * means ten milliseconds, and zero is refused.
 *
 * @example
 * ```ts
 * parseDurationMs('1h30m', 'CONNECTOR_CERT_TTL'); // 5_400_000
 * ```
 */
export function parseDurationMs(value: string, at: string): number {
  const text = value.trim();
  if (!DURATION.test(text))
    throw invalidSetting(at, 'is not a duration (use a number with a unit: 90s, 15m, 1h)', {
      value,
    });
  let total = 0;
  for (const match of text.matchAll(PART)) total += Number(match[1]) * UNIT_MS[match[2]!]!;
  const ms = Math.round(total);
  if (ms <= 0) throw invalidSetting(at, 'the duration must be greater than zero', { value });
  return ms;
}

/**
 * {@link parseDurationMs} for settings kept in whole seconds, within `[min, max]` seconds.
 *
 * @example
 * ```ts
 * parseDurationSeconds('15m', 'ENROLLMENT_TOKEN_TTL', [1, 86_400]); // 900
 * ```
 */
export function parseDurationSeconds(
  value: string,
  at: string,
  [min, max]: readonly [number, number],
): number {
  const ms = parseDurationMs(value, at);
  if (ms % 1000 !== 0) throw invalidSetting(at, 'use whole seconds (e.g. 90s)', { value });
  const seconds = ms / 1000;
  if (seconds < min || seconds > max)
    throw invalidSetting(at, `must be between ${min}s and ${max}s`, { value });
  return seconds;
}
