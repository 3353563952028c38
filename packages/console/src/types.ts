// The admin API's answers as the console reads them (docs/admin-api.md, docs/console.md).

/** An agent's status as the controller reports it. */
export type AgentStatus = 'ONLINE' | 'OFFLINE' | 'REVOKED';

/** A row of `GET /api/admin/connectors` or `GET /api/admin/tunnelers`. */
export interface Agent {
  id: string;
  status: AgentStatus;
  version: string | null;
  last_seen: string | null;
  upgrade_required: boolean;
  /** Connectors. */
  private_ip?: string | null;
  connected?: boolean;
  /** Tunnelers: the connector they belong to. */
  connector_id?: string;
  clock_skew_ms?: number | null;
  /** When the agent's latest unexpired certificate expires; null when none is live. */
  certificate_expires_at?: string | null;
}

/** A record of `GET /api/admin/audit`. */
export interface AuditRecord {
  id: number;
  at: string;
  action: string;
  outcome: string;
  actor: string;
  subject: string | null;
  details?: Record<string, unknown> | null;
}

/** A row of `GET /api/admin/tokens`. */
export interface PendingToken {
  token_id: string;
  kind: 'connector' | 'tunneler';
  id: string;
  connector_id?: string;
  created_at: string;
  expires_at: string;
}

/** `POST /api/admin/tokens` answer. */
export interface CreatedToken {
  token: string;
  expires_at: string;
  kind: 'connector' | 'tunneler';
  id: string;
  spiffe_id: string;
  /** Tunnelers: the connector named in the request (the console keeps it from its form). */
  connector_id?: string;
}

/** `GET /api/admin/summary`. */
export interface Summary {
  latest_activity: AuditRecord[];
  /** `host:port` the controller's gRPC port listens on. */
  grpc_listen_addr?: string | null;
}

/** One generation of `GET /api/admin/ca`. */
export interface CaGeneration {
  role: 'next' | 'current' | 'previous';
  generation: number;
  fingerprint: string;
  not_after: string;
  created_at: string;
  activated_at: string | null;
  bundle_version: number;
  upstream: boolean;
  live_certificates: { connector: number; tunneler: number };
}

/** An agent in the activation check of `GET /api/admin/ca`. */
export interface CaAgentAck {
  kind: string;
  id: string;
  online: boolean;
  bundle_version: number | null;
}

/** `GET /api/admin/ca`. */
export interface CaStatus {
  bundle_version: number;
  revision: number;
  activation_grace_seconds: number | null;
  generations: CaGeneration[];
  activation?: {
    allowed: boolean;
    basis: string;
    grace_period_ends_at: string | null;
    acknowledged: CaAgentAck[];
    pending: CaAgentAck[];
    offline: CaAgentAck[];
  } | null;
  /** `CA_AUTO_ROTATE` is on. */
  auto_rotation?: boolean;
  /** When automatic rotation prepares the current CA's successor (null once one is prepared). */
  next_rotation_at?: string | null;
}

/** `GET /api/admin/session`. */
export interface Session {
  user: string;
  role: 'viewer' | 'admin';
  via?: string;
  csrf_token?: string;
}

/** A row of `GET /api/admin/users`. */
export interface AdminUser {
  name: string;
  role: 'viewer' | 'admin';
  created_at: string;
  updated_at: string;
}

/** A row of `GET /api/admin/api-tokens`. */
export interface ApiToken {
  id: string;
  name: string;
  user: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** A row of `GET /api/admin/entries`. */
export interface Entry {
  id: string;
  spiffe_id: string;
  parent_id: string;
  selectors: string[];
  x509_ttl_seconds: number;
  jwt_ttl_seconds: number;
  created_at: string;
}

/** A row of `GET /api/admin/resources`. */
export interface Resource {
  name: string;
  address: string;
  connector_id: string;
  created_at: string;
}

/** A row of `GET /api/admin/grants`. */
export interface Grant {
  id: string;
  resource: string;
  tunneler_id?: string;
  label?: string;
  created_at: string;
}
