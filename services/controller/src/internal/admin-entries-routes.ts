import type { IncomingMessage } from 'node:http';
import type { RegistrationEntryRecord } from '../store/store';
import type { WorkloadRegistry } from './workload-registry';
import { adminActorName } from './admin-actor';

/** The shape of an admin API route (see admin-api.ts). */
interface EntryRoute {
  pattern: RegExp;
  methods: Record<
    string,
    (req: IncomingMessage, url: URL, params: string[]) => Promise<{ status: number; body: unknown }>
  >;
}

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
 * routes. The admin API passes its body reader and path decoding.
 *
 * @example
 * ```ts
 * routes.push(...entryRoutes(workloads, readJsonObject, decodePathSegment));
 * ```
 */
export function entryRoutes(
  workloads: WorkloadRegistry,
  readJsonObject: (req: IncomingMessage) => Promise<Record<string, unknown>>,
  decodePathSegment: (segment: string) => string,
): EntryRoute[] {
  return [
    {
      pattern: /^entries$/,
      methods: {
        POST: async (req) => ({
          status: 201,
          body: entryJson(await workloads.create(await readJsonObject(req), adminActorName())),
        }),
        GET: async () => ({ status: 200, body: (await workloads.list()).map(entryJson) }),
      },
    },
    {
      pattern: /^entries\/([^/]+)$/,
      methods: {
        DELETE: async (_req, _url, [id]) => ({
          status: 200,
          body: entryJson(await workloads.remove(decodePathSegment(id!), adminActorName())),
        }),
      },
    },
  ];
}
