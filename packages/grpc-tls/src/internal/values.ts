import { SigilError } from '@sigil/errors';
import { parseSpiffeId } from '@sigil/pki';
import { invalidSetting } from '@sigil/settings';
import type { ClientCertificateMode, TlsMinVersion } from '../tls-config-types';

/** Options of `invalidSetting` for a bad TLS value: `ERR_TLS_CONFIG_INVALID`. */
export const TLS_INVALID = { code: 'ERR_TLS_CONFIG_INVALID' } as const;

/** A value together with where it came from (an env var, an option, a YAML key), for messages. */
export interface Sourced<T> {
  readonly value: T;
  readonly origin: string;
}

export function parseMinVersion(raw: string, origin: string): TlsMinVersion {
  const text = raw.trim();
  if (text === 'TLSv1.2' || text === '1.2') return 'TLSv1.2';
  if (text === 'TLSv1.3' || text === '1.3') return 'TLSv1.3';
  throw invalidSetting(
    origin,
    `"${raw}" is not a supported minimum TLS version (use TLSv1.2 or TLSv1.3)`,
    TLS_INVALID,
  );
}

export function parseClientCertificateMode(raw: string, origin: string): ClientCertificateMode {
  const text = raw.trim().toLowerCase();
  if (text === 'require' || text === 'request' || text === 'none') return text;
  throw invalidSetting(
    origin,
    `"${raw}" is not a client certificate mode (use require, request or none)`,
    TLS_INVALID,
  );
}

/**
 * Expected peer SPIFFE IDs: exact IDs (`spiffe://example.org/svc/api`) or whole trust domains
 * (`spiffe://example.org`), comma-separated in env vars.
 */
export function parseExpectedSpiffeIds(raw: string | readonly string[], origin: string): string[] {
  const items = (typeof raw === 'string' ? raw.split(',') : [...raw])
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw invalidSetting(origin, 'no SPIFFE ID given', TLS_INVALID);
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
