// Registration entries: what a valid entry is, and whether an agent may hand one out. Pure.
import { SigilError } from '@sigil/errors';
import { parseSpiffeId } from '@sigil/pki';
import type { RegistrationEntryRecord } from '../store/store';

/** Bounds of an entry (seconds; at most 64 selectors of at most 512 characters). */
export const ENTRY_LIMITS = {
  minTtlSeconds: 10,
  maxX509TtlSeconds: 30 * 24 * 3600,
  maxJwtTtlSeconds: 24 * 3600,
  defaultX509TtlSeconds: 3600,
  defaultJwtTtlSeconds: 300,
  maxSelectors: 64,
  maxSelectorLength: 512,
} as const;

/** The selector types an agent attests (docs/workload-api.md). */
const SELECTOR =
  /^(unix:(uid|gid):\d{1,10}|unix:(user|group):[^\s:][^\s]*|unix:path:\/\S*|k8s:pod-uid:[0-9a-f-]{36})$/;

const invalid = (field: string, message: string): SigilError =>
  new SigilError('ERR_REQUEST_INVALID', message, { details: { field } });

function ttl(value: unknown, field: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < ENTRY_LIMITS.minTtlSeconds ||
    value > max
  )
    throw invalid(
      field,
      `${field} must be a whole number of seconds from ${ENTRY_LIMITS.minTtlSeconds} to ${max}`,
    );
  return value;
}

function spiffeIdIn(value: unknown, field: string, trustDomain: string): string {
  if (typeof value !== 'string' || value === '')
    throw invalid(
      field,
      `${field} is required: a SPIFFE ID such as spiffe://${trustDomain}/billing`,
    );
  let id;
  try {
    id = parseSpiffeId(value);
  } catch (err) {
    throw invalid(field, `${field}: ${(err as Error).message}`);
  }
  if (id.trustDomain !== trustDomain)
    throw invalid(field, `${field} ${value} is not in trust domain ${trustDomain}`);
  if (id.path === '') throw invalid(field, `${field} ${value} has no path`);
  return String(id);
}

/**
 * The entry an admin request body describes (`{spiffe_id, parent_id, selectors,
 * x509_ttl_seconds, jwt_ttl_seconds}`), or one `ERR_REQUEST_INVALID` naming the field: both IDs
 * in the trust domain, `parent_id` a connector (the agents that serve the Workload API), the
 * `spiffe_id` not an agent's or the controller's own, one to 64 known selectors, lifetimes in
 * range (defaults 3600 s and 300 s).
 *
 * @example
 * ```ts
 * const entry = entryFromRequest(body, 'example.org', { id: randomUUID(), now: Date.now() });
 * ```
 */
export function entryFromRequest(
  body: Record<string, unknown>,
  trustDomain: string,
  made: { id: string; now: number },
): RegistrationEntryRecord {
  const spiffeId = spiffeIdIn(body.spiffe_id, 'spiffe_id', trustDomain);
  const parentId = spiffeIdIn(body.parent_id, 'parent_id', trustDomain);
  const [parentKind] = parseSpiffeId(parentId).segments;
  const [kind] = parseSpiffeId(spiffeId).segments;
  if (parentKind !== 'connector' || parseSpiffeId(parentId).segments.length !== 2)
    throw invalid(
      'parent_id',
      `parent_id ${parentId} must be a connector: spiffe://${trustDomain}/connector/<id> (connectors serve the Workload API)`,
    );
  if (kind === 'connector' || kind === 'tunneler' || kind === 'controller')
    throw invalid(
      'spiffe_id',
      `spiffe_id ${spiffeId} is under /${kind}/, which is reserved for the control plane's own identities`,
    );
  const raw = body.selectors;
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > ENTRY_LIMITS.maxSelectors)
    throw invalid(
      'selectors',
      `selectors must be a list of 1 to ${ENTRY_LIMITS.maxSelectors} selectors such as "unix:uid:1000"`,
    );
  for (const selector of raw)
    if (
      typeof selector !== 'string' ||
      selector.length > ENTRY_LIMITS.maxSelectorLength ||
      !SELECTOR.test(selector)
    )
      throw invalid(
        'selectors',
        `selector ${JSON.stringify(String(selector).slice(0, 100))} is not one of unix:uid:<n>, unix:gid:<n>, unix:user:<name>, unix:group:<name>, unix:path:<absolute path>, k8s:pod-uid:<uid>`,
      );
  return {
    id: made.id,
    spiffeId,
    parentId,
    selectors: [...new Set(raw as string[])].sort(),
    x509TtlSeconds: ttl(
      body.x509_ttl_seconds,
      'x509_ttl_seconds',
      ENTRY_LIMITS.defaultX509TtlSeconds,
      ENTRY_LIMITS.maxX509TtlSeconds,
    ),
    jwtTtlSeconds: ttl(
      body.jwt_ttl_seconds,
      'jwt_ttl_seconds',
      ENTRY_LIMITS.defaultJwtTtlSeconds,
      ENTRY_LIMITS.maxJwtTtlSeconds,
    ),
    createdAt: made.now,
  };
}

/**
 * Whether the agent `callerSpiffeId` may obtain an SVID for `entry`: only when the entry names it
 * as parent. The refusal is `ERR_WORKLOAD_NOT_ENTITLED` (PERMISSION_DENIED), so a compromised
 * agent can mint only its own entries' identities.
 *
 * @example
 * ```ts
 * const entry = authorizeEntryIssuance(await findEntry(id), peer.spiffeId, id);
 * ```
 */
export function authorizeEntryIssuance(
  entry: RegistrationEntryRecord | undefined,
  callerSpiffeId: string,
  entryId: string,
): RegistrationEntryRecord {
  if (entry === undefined || entry.parentId !== callerSpiffeId)
    throw new SigilError(
      'ERR_WORKLOAD_NOT_ENTITLED',
      `${callerSpiffeId} is not the parent of registration entry ${entryId.slice(0, 100)}: an agent may obtain only the identities of its own entries`,
      { details: { entryId: entryId.slice(0, 100), spiffeId: callerSpiffeId } },
    );
  return entry;
}

/**
 * The audiences of a JWT-SVID request: 1 to 16 non-empty strings of at most 256 characters.
 *
 * @example
 * ```ts
 * const audience = checkAudience(request.audience);
 * ```
 */
export function checkAudience(audience: readonly string[]): string[] {
  if (
    audience.length === 0 ||
    audience.length > 16 ||
    audience.some((a) => a === '' || a.length > 256)
  )
    throw invalid(
      'audience',
      'audience must be 1 to 16 non-empty strings of at most 256 characters',
    );
  return [...audience];
}
