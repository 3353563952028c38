import { SigilError } from '@sigil/errors';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/**
 * Parses `90s`, `15m`, `1h`, `1h30m` into milliseconds, naming `source` (the env var or flag) in
 * the error. A unit is required so `10` never silently means ten milliseconds.
 *
 * @example
 * ```ts
 * parseDurationMs(env.CONNECTOR_CERT_TTL ?? '1h', 'CONNECTOR_CERT_TTL'); // 3_600_000
 * ```
 */
export function parseDurationMs(value: string, source: string): number {
  const text = value.trim();
  if (!DURATION.test(text)) {
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `${source}=${JSON.stringify(value)} is not a duration (use a number with a unit: 90s, 15m, 1h)`,
      {
        details: { variable: source, value },
      },
    );
  }
  let total = 0;
  for (const match of text.matchAll(PART)) total += Number(match[1]) * UNIT_MS[match[2]!]!;
  const ms = Math.round(total);
  if (ms <= 0) {
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `${source}=${JSON.stringify(value)}: the duration must be greater than zero`,
      { details: { variable: source, value } },
    );
  }
  return ms;
}
