import { SigilError } from '@sigil/errors';
import { parseSpiffeId } from '@sigil/pki';

/**
 * The TLS versions a Sigil endpoint may require at least (`SIGIL_TLS_MIN_VERSION`, default TLSv1.2).
 *
 * @example
 * ```ts
 * const minVersion: TlsMinVersion = 'TLSv1.3';
 * ```
 */
export type TlsMinVersion = 'TLSv1.2' | 'TLSv1.3';

/** A value together with where it came from (an env var, an option, a YAML key), for messages. */
export interface Sourced<T> {
  readonly value: T;
  readonly origin: string;
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** `true`/`false` (also 1/0, yes/no, on/off, any case); anything else is an error naming `origin`. */
export function parseBoolean(raw: string | boolean, origin: string): boolean {
  if (typeof raw === 'boolean') return raw;
  const text = raw.trim().toLowerCase();
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  throw invalid(origin, `"${raw}" is not a boolean (use true or false)`);
}

/** A non-negative integer (milliseconds, days). */
export function parseNonNegativeInteger(raw: string | number, origin: string): number {
  const value = typeof raw === 'number' ? raw : Number(raw.trim());
  if (!Number.isInteger(value) || value < 0 || (typeof raw === 'string' && raw.trim() === '')) {
    throw invalid(origin, `"${String(raw)}" is not a non-negative integer`);
  }
  return value;
}

export function parseMinVersion(raw: string, origin: string): TlsMinVersion {
  const text = raw.trim();
  if (text === 'TLSv1.2' || text === '1.2') return 'TLSv1.2';
  if (text === 'TLSv1.3' || text === '1.3') return 'TLSv1.3';
  throw invalid(origin, `"${raw}" is not a supported minimum TLS version (use TLSv1.2 or TLSv1.3)`);
}

/**
 * Expected peer SPIFFE IDs: exact IDs (`spiffe://example.org/svc/api`) or whole trust domains
 * (`spiffe://example.org`), comma-separated in env vars.
 */
export function parseExpectedSpiffeIds(raw: string | readonly string[], origin: string): string[] {
  const items = (typeof raw === 'string' ? raw.split(',') : [...raw])
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw invalid(origin, 'no SPIFFE ID given');
  return items.map((item) => {
    try {
      return String(parseSpiffeId(item));
    } catch (cause) {
      throw new SigilError('ERR_TLS_CONFIG_INVALID', `${origin}: ${(cause as Error).message}`, {
        cause,
        details: { variable: origin },
      });
    }
  });
}

export function invalid(origin: string, reason: string): SigilError {
  return new SigilError('ERR_TLS_CONFIG_INVALID', `${origin}: ${reason}`, {
    details: { variable: origin },
  });
}
