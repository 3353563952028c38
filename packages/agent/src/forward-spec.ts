import { parseListenAddress, parseResourceAddress, type ListenAddress } from '@sigil/runtime';
import { invalidSetting, parseList } from '@sigil/settings';

/**
 * One tunneler forward: a local listen address and the resource (and, for a network resource,
 * the `host:port` inside it) each accepted connection is tunneled to.
 *
 * @example
 * ```ts
 * const [forward]: ForwardSpec[] = parseForwards('127.0.0.1:15432=pg-main', 'TUNNELER_FORWARDS');
 * forward.listen; // { host: '127.0.0.1', port: 15432 }
 * ```
 */
export interface ForwardSpec {
  listen: ListenAddress;
  /** The resource name, e.g. `pg-main`. */
  resource: string;
  /** `host:port` inside a network resource (`...=lab@10.0.0.7:22`); empty for a host:port resource. */
  target: string;
}

const RESOURCE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * Parses `TUNNELER_FORWARDS` / `--forward`: comma-separated `listen=resource` or
 * `listen=resource@host:port` entries, e.g. `127.0.0.1:15432=pg-main`. Throws
 * `ERR_CONFIG_INVALID` naming the setting and the entry at fault. Pure.
 *
 * @example
 * ```ts
 * parseForwards('127.0.0.1:15432=pg-main,127.0.0.1:2222=lab@10.0.0.7:22', '--forward');
 * ```
 */
export function parseForwards(raw: string, at: string): ForwardSpec[] {
  const specs = parseList(raw).map((entry): ForwardSpec => {
    const fail = (why: string): never => {
      throw invalidSetting(at, `is invalid: "${entry}" ${why}`, { value: raw });
    };
    const [listenText, rest] = entry.split('=', 2) as [string, string?];
    if (rest === undefined) fail('is not listen=resource (e.g. 127.0.0.1:15432=pg-main)');
    const [resource, target = ''] = rest!.split('@', 2) as [string, string?];
    if (!RESOURCE.test(resource)) fail(`names "${resource}", which is not a resource name`);
    if (target !== '') {
      const parsed = parseResourceAddress(target);
      if (!parsed.ok || parsed.address.kind !== 'host')
        fail(`has target "${target}", which is not host:port`);
    }
    return { listen: parseListenAddress(listenText, at), resource, target };
  });
  if (specs.length === 0) throw invalidSetting(at, 'is invalid: no forward given', { value: raw });
  const seen = new Set<string>();
  for (const spec of specs) {
    const key = `${spec.listen.host}:${spec.listen.port}`;
    if (seen.has(key) && spec.listen.port !== 0)
      throw invalidSetting(at, `is invalid: ${key} is listed twice`, { value: raw });
    seen.add(key);
  }
  return specs;
}
