import type { IncomingMessage } from 'node:http';
import { SigilError } from '@sigil/errors';
import type { AdminRoute } from './internal/admin-route';
import type { PolicyOperations } from './domain/resource-operations';
import type { GrantRecord, ResourceRecord } from './store/policy-store';

/** What the routes borrow from the admin API. */
export interface PolicyRouteHelpers {
  /** Reads a bounded JSON object body (400/413 otherwise). */
  readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>>;
}

const fields = (body: Record<string, unknown>, allowed: readonly string[]): void => {
  for (const key of Object.keys(body))
    if (!allowed.includes(key))
      throw new SigilError(
        'ERR_REQUEST_INVALID',
        `unknown field "${key}" (expected ${allowed.join(', ')})`,
        { details: { field: key } },
      );
};

/**
 * `/api/admin/resources` (POST, GET), `/api/admin/resources/{name}` (DELETE),
 * `/api/admin/grants` (POST, GET) and `/api/admin/grants/{id}` (DELETE), JSON in snake_case.
 *
 * @example
 * ```ts
 * const routes = [...coreRoutes, ...policyRoutes(policy, { readJsonObject })];
 * ```
 */
export function policyRoutes(policy: PolicyOperations, helpers: PolicyRouteHelpers): AdminRoute[] {
  return [
    {
      method: 'POST',
      url: '/resources',
      handler: async (req) => {
        const body = await helpers.readJsonObject(req);
        fields(body, ['name', 'address', 'connector_id']);
        return { status: 201, body: resourceJson(await policy.createResource(body)) };
      },
    },
    {
      method: 'GET',
      url: '/resources',
      handler: async () => ({
        status: 200,
        body: (await policy.listResources()).map(resourceJson),
      }),
    },
    {
      method: 'DELETE',
      url: '/resources/:name',
      handler: async (_req, _url, { name }) => ({
        status: 200,
        body: resourceJson(await policy.deleteResource(name!)),
      }),
    },
    {
      method: 'POST',
      url: '/grants',
      handler: async (req) => {
        const body = await helpers.readJsonObject(req);
        fields(body, ['resource', 'tunneler_id', 'label']);
        return { status: 201, body: grantJson(await policy.createGrant(body)) };
      },
    },
    {
      method: 'GET',
      url: '/grants',
      handler: async () => ({ status: 200, body: (await policy.listGrants()).map(grantJson) }),
    },
    {
      method: 'DELETE',
      url: '/grants/:id',
      handler: async (_req, _url, { id }) => ({
        status: 200,
        body: grantJson(await policy.deleteGrant(id!)),
      }),
    },
  ];
}

function resourceJson(r: ResourceRecord) {
  return {
    name: r.name,
    address: r.address,
    connector_id: r.connectorId,
    created_at: new Date(r.createdAt).toISOString(),
  };
}

function grantJson(g: GrantRecord) {
  return {
    id: g.id,
    resource: g.resource,
    ...(g.tunnelerId === null ? { label: g.label } : { tunneler_id: g.tunnelerId }),
    created_at: new Date(g.createdAt).toISOString(),
  };
}
