import type { IncomingMessage } from 'node:http';
import type { AdminRoute } from './admin-route';
import type { RegistrationEntryRecord } from '../store/store';
import type { WorkloadRegistry } from './workload-registry';
import { adminActorName } from './admin-actor';

/**
 * An entry as the admin API shows it (snake_case, ISO time).
 *
 * @example
 * ```ts
 * res.end(JSON.stringify(entryJson(entry)));
 * ```
 */
export function entryJson(e: RegistrationEntryRecord) {
  return {
    id: e.id,
    spiffe_id: e.spiffeId,
    parent_id: e.parentId,
    selectors: e.selectors,
    x509_ttl_seconds: e.x509TtlSeconds,
    jwt_ttl_seconds: e.jwtTtlSeconds,
    created_at: new Date(e.createdAt).toISOString(),
  };
}

/**
 * `POST /api/admin/entries` (201 with the entry), `GET /api/admin/entries`, and
 * `DELETE /api/admin/entries/{id}` (200 with the deleted entry; 404 when unknown), as admin API
 * routes. The admin API passes its body reader.
 *
 * @example
 * ```ts
 * routes.push(...entryRoutes(workloads, readJsonObject));
 * ```
 */
export function entryRoutes(
  workloads: WorkloadRegistry,
  readJsonObject: (req: IncomingMessage) => Promise<Record<string, unknown>>,
): AdminRoute[] {
  return [
    {
      method: 'POST',
      url: '/entries',
      handler: async (req) => ({
        status: 201,
        body: entryJson(await workloads.create(await readJsonObject(req), adminActorName())),
      }),
    },
    {
      method: 'GET',
      url: '/entries',
      handler: async () => ({ status: 200, body: (await workloads.list()).map(entryJson) }),
    },
    {
      method: 'DELETE',
      url: '/entries/:id',
      handler: async (_req, _url, { id }) => ({
        status: 200,
        body: entryJson(await workloads.remove(id!, adminActorName())),
      }),
    },
  ];
}
