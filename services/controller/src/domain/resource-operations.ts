import { randomUUID } from 'node:crypto';
import { SigilError } from '@sigil/errors';
import type { ControllerContext } from '../internal/context';
import type { GrantRecord, ResourceRecord } from '../store/policy-store';
import { resourceNameProblem, validateGrantRequest, validateResourceRequest } from './resources';
import { adminActorName } from '../internal/admin-actor';

/**
 * The operator's data-plane actions (resources and grants), each validated, stored, audited
 * (actor: the admin request's user) and then pushed to the connectors by `changed`.
 *
 * @example
 * ```ts
 * const policy = createPolicyOperations(ctx, () => distributor.refresh());
 * await policy.createResource({ name: 'pg-main', address: '10.0.0.5:5432', connector_id: 'edge-1' });
 * ```
 */
export interface PolicyOperations {
  /** Throws `ERR_REQUEST_INVALID` (a bad field) or `ERR_RESOURCE_EXISTS`. */
  createResource(body: Record<string, unknown>): Promise<ResourceRecord>;
  listResources(): Promise<ResourceRecord[]>;
  /** Deletes it and its grants; throws `ERR_NOT_FOUND`. */
  deleteResource(name: string): Promise<ResourceRecord>;
  /** Throws `ERR_REQUEST_INVALID` (a bad field) or `ERR_NOT_FOUND` (no such resource). */
  createGrant(body: Record<string, unknown>): Promise<GrantRecord>;
  listGrants(): Promise<GrantRecord[]>;
  /** Throws `ERR_NOT_FOUND`. */
  deleteGrant(id: string): Promise<GrantRecord>;
}

const GRANT_ID = /^[0-9a-f-]{36}$/;

/**
 * {@link PolicyOperations} over the store; `changed` runs after every successful change (it
 * recomputes and pushes each connector's policy).
 *
 * @example
 * ```ts
 * const policy = createPolicyOperations(ctx, () => distributor.refresh());
 * ```
 */
export function createPolicyOperations(
  ctx: ControllerContext,
  changed: () => Promise<void>,
): PolicyOperations {
  const { policy } = ctx.store;
  const audit = (action: string, subject: string, details: Record<string, unknown>) =>
    ctx.audit.record({ action, outcome: 'success', actor: adminActorName(), subject, details });
  return {
    async createResource(body) {
      const request = validateResourceRequest(body);
      const created = await policy.createResource({ ...request, createdAt: ctx.clock().getTime() });
      if (created === undefined)
        throw new SigilError('ERR_RESOURCE_EXISTS', `a resource named "${request.name}" exists`, {
          details: { field: 'name', resource: request.name },
        });
      await audit('admin.resource_created', `resource:${created.name}`, {
        address: created.address,
        connector_id: created.connectorId,
      });
      await changed();
      return created;
    },
    listResources: () => policy.listResources(),
    async deleteResource(name) {
      const problem = resourceNameProblem(name);
      if (problem !== undefined)
        throw new SigilError('ERR_REQUEST_INVALID', problem, { details: { field: 'name' } });
      const deleted = await policy.deleteResource(name);
      if (deleted === undefined)
        throw new SigilError('ERR_NOT_FOUND', `no resource named "${name}"`, {
          details: { resource: name },
        });
      await audit('admin.resource_deleted', `resource:${name}`, {
        address: deleted.address,
        connector_id: deleted.connectorId,
      });
      await changed();
      return deleted;
    },
    async createGrant(body) {
      const request = validateGrantRequest(body);
      const created = await policy.createGrant({
        id: randomUUID(),
        resource: request.resource,
        tunnelerId: request.tunnelerId ?? null,
        label: request.label ?? null,
        createdAt: ctx.clock().getTime(),
      });
      if (created === undefined)
        throw new SigilError('ERR_NOT_FOUND', `no resource named "${request.resource}"`, {
          details: { field: 'resource', resource: request.resource },
        });
      await audit('admin.grant_created', `resource:${created.resource}`, grantDetails(created));
      await changed();
      return created;
    },
    listGrants: () => policy.listGrants(),
    async deleteGrant(id) {
      if (!GRANT_ID.test(id))
        throw new SigilError(
          'ERR_REQUEST_INVALID',
          'a grant id is the UUID GET /api/admin/grants shows as id',
          { details: { field: 'id' } },
        );
      const deleted = await policy.deleteGrant(id);
      if (deleted === undefined)
        throw new SigilError('ERR_NOT_FOUND', `no grant has id ${id}`, {
          details: { grantId: id },
        });
      await audit('admin.grant_deleted', `resource:${deleted.resource}`, grantDetails(deleted));
      await changed();
      return deleted;
    },
  };
}

function grantDetails(grant: GrantRecord): Record<string, unknown> {
  return {
    grant_id: grant.id,
    ...(grant.tunnelerId === null ? { label: grant.label } : { tunneler_id: grant.tunnelerId }),
  };
}
