import { isIP } from 'node:net';
import { SigilError } from '@sigil/errors';

/**
 * A parsed `host:port` listen address.
 *
 * @example
 * ```ts
 * const { host, port }: ListenAddress = parseListenAddress('0.0.0.0:50051', 'GRPC_LISTEN_ADDR');
 * ```
 */
export interface ListenAddress {
  /** Host name or IP literal (IPv6 without brackets). */
  host: string;
  /** TCP port, 0 meaning "pick a free one". */
  port: number;
}

/**
 * Parses a `host:port` listen address (`0.0.0.0:50051`, `[::1]:9090`, `localhost:0`) read from the
 * variable `variable`. Throws `ERR_CONFIG_INVALID` naming the variable when the value is not one.
 *
 * @example
 * ```ts
 * const listen = parseListenAddress(env.GRPC_LISTEN_ADDR ?? '0.0.0.0:50051', 'GRPC_LISTEN_ADDR');
 * // { host: '0.0.0.0', port: 50051 }
 * ```
 */
export function parseListenAddress(value: string, variable: string): ListenAddress {
  const fail = (why: string): never => {
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `${variable}=${JSON.stringify(value)} is not a listen address (${why}); expected host:port, e.g. 0.0.0.0:50051 or [::1]:50051`,
      {
        details: { variable, value },
      },
    );
  };
  const text = value.trim();
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (match === null) return fail('missing host or port');
  const host = match[1] ?? match[2] ?? '';
  if (match[1] !== undefined && isIP(host) !== 6) return fail(`${host} is not an IPv6 address`);
  if (match[2] !== undefined && !/^[A-Za-z0-9.-]+$/.test(host))
    return fail(`${host} is not a host name or IPv4 address`);
  const port = Number(match[3]);
  if (port > 65535) return fail(`port ${port} is out of range 0-65535`);
  return { host, port };
}

/**
 * Formats a listen address back to `host:port`, bracketing IPv6 literals.
 *
 * @example
 * ```ts
 * formatListenAddress({ host: '::1', port: 50051 }); // '[::1]:50051'
 * ```
 */
export function formatListenAddress(address: ListenAddress): string {
  return isIP(address.host) === 6
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}
