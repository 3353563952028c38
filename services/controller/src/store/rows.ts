import type {
  AgentKind,
  AuditRecord,
  CertificateLineage,
  ConnectorRecord,
  EnrollmentTokenRecord,
  RevocationRecord,
  TunnelerRecord,
} from './store';

// Row mappers shared by both dialects. PostgreSQL returns BIGINT columns as strings, SQLite as
// numbers; Number() makes both the same.

type Row = Record<string, unknown>;

function num(value: unknown): number {
  return Number(value);
}

function numOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function strOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

/** Columns of enrollment_tokens, in the order the mappers expect. */
export const TOKEN_COLUMNS =
  'token_hash, kind, agent_id, connector_id, created_at, expires_at, used_at, public_key_sha256, certificate_serial, certificate_chain_pem, certificate_not_after';

export function tokenFromRow(row: Row): EnrollmentTokenRecord {
  return {
    tokenHash: String(row.token_hash),
    kind: row.kind as AgentKind,
    agentId: String(row.agent_id),
    connectorId: strOrNull(row.connector_id),
    createdAt: num(row.created_at),
    expiresAt: num(row.expires_at),
    usedAt: numOrNull(row.used_at),
    publicKeySha256: strOrNull(row.public_key_sha256),
    certificateSerial: strOrNull(row.certificate_serial),
    certificateChainPem: strOrNull(row.certificate_chain_pem),
    certificateNotAfter: numOrNull(row.certificate_not_after),
  };
}

export function connectorFromRow(row: Row): ConnectorRecord {
  return {
    id: String(row.id),
    privateIp: String(row.private_ip),
    version: String(row.version),
    lastSeen: numOrNull(row.last_seen),
    enrolledAt: num(row.enrolled_at),
  };
}

export function tunnelerFromRow(row: Row): TunnelerRecord {
  return {
    id: String(row.id),
    connectorId: String(row.connector_id),
    version: String(row.version),
    lastSeen: numOrNull(row.last_seen),
    enrolledAt: num(row.enrolled_at),
  };
}

export function auditFromRow(row: Row): AuditRecord {
  return {
    id: num(row.id),
    at: num(row.at),
    action: String(row.action),
    outcome: row.outcome as AuditRecord['outcome'],
    actor: String(row.actor),
    subject: String(row.subject),
    details: JSON.parse(String(row.details)) as Record<string, unknown>,
  };
}

/** Columns of agent_certificates, in the order {@link lineageParams} gives them. */
export const LINEAGE_COLUMNS =
  'kind, agent_id, current_serial, current_not_after, current_presented, previous_serial, previous_until, updated_at';

/**
 * An agent_certificates row as a {@link CertificateLineage}.
 *
 * @example
 * ```ts
 * const lineage = row === undefined ? undefined : lineageFromRow(row);
 * ```
 */
export function lineageFromRow(row: Row): CertificateLineage {
  return {
    kind: row.kind as AgentKind,
    agentId: String(row.agent_id),
    currentSerial: String(row.current_serial),
    currentNotAfter: num(row.current_not_after),
    currentPresented: num(row.current_presented) !== 0,
    previousSerial: strOrNull(row.previous_serial),
    previousUntil: numOrNull(row.previous_until),
    updatedAt: num(row.updated_at),
  };
}

/**
 * A lineage as positional SQL parameters, in {@link LINEAGE_COLUMNS} order.
 *
 * @example
 * ```ts
 * db.prepare(`INSERT INTO agent_certificates (${LINEAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(...lineageParams(next));
 * ```
 */
export function lineageParams(l: CertificateLineage): Array<string | number | null> {
  return [
    l.kind,
    l.agentId,
    l.currentSerial,
    l.currentNotAfter,
    l.currentPresented ? 1 : 0,
    l.previousSerial,
    l.previousUntil,
    l.updatedAt,
  ];
}

/**
 * A revocations row as a {@link RevocationRecord}.
 *
 * @example
 * ```ts
 * const active = rows.map(revocationFromRow);
 * ```
 */
export function revocationFromRow(row: Row): RevocationRecord {
  return {
    id: num(row.id),
    kind: row.kind as AgentKind,
    agentId: String(row.agent_id),
    reason: String(row.reason),
    revokedAt: num(row.revoked_at),
    actor: String(row.actor),
    liftedAt: numOrNull(row.lifted_at),
  };
}
