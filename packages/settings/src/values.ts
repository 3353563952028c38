import type { SigilErrorCode } from '@sigil/errors';
import { invalidSetting } from './invalid-setting';

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/**
 * `true`/`false` (also 1/0, yes/no, on/off, any case); anything else is an error naming `at`.
 *
 * @example
 * ```ts
 * parseBoolean('off', 'GRPC_REQUIRE_CLIENT_CERT'); // false
 * ```
 */
export function parseBoolean(
  raw: string | boolean,
  at: string,
  code: SigilErrorCode = 'ERR_CONFIG_INVALID',
): boolean {
  if (typeof raw === 'boolean') return raw;
  const text = raw.trim().toLowerCase();
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  throw invalidSetting(at, `"${raw}" is not a boolean (use true or false)`, { code });
}

/**
 * A non-negative integer (milliseconds, days, counts).
 *
 * @example
 * ```ts
 * parseNonNegativeInteger('30', 'SIGIL_TLS_CERT_WARN_DAYS'); // 30
 * ```
 */
export function parseNonNegativeInteger(
  raw: string | number,
  at: string,
  code: SigilErrorCode = 'ERR_CONFIG_INVALID',
): number {
  const value = typeof raw === 'number' ? raw : Number(raw.trim());
  if (!Number.isInteger(value) || value < 0 || (typeof raw === 'string' && raw.trim() === ''))
    throw invalidSetting(at, `"${String(raw)}" is not a non-negative integer`, { code });
  return value;
}

/**
 * A positive safe integer, e.g. a timeout in milliseconds.
 *
 * @example
 * ```ts
 * parsePositiveIntegerValue('10000', 'SHUTDOWN_TIMEOUT_MS'); // 10000
 * ```
 */
export function parsePositiveIntegerValue(raw: string, at: string): number {
  const value = Number(raw.trim());
  if (!Number.isSafeInteger(value) || value <= 0)
    throw invalidSetting(at, 'is not a positive integer', { value: raw.trim() });
  return value;
}

/**
 * A comma-separated list: entries trimmed, empty entries dropped.
 *
 * @example
 * ```ts
 * parseList(' a.example, 10.0.0.1,'); // ['a.example', '10.0.0.1']
 * ```
 */
export function parseList(raw: string): string[] {
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
