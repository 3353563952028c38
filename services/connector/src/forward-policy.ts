import { isIP } from 'node:net';
import type { controlplaneV1 } from '@sigil/proto';
import { formatListenAddress, parseResourceAddress, resourceContains } from '@sigil/runtime';
import type { ResourceAddress } from '@sigil/runtime';

/**
 * Why the connector refused a tunneled connection (the `reason` label of the refused counter, the
 * `sigil-reason` trailer the tunneler logs, and the audit record's reason).
 *
 * @example
 * ```ts
 * const reason: ForwardRefusalReason = 'no_grant';
 * ```
 */
export type ForwardRefusalReason =
  | 'not_admitted'
  | 'unknown_resource'
  | 'no_grant'
  | 'target_not_allowed'
  | 'resource_unreachable'
  | 'limit_reached'
  | 'protocol';

/** One resource of the connector's policy, parsed. */
export interface PolicyEntry {
  name: string;
  /** As the controller sent it. */
  text: string;
  address: ResourceAddress;
  tunnelerIds: ReadonlySet<string>;
}

/** The connector's policy, by resource name. */
export type CompiledPolicy = ReadonlyMap<string, PolicyEntry>;

/**
 * Parses the controller's ConnectorPolicy; a resource whose address does not parse is left out
 * (and returned in `skipped`), so it stays unreachable. Pure.
 *
 * @example
 * ```ts
 * const { policy, skipped } = compilePolicy(message.connectorPolicy);
 * ```
 */
export function compilePolicy(message: controlplaneV1.ConnectorPolicy): {
  policy: CompiledPolicy;
  skipped: Array<{ name: string; problem: string }>;
} {
  const policy = new Map<string, PolicyEntry>();
  const skipped: Array<{ name: string; problem: string }> = [];
  for (const resource of message.resources) {
    const parsed = parseResourceAddress(resource.address);
    if (!parsed.ok) {
      skipped.push({ name: resource.name, problem: parsed.problem });
      continue;
    }
    policy.set(resource.name, {
      name: resource.name,
      text: resource.address,
      address: parsed.address,
      tunnelerIds: new Set(resource.tunnelerIds),
    });
  }
  return { policy, skipped };
}

/** A decision of {@link decideForward} or {@link checkResolved}. */
export type ForwardDecision<T> =
  { allowed: true; value: T } | { allowed: false; reason: ForwardRefusalReason; message: string };

/** Where to dial before DNS: the host (a name or an IP literal) and port. */
export interface DialTarget {
  entry: PolicyEntry;
  host: string;
  port: number;
}

/**
 * Whether `tunnelerId` may open a connection to `resource` (at `target`, for a network
 * resource), and what to resolve and dial. A host:port resource is dialled at its own address
 * only; a network resource only at a `host:port` the tunneler names whose port is in range (the
 * resolved addresses are checked by {@link checkResolved}). Pure.
 *
 * @example
 * ```ts
 * decideForward(policy, 'laptop-1', 'pg-main', ''); // { allowed: true, value: { entry, host: '10.0.0.5', port: 5432 } }
 * ```
 */
export function decideForward(
  policy: CompiledPolicy,
  tunnelerId: string,
  resource: string,
  target: string,
): ForwardDecision<DialTarget> {
  const entry = policy.get(resource);
  if (entry === undefined)
    return {
      allowed: false,
      reason: 'unknown_resource',
      message: `this connector serves no resource named "${resource.slice(0, 64)}"`,
    };
  if (!entry.tunnelerIds.has(tunnelerId))
    return {
      allowed: false,
      reason: 'no_grant',
      message: `tunneler ${tunnelerId} has no grant for resource ${entry.name}`,
    };
  const { address } = entry;
  if (address.kind === 'host') {
    const own = formatListenAddress({ host: address.host, port: address.port });
    if (target !== '' && target !== own)
      return {
        allowed: false,
        reason: 'target_not_allowed',
        message: `resource ${entry.name} is ${own}; it takes no other target (asked for ${target.slice(0, 140)})`,
      };
    return { allowed: true, value: { entry, host: address.host, port: address.port } };
  }
  const parsed = parseResourceAddress(target);
  if (target === '' || !parsed.ok || parsed.address.kind !== 'host')
    return {
      allowed: false,
      reason: 'target_not_allowed',
      message: `resource ${entry.name} is the network ${entry.text}: name a host:port inside it (--forward listen=${entry.name}@host:port)`,
    };
  const { host, port } = parsed.address;
  if (port < address.ports.first || port > address.ports.last)
    return {
      allowed: false,
      reason: 'target_not_allowed',
      message: `port ${port} is outside resource ${entry.name} (${entry.text})`,
    };
  if (isIP(host) !== 0 && !resourceContains(address, host, port))
    return {
      allowed: false,
      reason: 'target_not_allowed',
      message: `${host} is outside resource ${entry.name} (${entry.text})`,
    };
  return { allowed: true, value: { entry, host, port } };
}

/**
 * Checks what a target's name resolved to before anything is dialled: for a network resource
 * every address must lie inside it (a name that resolves elsewhere, even partly, is refused);
 * the first address is the one to dial, so nothing resolves twice (no DNS rebinding between
 * check and dial). Pure.
 *
 * @example
 * ```ts
 * checkResolved(target, ['10.0.0.7']); // { allowed: true, value: '10.0.0.7' }
 * ```
 */
export function checkResolved(
  target: DialTarget,
  addresses: readonly string[],
): ForwardDecision<string> {
  const { entry, host, port } = target;
  if (addresses.length === 0)
    return {
      allowed: false,
      reason: 'resource_unreachable',
      message: `${host} of resource ${entry.name} resolves to no address`,
    };
  if (entry.address.kind === 'network') {
    const outside = addresses.find((ip) => !resourceContains(entry.address, ip, port));
    if (outside !== undefined)
      return {
        allowed: false,
        reason: 'target_not_allowed',
        message: `${host.slice(0, 140)} resolves to ${outside}, outside resource ${entry.name} (${entry.text})`,
      };
  }
  return { allowed: true, value: addresses[0]! };
}
