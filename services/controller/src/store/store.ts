import type { AdminAuthStore } from './admin-auth-store';
import type { PolicyStore } from './policy-store';
import type { IssuedCertificateRecord, TrustStore } from './trust-store';
import type { ReplicaLink, ReplicaLinkEvents, ReplicaStore } from './replica-store';

/** The two kinds of agent the controller enrolls. */
export type AgentKind = 'connector' | 'tunneler';

/** A one-time enrollment token as stored: only its SHA-256 hash, never the token. */
export interface EnrollmentTokenRecord {
  /** Lower-case hex SHA-256 of the token. */
  tokenHash: string;
  kind: AgentKind;
  /** The connector or tunneler id the token was created for. */
  agentId: string;
  /** For tunneler tokens: the connector the tunneler belongs to. */
  connectorId: string | null;
  /** Unix milliseconds. */
  createdAt: number;
  expiresAt: number;
  /** When it was redeemed, or null while it is still redeemable. */
  usedAt: number | null;
  /** SHA-256 (hex) of the SPKI of the public key certified at redemption. */
  publicKeySha256: string | null;
  /** Serial (hex) of the certificate issued at redemption. */
  certificateSerial: string | null;
  /** The chain returned to the agent, kept so that a retry with the same key gets the same answer. */
  certificateChainPem: string | null;
  /** Unix milliseconds. */
  certificateNotAfter: number | null;
}

/** What {@link ControllerStore.createToken} stores. */
export interface NewEnrollmentToken {
  tokenHash: string;
  kind: AgentKind;
  agentId: string;
  connectorId?: string | null;
  createdAt: number;
  expiresAt: number;
  /** Tunneler tokens: labels stored with the tunneler at enrollment (grants may name them). */
  labels?: readonly string[];
}

/** One audit record: an enrollment, renewal, refusal or admin action. */
export interface AuditRecord {
  /** Increasing id (newest is largest). */
  id: number;
  /** Unix milliseconds. */
  at: number;
  /** Dotted event name, e.g. `enrollment.succeeded`, `enrollment.refused`, `admin.token_created`. */
  action: string;
  outcome: 'success' | 'refused';
  /** Who did it: a SPIFFE ID, `admin`, or `token:<hash prefix>` for an enrollment attempt. */
  actor: string;
  /** What it was done to: usually the agent's SPIFFE ID. */
  subject: string;
  /** Structured context (reason, serial, kind, ...). Never secrets. */
  details: Record<string, unknown>;
}

/** An audit record before the store assigns its id. */
export type NewAuditRecord = Omit<AuditRecord, 'id'>;

/** A redemption attempt: the token hash, who presents it, and the certificate already signed for it. */
export interface TokenRedemption {
  tokenHash: string;
  kind: AgentKind;
  agentId: string;
  /** Unix milliseconds; the token must expire after this. */
  now: number;
  publicKeySha256: string;
  certificateSerial: string;
  certificateChainPem: string;
  certificateNotAfter: number;
  /** Registry fields reported by the agent at enrollment. */
  privateIp: string;
  version: string;
  /** Written in the same transaction as the redemption, so an enrollment never lacks its record. */
  audit: NewAuditRecord;
}

/** Why a token could not be redeemed (for audit and metrics only: agents all get the same refusal). */
export type TokenRefusalReason =
  'token_unknown' | 'token_expired' | 'token_used' | 'token_mismatch';

/**
 * The result of {@link ControllerStore.redeemToken}:
 * `redeemed` — this call won the token; `retried` — the token was already redeemed for the SAME
 * public key (an agent retrying after a lost response) and the stored certificate is returned;
 * `refused` — anything else.
 */
export type RedemptionResult =
  | { outcome: 'redeemed'; token: EnrollmentTokenRecord }
  | { outcome: 'retried'; token: EnrollmentTokenRecord }
  | { outcome: 'refused'; reason: TokenRefusalReason };

/**
 * The certificates of one agent that the controller still honours: the latest it issued, and
 * for a short overlap the one that certificate replaced (a renewal whose response was lost may
 * be retried from it). Enrollment starts a new lineage; every older certificate is superseded.
 */
export interface CertificateLineage {
  kind: AgentKind;
  agentId: string;
  /** Lower-case hex serial of the latest certificate issued to the agent. */
  currentSerial: string;
  /** Unix milliseconds. */
  currentNotAfter: number;
  /** True once the agent presented the latest certificate (after that the previous one is dead). */
  currentPresented: boolean;
  /** The certificate the latest one replaced, honoured for renewal until `previousUntil`. */
  previousSerial: string | null;
  /** Unix milliseconds. */
  previousUntil: number | null;
  /** Unix milliseconds of the last change. */
  updatedAt: number;
}

/** An operator's revocation of an agent identity. */
export interface RevocationRecord {
  /** Increasing id. */
  id: number;
  kind: AgentKind;
  agentId: string;
  reason: string;
  /** Unix milliseconds. */
  revokedAt: number;
  /** Who revoked it (`admin`). */
  actor: string;
  /** When a later enrollment of the same agent lifted it (Unix milliseconds), or null while it holds. */
  liftedAt: number | null;
}

/** What {@link ControllerStore.revokeAgent} stores. */
export type NewRevocation = Omit<RevocationRecord, 'id' | 'liftedAt'> & {
  /** Written in the same transaction. */
  audit: NewAuditRecord;
};

/** A connector in the registry. */
export interface ConnectorRecord {
  id: string;
  privateIp: string;
  version: string;
  /** Unix milliseconds of the last heartbeat (or enrollment), null if never seen. */
  lastSeen: number | null;
  enrolledAt: number;
}

/** A tunneler in the registry. */
export interface TunnelerRecord {
  id: string;
  connectorId: string;
  version: string;
  lastSeen: number | null;
  enrolledAt: number;
}

/** A batch of heartbeat timestamps to persist (the registry flushes them periodically). */
export interface ActivityBatch {
  connectors: Array<{ id: string; lastSeen: number; version: string; privateIp: string }>;
  tunnelers: Array<{ id: string; lastSeen: number; version: string }>;
}

/** Filters for {@link ControllerStore.listAudit}. */
export interface AuditQuery {
  /** At most this many records, newest first. */
  limit: number;
  /** Only records with an id below this (for paging). */
  beforeId?: number;
  /** Only this action. */
  action?: string;
}

/**
 * The controller's durable state behind one async interface, implemented by the embedded SQLite
 * store ({@link createSqliteStore}) and PostgreSQL ({@link createPostgresStore}). Every write is
 * durable when its promise resolves.
 */
export interface ControllerStore extends TrustStore, ReplicaStore {
  /** `sqlite` or `postgres`. */
  readonly dialect: 'sqlite' | 'postgres';
  /** Where the data lives, safe to log (file path, or URL with the password redacted). */
  readonly location: string;
  /** Applies pending numbered migrations, each in its own transaction. Returns the versions applied now. */
  migrate(): Promise<number[]>;
  /** The highest applied migration version (0 before any). */
  schemaVersion(): Promise<number>;
  getSetting(key: string): Promise<string | undefined>;
  setSetting(key: string, value: string): Promise<void>;
  /** Stores a token; with `audit`, its record is appended in the same transaction. */
  createToken(token: NewEnrollmentToken, audit?: NewAuditRecord): Promise<void>;
  findToken(tokenHash: string): Promise<EnrollmentTokenRecord | undefined>;
  /**
   * Redeems a token atomically (one conditional UPDATE: unused, unexpired, same kind and id), and
   * in the same transaction registers the agent, starts its certificate lineage (superseding
   * every earlier certificate), lifts its revocations and appends the audit record.
   */
  redeemToken(redemption: TokenRedemption): Promise<RedemptionResult>;
  /** True when `id` is an enrolled connector or has an unexpired connector token. */
  isConnectorKnown(id: string, now: number): Promise<boolean>;
  /** The agent's certificate lineage, or undefined before its first enrollment under schema 2. */
  getLineage(kind: AgentKind, agentId: string): Promise<CertificateLineage | undefined>;
  /**
   * Replaces the agent's lineage only if its latest serial is still `expectedCurrentSerial`
   * (a compare-and-set, so two racing renewals cannot both win). Undefined `expectedCurrentSerial`
   * means "only if the agent has no lineage yet". True when written. With `audit`, the record is
   * appended in the same transaction (only when the lineage is written), so a renewal never
   * lacks its record; with `issued`, so is the certificate's generation record (what
   * recordIssuedCertificate writes), in the same commit.
   */
  replaceLineage(
    next: CertificateLineage,
    expectedCurrentSerial: string | undefined,
    audit?: NewAuditRecord,
    issued?: IssuedCertificateRecord,
  ): Promise<boolean>;
  /** Marks the latest certificate as presented (no-op when `serial` is no longer the latest). */
  markPresented(kind: AgentKind, agentId: string, serial: string): Promise<void>;
  /** Stores a revocation and its audit record in one transaction. */
  revokeAgent(revocation: NewRevocation): Promise<RevocationRecord>;
  /** Every revocation in force (not lifted by a later enrollment), oldest first. */
  activeRevocations(): Promise<RevocationRecord[]>;
  /** Every revocation, lifted ones too, newest first. */
  listRevocations(limit: number): Promise<RevocationRecord[]>;
  /** Unused, unexpired tokens, soonest expiry first. */
  listPendingTokens(now: number): Promise<EnrollmentTokenRecord[]>;
  /**
   * Deletes the unused token whose hash starts with `fingerprint` (see tokenFingerprint); returns
   * it, or undefined. With `audit`, the record it builds from the deleted token is appended in the
   * same transaction (nothing is deleted when that fails).
   */
  cancelToken(
    fingerprint: string,
    audit?: (cancelled: EnrollmentTokenRecord) => NewAuditRecord,
  ): Promise<EnrollmentTokenRecord | undefined>;
  listConnectors(): Promise<ConnectorRecord[]>;
  listTunnelers(): Promise<TunnelerRecord[]>;
  /** Persists heartbeat timestamps (never moving last_seen backwards). */
  recordActivity(batch: ActivityBatch): Promise<void>;
  appendAudit(record: NewAuditRecord): Promise<AuditRecord>;
  listAudit(query: AuditQuery): Promise<AuditRecord[]>;
  /** Deletes audit records older than `before` (Unix ms); resolves to how many were deleted. */
  pruneAudit(before: number): Promise<number>;
  /** Closes the database (and for PostgreSQL the pool). */
  close(): Promise<void>;
  /**
   * PostgreSQL only (SQLite serves one replica): a dedicated connection of this replica for
   * change notifications and leadership; the caller ticks it and closes it.
   */
  replicaLink?(events: ReplicaLinkEvents): ReplicaLink;
  /** Data-plane resources, grants and tunneler labels (schema version 4). */
  readonly policy: PolicyStore;
  /** Stores a registration entry; false when an equal one (same SPIFFE ID, parent, selectors) exists. */
  createEntry(entry: RegistrationEntryRecord): Promise<boolean>;
  /** Every registration entry, oldest first. */
  listEntries(): Promise<RegistrationEntryRecord[]>;
  /** Deletes the entry; returns it, or undefined when there is none with that id. */
  deleteEntry(id: string): Promise<RegistrationEntryRecord | undefined>;
  /** Admin users, sessions and API tokens (schema version 6). */
  readonly adminAuth: AdminAuthStore;
}

/**
 * A workload registration entry (POST /api/admin/entries): the SPIFFE ID handed out by the agent
 * `parentId` to the workloads that have every selector.
 *
 * @example
 * ```ts
 * const entry: RegistrationEntryRecord = { id, spiffeId: 'spiffe://example.org/billing', parentId: 'spiffe://example.org/connector/edge-1', selectors: ['unix:uid:1000'], x509TtlSeconds: 3600, jwtTtlSeconds: 300, createdAt: Date.now() };
 * ```
 */
export interface RegistrationEntryRecord {
  id: string;
  spiffeId: string;
  parentId: string;
  /** Sorted, unique. */
  selectors: string[];
  x509TtlSeconds: number;
  jwtTtlSeconds: number;
  /** Unix milliseconds. */
  createdAt: number;
}

/** Chooses the refusal reason for a token row that did not redeem. */
export function refusalReasonOf(
  token: EnrollmentTokenRecord | undefined,
  redemption: Pick<TokenRedemption, 'kind' | 'agentId' | 'now'>,
): TokenRefusalReason {
  if (token === undefined) return 'token_unknown';
  if (token.kind !== redemption.kind || token.agentId !== redemption.agentId)
    return 'token_mismatch';
  if (token.usedAt !== null) return 'token_used';
  return 'token_expired';
}

/** Decides the outcome for a token that the conditional UPDATE did not redeem. */
export function outcomeOfLostRedemption(
  token: EnrollmentTokenRecord | undefined,
  redemption: TokenRedemption,
): RedemptionResult {
  if (
    token !== undefined &&
    token.usedAt !== null &&
    token.kind === redemption.kind &&
    token.agentId === redemption.agentId &&
    token.publicKeySha256 === redemption.publicKeySha256 &&
    token.certificateNotAfter !== null &&
    token.certificateNotAfter > redemption.now
  ) {
    return { outcome: 'retried', token };
  }
  return { outcome: 'refused', reason: refusalReasonOf(token, redemption) };
}
