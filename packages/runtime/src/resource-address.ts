import { BlockList, isIP } from 'node:net';

/**
 * Where a data-plane resource lives: one `host:port` (a DNS name or an IP literal), or every
 * address of a network on a port range (`10.0.0.0/24:5432`, `10.0.0.0/24:8000-8099`,
 * `[fd00::/64]:22`).
 *
 * @example
 * ```ts
 * const address = parseResourceAddress('10.0.0.0/24:5432-5433');
 * if (address.ok && address.address.kind === 'network') address.address.ports; // { first: 5432, last: 5433 }
 * ```
 */
export type ResourceAddress =
  | { kind: 'host'; host: string; port: number }
  | {
      kind: 'network';
      network: string;
      prefix: number;
      family: 'ipv4' | 'ipv6';
      ports: { first: number; last: number };
    };

/**
 * The result of {@link parseResourceAddress}: the address, or why the text is not one.
 *
 * @example
 * ```ts
 * const parsed: ParsedResourceAddress = parseResourceAddress('db.internal:5432');
 * if (!parsed.ok) console.error(parsed.problem);
 * ```
 */
export type ParsedResourceAddress =
  { ok: true; address: ResourceAddress } | { ok: false; problem: string };

const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

function port(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const value = Number(text);
  return value >= 1 && value <= 65535 ? value : undefined;
}

/**
 * Parses a resource address: `host:port`, `[ipv6]:port`, `CIDR:port` or `CIDR:first-last`. Pure;
 * the problem names what is wrong (for the admin API's 400 and the connector's log).
 *
 * @example
 * ```ts
 * parseResourceAddress('127.0.0.1:5432'); // { ok: true, address: { kind: 'host', host: '127.0.0.1', port: 5432 } }
 * parseResourceAddress('10.0.0.0/33:22'); // { ok: false, problem: 'prefix length 33 is out of range 0-32 for IPv4' }
 * ```
 */
export function parseResourceAddress(text: string): ParsedResourceAddress {
  const fail = (problem: string): ParsedResourceAddress => ({ ok: false, problem });
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):([^:]+)$/.exec(text);
  if (match === null)
    return fail(
      `"${text.slice(0, 140)}" is not host:port, CIDR:port or CIDR:first-last (IPv6 in brackets)`,
    );
  const host = match[1] ?? match[2]!;
  const portText = match[3]!;
  if (host.includes('/')) {
    const [network, prefixText] = host.split('/') as [string, string];
    const family = isIP(network);
    if (family === 0) return fail(`"${network}" is not an IP network address`);
    if (family === 6 && match[1] === undefined) return fail('an IPv6 network goes in brackets');
    const max = family === 4 ? 32 : 128;
    const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (!(prefix >= 0 && prefix <= max))
      return fail(`prefix length ${prefixText} is out of range 0-${max} for IPv${family}`);
    const [firstText, lastText = firstText] = portText.split('-') as [string, string?];
    const first = port(firstText);
    const last = port(lastText);
    if (first === undefined || last === undefined || first > last)
      return fail(`"${portText}" is not a port (1-65535) or a range first-last`);
    return {
      ok: true,
      address: {
        kind: 'network',
        network,
        prefix,
        family: family === 4 ? 'ipv4' : 'ipv6',
        ports: { first, last },
      },
    };
  }
  const value = port(portText);
  if (value === undefined) return fail(`"${portText}" is not a port (1-65535)`);
  if (match[1] !== undefined && isIP(host) !== 6) return fail(`"${host}" is not an IPv6 address`);
  if (match[1] === undefined && isIP(host) === 0 && !HOST_NAME.test(host))
    return fail(`"${host.slice(0, 140)}" is not a host name or IP address`);
  return { ok: true, address: { kind: 'host', host, port: value } };
}

/**
 * True when a network resource contains `ip` and `port` (an IP literal, already resolved: never a
 * name). A host resource contains only its own host and port.
 *
 * @example
 * ```ts
 * const { address } = parseResourceAddress('10.0.0.0/24:5432') as { ok: true; address: ResourceAddress };
 * resourceContains(address, '10.0.0.7', 5432); // true
 * resourceContains(address, '10.0.1.7', 5432); // false
 * ```
 */
export function resourceContains(address: ResourceAddress, ip: string, port: number): boolean {
  const family = isIP(ip);
  if (family === 0) return false;
  if (address.kind === 'host') return address.host === ip && address.port === port;
  if (port < address.ports.first || port > address.ports.last) return false;
  const list = new BlockList();
  list.addSubnet(address.network, address.prefix, address.family);
  return list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}
