// The runtime CA endpoints of the admin API: /api/admin/ca and its three steps. Translation only:
// the decisions are in domain/trust-lifecycle.ts, the steps in domain/ca-operations.ts.
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { SigilError } from '@sigil/errors';
import { readJsonObject } from './admin-api';
import type { AdminRoute } from './admin-api';
import type { CaOperations, CaStatus, GenerationStatus } from './domain/ca-operations';
import { caRotationDueAt } from './domain/trust-lifecycle';
import type { ActivationCheck, AgentBundleReport, TrustState } from './domain/trust-lifecycle';
import type { GenerationSource } from './internal/trust-state';

const invalid = (field: string, reason: string): SigilError =>
  new SigilError('ERR_REQUEST_INVALID', reason, { details: { field } });

/** A body is optional on the CA steps: none means `{}`. */
async function optionalBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const length = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if (!chunked && (length === undefined || length === '0')) return {};
  return readJsonObject(req);
}

function onlyFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(body))
    if (!allowed.includes(key))
      throw invalid(key, `unknown field "${key}" (expected ${allowed.join(', ') || 'none'})`);
}

function readPemFile(body: Record<string, unknown>, field: string): string {
  const path = body[field];
  if (typeof path !== 'string' || path === '')
    throw invalid(
      `upstream.${field}`,
      `upstream.${field} must be a file path on the controller host`,
    );
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new SigilError(
      'ERR_REQUEST_INVALID',
      `upstream.${field}: cannot read ${path}: ${(cause as Error).message}`,
      { cause, details: { field: `upstream.${field}`, file: path } },
    );
  }
}

/** The generation `POST /api/admin/ca/prepare` asks for. */
function sourceOf(body: Record<string, unknown>): GenerationSource {
  onlyFields(body, ['ttl_seconds', 'upstream']);
  const upstream = body.upstream;
  if (upstream === undefined) {
    const ttl = body.ttl_seconds;
    if (ttl !== undefined && (!Number.isInteger(ttl) || (ttl as number) < 3600))
      throw invalid('ttl_seconds', 'ttl_seconds must be an integer of at least 3600');
    return { kind: 'self-signed', ...(ttl === undefined ? {} : { ttlSeconds: ttl as number }) };
  }
  if (upstream === null || typeof upstream !== 'object' || Array.isArray(upstream))
    throw invalid('upstream', 'upstream must be an object of file paths');
  const files = upstream as Record<string, unknown>;
  onlyFields(files, [
    'root_certificate_file',
    'intermediate_certificate_file',
    'intermediate_key_file',
    'root_key_file',
  ]);
  const rootPem = readPemFile(files, 'root_certificate_file');
  if (files.root_key_file !== undefined)
    return { kind: 'upstream-root-key', rootPem, rootKeyPem: readPemFile(files, 'root_key_file') };
  return {
    kind: 'upstream',
    rootPem,
    certificatePem: readPemFile(files, 'intermediate_certificate_file'),
    privateKeyPem: readPemFile(files, 'intermediate_key_file'),
  };
}

function generationJson(g: GenerationStatus) {
  return {
    role: g.role,
    generation: g.generation.id,
    fingerprint: g.generation.fingerprint,
    not_after: new Date(g.generation.notAfter).toISOString(),
    created_at: new Date(g.generation.createdAt).toISOString(),
    activated_at:
      g.generation.activatedAt === null ? null : new Date(g.generation.activatedAt).toISOString(),
    bundle_version: g.generation.bundleVersion,
    upstream: g.generation.certificatePem.trim() !== g.generation.rootPem.trim(),
    live_certificates: g.liveCertificates,
  };
}

const agentJson = (r: AgentBundleReport) => ({
  kind: r.kind,
  id: r.agentId,
  online: r.online,
  bundle_version: r.bundleVersion,
});

function activationJson(check: ActivationCheck) {
  return {
    allowed: check.allowed,
    basis: check.basis,
    grace_period_ends_at: new Date(check.graceEndsAt).toISOString(),
    acknowledged: check.acknowledged.map(agentJson),
    pending: check.pending.map(agentJson),
    offline: check.offline.map(agentJson),
  };
}

function stateJson(state: TrustState) {
  return {
    bundle_version: state.bundleVersion,
    revision: state.revision,
    next: state.next?.id ?? null,
    current: state.current.id,
    previous: state.previous?.id ?? null,
  };
}

/** Options of {@link createCaRoutes}. */
export interface CaRoutesOptions {
  /** With `CA_AUTO_ROTATE`: `CA_ROTATE_AT`, the fraction of its lifetime after which the current CA's successor is prepared. */
  autoRotateAtFraction?: number;
}

function statusJson(status: CaStatus, options: CaRoutesOptions) {
  const current = status.generations.find((g) => g.role === 'current')?.generation;
  const prepared = status.generations.some((g) => g.role === 'next');
  const fraction = options.autoRotateAtFraction;
  return {
    bundle_version: status.bundleVersion,
    revision: status.revision,
    activation_grace_seconds: status.graceSeconds,
    generations: status.generations.map(generationJson),
    activation: status.activation === null ? null : activationJson(status.activation),
    auto_rotation: fraction !== undefined,
    // When automatic rotation prepares the current CA's successor (once, until it is prepared).
    next_rotation_at:
      fraction === undefined || current === undefined || prepared
        ? null
        : new Date(caRotationDueAt(current, fraction)).toISOString(),
  };
}

/**
 * `GET /api/admin/ca`, `POST /api/admin/ca/prepare`, `POST /api/admin/ca/activate` and
 * `POST /api/admin/ca/retire`, for `createAdminHandler({ routes })`.
 *
 * @example
 * ```ts
 * createAdminHandler({ ...deps, routes: createCaRoutes(ca, { autoRotateAtFraction: 0.5 }) });
 * ```
 */
export function createCaRoutes(ca: CaOperations, options: CaRoutesOptions = {}): AdminRoute[] {
  return [
    {
      pattern: /^ca$/,
      methods: {
        GET: async () => ({ status: 200, body: statusJson(await ca.status(), options) }),
      },
    },
    {
      pattern: /^ca\/prepare$/,
      methods: {
        POST: async (req) => {
          const state = await ca.prepare(sourceOf(await optionalBody(req)));
          return { status: 200, body: stateJson(state) };
        },
      },
    },
    {
      pattern: /^ca\/activate$/,
      methods: {
        POST: async (req) => {
          onlyFields(await optionalBody(req), []);
          const { state, check } = await ca.activate();
          return {
            status: 200,
            body: { ...stateJson(state), activation: activationJson(check) },
          };
        },
      },
    },
    {
      pattern: /^ca\/retire$/,
      methods: {
        POST: async (req) => {
          const body = await optionalBody(req);
          onlyFields(body, ['force', 'wait_seconds']);
          if (body.force !== undefined && typeof body.force !== 'boolean')
            throw invalid('force', 'force must be true or false');
          const wait = body.wait_seconds;
          if (
            wait !== undefined &&
            (!Number.isInteger(wait) || (wait as number) < 0 || (wait as number) > 600)
          )
            throw invalid('wait_seconds', 'wait_seconds must be an integer from 0 to 600');
          const result = await ca.retire({
            force: body.force === true,
            ...(wait === undefined ? {} : { waitSeconds: wait as number }),
          });
          return {
            status: 200,
            body: {
              ...stateJson(result.state),
              forced: result.forced,
              told_to_renew: result.toldToRenew,
              still_stranded: result.stillStranded,
            },
          };
        },
      },
    },
  ];
}
