import { isIP } from 'node:net';
import type { AgentKind } from '../store/store';

// SPIFFE path segments allow [A-Za-z0-9._-]; "." and ".." are forbidden. 128 keeps IDs readable.
const AGENT_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Why `id` is not a valid connector or tunneler id, or undefined when it is. */
export function agentIdProblem(id: unknown, field: string): string | undefined {
  if (typeof id !== 'string' || id === '')
    return `${field} is required: a connector or tunneler id such as "connector-01"`;
  if (!AGENT_ID.test(id) || id === '.' || id === '..')
    return `${field} ${JSON.stringify(id.slice(0, 140))} must be 1-128 characters of A-Z a-z 0-9 . _ - (it becomes a SPIFFE ID path segment)`;
  return undefined;
}

/** `spiffe://<td>/connector/<id>` or `spiffe://<td>/tunneler/<id>`. */
export function agentSpiffeId(trustDomain: string, kind: AgentKind, id: string): string {
  return `spiffe://${trustDomain}/${kind}/${id}`;
}

/** A version string as reported by an agent, bounded so a misbehaving agent cannot bloat the registry. */
export function cleanVersion(version: string): string {
  return version.slice(0, 64);
}

/** A reported private IP, kept only when it is an IP address. */
export function cleanPrivateIp(ip: string): string {
  return isIP(ip) === 0 ? '' : ip;
}
