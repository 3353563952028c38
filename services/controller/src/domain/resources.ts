import { SigilError } from '@sigil/errors';
import { parseResourceAddress } from '@sigil/runtime';
import type { controlplaneV1 } from '@sigil/proto';
import { agentIdProblem } from '../internal/agent-identity';
import type { GrantRecord, ResourceRecord, TunnelerLabels } from '../store/policy-store';

/** The most labels one tunneler token carries. */
export const MAX_LABELS = 16;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const LABEL = /^[A-Za-z0-9][A-Za-z0-9._=/:-]{0,62}$/;

function invalid(field: string, reason: string): SigilError {
  return new SigilError('ERR_REQUEST_INVALID', reason, { details: { field } });
}

/** A resource as the admin asks for it (the `POST /api/admin/resources` body, validated). */
export interface ResourceRequest {
  name: string;
  address: string;
  connectorId: string;
}

/** A grant as the admin asks for it: to one tunneler id, or to every tunneler with a label. */
export type GrantRequest =
  | { resource: string; tunnelerId: string; label?: undefined }
  | { resource: string; label: string; tunnelerId?: undefined };

/**
 * Why `name` is not a resource name (1-63 of A-Z a-z 0-9 . _ -, starting with a letter or digit),
 * or undefined. Pure.
 *
 * @example
 * ```ts
 * resourceNameProblem('pg-main'); // undefined
 * ```
 */
export function resourceNameProblem(name: unknown, field = 'name'): string | undefined {
  if (typeof name !== 'string' || name === '')
    return `${field} is required: a resource name such as "pg-main"`;
  if (!NAME.test(name))
    return `${field} ${JSON.stringify(name.slice(0, 140))} must be 1-63 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit`;
  return undefined;
}

/**
 * Validates a resource request; throws `ERR_REQUEST_INVALID` naming the field (`name`, `address`,
 * `connector_id`). Pure.
 *
 * @example
 * ```ts
 * validateResourceRequest({ name: 'pg-main', address: '10.0.0.5:5432', connector_id: 'edge-1' });
 * ```
 */
export function validateResourceRequest(body: Record<string, unknown>): ResourceRequest {
  const nameProblem = resourceNameProblem(body.name);
  if (nameProblem !== undefined) throw invalid('name', nameProblem);
  if (typeof body.address !== 'string' || body.address === '')
    throw invalid('address', 'address is required: host:port, CIDR:port or CIDR:first-last');
  const parsed = parseResourceAddress(body.address);
  if (!parsed.ok) throw invalid('address', `address ${parsed.problem}`);
  const connectorProblem = agentIdProblem(body.connector_id, 'connector_id');
  if (connectorProblem !== undefined) throw invalid('connector_id', connectorProblem);
  return {
    name: body.name as string,
    address: body.address,
    connectorId: body.connector_id as string,
  };
}

/**
 * Validates a grant request: `resource` and exactly one of `tunneler_id` and `label`; throws
 * `ERR_REQUEST_INVALID` naming the field. Pure.
 *
 * @example
 * ```ts
 * validateGrantRequest({ resource: 'pg-main', label: 'team=db' }); // { resource: 'pg-main', label: 'team=db' }
 * ```
 */
export function validateGrantRequest(body: Record<string, unknown>): GrantRequest {
  const resourceProblem = resourceNameProblem(body.resource, 'resource');
  if (resourceProblem !== undefined) throw invalid('resource', resourceProblem);
  const resource = body.resource as string;
  if ((body.tunneler_id === undefined) === (body.label === undefined))
    throw invalid('tunneler_id', 'give exactly one of tunneler_id and label');
  if (body.tunneler_id !== undefined) {
    const problem = agentIdProblem(body.tunneler_id, 'tunneler_id');
    if (problem !== undefined) throw invalid('tunneler_id', problem);
    return { resource, tunnelerId: body.tunneler_id as string };
  }
  const problem = labelProblem(body.label, 'label');
  if (problem !== undefined) throw invalid('label', problem);
  return { resource, label: body.label as string };
}

/**
 * Why `label` is not a label (1-63 of A-Z a-z 0-9 . _ = / : -, starting with a letter or digit,
 * e.g. `team=db`), or undefined. Pure.
 *
 * @example
 * ```ts
 * labelProblem('team=db', 'labels[0]'); // undefined
 * ```
 */
export function labelProblem(label: unknown, field: string): string | undefined {
  if (typeof label !== 'string' || !LABEL.test(label))
    return `${field} must be 1-63 characters of A-Z a-z 0-9 . _ = / : -, starting with a letter or digit (e.g. "team=db")`;
  return undefined;
}

/**
 * Validates the optional `labels` of a token request (tunnelers only): a list of at most
 * {@link MAX_LABELS} labels, duplicates dropped. Throws `ERR_TOKEN_REQUEST_INVALID` naming
 * `labels`. Pure.
 *
 * @example
 * ```ts
 * validateLabels(['team=db', 'laptop'], 'tunneler'); // ['laptop', 'team=db']
 * ```
 */
export function validateLabels(labels: unknown, kind: string): string[] {
  const refuse = (reason: string): SigilError =>
    new SigilError('ERR_TOKEN_REQUEST_INVALID', reason, { details: { field: 'labels' } });
  if (labels === undefined) return [];
  if (kind !== 'tunneler') throw refuse('labels are only for tunneler tokens');
  if (!Array.isArray(labels) || labels.length > MAX_LABELS)
    throw refuse(`labels must be a list of at most ${MAX_LABELS} labels`);
  labels.forEach((label, i) => {
    const problem = labelProblem(label, `labels[${i}]`);
    if (problem !== undefined) throw refuse(problem);
  });
  return [...new Set(labels as string[])].sort();
}

/**
 * The policy one connector receives: its resources, by name, each with the tunnelers granted to
 * it (by id, or enrolled under this connector with a granted label), sorted. Deny by default: no
 * grant, no tunneler. Pure.
 *
 * @example
 * ```ts
 * connectorPolicy('edge-1', resources, grants, tunnelers); // { resources: [{ name: 'pg-main', address: '10.0.0.5:5432', tunnelerIds: ['laptop-1'] }] }
 * ```
 */
export function connectorPolicy(
  connectorId: string,
  resources: readonly ResourceRecord[],
  grants: readonly GrantRecord[],
  tunnelers: readonly TunnelerLabels[],
): controlplaneV1.ConnectorPolicy {
  const own = tunnelers.filter((t) => t.connectorId === connectorId);
  return {
    resources: resources
      .filter((r) => r.connectorId === connectorId)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((resource) => {
        const ids = new Set<string>();
        for (const grant of grants) {
          if (grant.resource !== resource.name) continue;
          if (grant.tunnelerId !== null) ids.add(grant.tunnelerId);
          else for (const t of own) if (t.labels.includes(grant.label!)) ids.add(t.id);
        }
        return { name: resource.name, address: resource.address, tunnelerIds: [...ids].sort() };
      }),
  };
}
