import type { IncomingMessage } from 'node:http';
import { SigilError } from '@sigil/errors';
import type { PolicyOperations } from './domain/resource-operations';
import type { GrantRecord, ResourceRecord } from './store/policy-store';

/** One admin API route, in the shape admin-api.ts serves. */
export interface PolicyRoute {
  pattern: RegExp;
  methods: Record<
    string,
    (req: IncomingMessage, url: URL, params: string[]) => Promise<{ status: number; body: unknown }>
  >;
}

/** What the routes borrow from the admin API. */
export interface PolicyRouteHelpers {
  /** Reads a bounded JSON object body (400/413 otherwise). */
  readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>>;
  /** Decodes one path segment (400 on bad percent-encoding). */
  decodePathSegment(segment: string): string;
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
 * const routes = [...coreRoutes, ...policyRoutes(policy, { readJsonObject, decodePathSegment })];
 * ```
 */
export function policyRoutes(policy: PolicyOperations, helpers: PolicyRouteHelpers): PolicyRoute[] {
  return [
    {
      pattern: /^resources$/,
      methods: {
        POST: async (req) => {
          const body = await helpers.readJsonObject(req);
          fields(body, ['name', 'address', 'connector_id']);
          return { status: 201, body: resourceJson(await policy.createResource(body)) };
        },
        GET: async () => ({ status: 200, body: (await policy.listResources()).map(resourceJson) }),
      },
    },
    {
      pattern: /^resources\/([^/]+)$/,
      methods: {
        DELETE: async (_req, _url, [name]) => ({
          status: 200,
          body: resourceJson(await policy.deleteResource(helpers.decodePathSegment(name!))),
        }),
      },
    },
    {
      pattern: /^grants$/,
      methods: {
        POST: async (req) => {
          const body = await helpers.readJsonObject(req);
          fields(body, ['resource', 'tunneler_id', 'label']);
          return { status: 201, body: grantJson(await policy.createGrant(body)) };
        },
        GET: async () => ({ status: 200, body: (await policy.listGrants()).map(grantJson) }),
      },
    },
    {
      pattern: /^grants\/([^/]+)$/,
      methods: {
        DELETE: async (_req, _url, [id]) => ({
          status: 200,
          body: grantJson(await policy.deleteGrant(helpers.decodePathSegment(id!))),
        }),
      },
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
