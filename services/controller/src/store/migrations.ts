/** One numbered schema migration, with its SQL for each dialect. */
export interface Migration {
  version: number;
  name: string;
  sqlite: string;
  postgres: string;
}

/** The table both stores use to record applied migrations. */
export const MIGRATIONS_TABLE = 'schema_migrations';

/**
 * Every migration, in order. Append only: never edit an applied migration, add the next number.
 * Timestamps are Unix milliseconds in 64-bit integers in both dialects.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema: settings, enrollment tokens, registry, audit log',
    sqlite: `
      CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE enrollment_tokens (
        token_hash TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('connector', 'tunneler')),
        agent_id TEXT NOT NULL,
        connector_id TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER,
        public_key_sha256 TEXT,
        certificate_serial TEXT,
        certificate_chain_pem TEXT,
        certificate_not_after INTEGER
      );
      CREATE INDEX enrollment_tokens_agent ON enrollment_tokens (kind, agent_id);
      CREATE TABLE connectors (
        id TEXT PRIMARY KEY,
        private_ip TEXT NOT NULL DEFAULT '',
        version TEXT NOT NULL DEFAULT '',
        last_seen INTEGER,
        enrolled_at INTEGER NOT NULL
      );
      CREATE TABLE tunnelers (
        id TEXT PRIMARY KEY,
        connector_id TEXT NOT NULL,
        version TEXT NOT NULL DEFAULT '',
        last_seen INTEGER,
        enrolled_at INTEGER NOT NULL
      );
      CREATE INDEX tunnelers_connector ON tunnelers (connector_id);
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        action TEXT NOT NULL,
        outcome TEXT NOT NULL,
        actor TEXT NOT NULL,
        subject TEXT NOT NULL,
        details TEXT NOT NULL
      );
      CREATE INDEX audit_log_action ON audit_log (action, id);
    `,
    postgres: `
      CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE enrollment_tokens (
        token_hash TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('connector', 'tunneler')),
        agent_id TEXT NOT NULL,
        connector_id TEXT,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT,
        public_key_sha256 TEXT,
        certificate_serial TEXT,
        certificate_chain_pem TEXT,
        certificate_not_after BIGINT
      );
      CREATE INDEX enrollment_tokens_agent ON enrollment_tokens (kind, agent_id);
      CREATE TABLE connectors (
        id TEXT PRIMARY KEY,
        private_ip TEXT NOT NULL DEFAULT '',
        version TEXT NOT NULL DEFAULT '',
        last_seen BIGINT,
        enrolled_at BIGINT NOT NULL
      );
      CREATE TABLE tunnelers (
        id TEXT PRIMARY KEY,
        connector_id TEXT NOT NULL,
        version TEXT NOT NULL DEFAULT '',
        last_seen BIGINT,
        enrolled_at BIGINT NOT NULL
      );
      CREATE INDEX tunnelers_connector ON tunnelers (connector_id);
      CREATE TABLE audit_log (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at BIGINT NOT NULL,
        action TEXT NOT NULL,
        outcome TEXT NOT NULL,
        actor TEXT NOT NULL,
        subject TEXT NOT NULL,
        details TEXT NOT NULL
      );
      CREATE INDEX audit_log_action ON audit_log (action, id);
    `,
  },
  {
    version: 2,
    name: 'certificate lineage per agent, revocations',
    sqlite: `
      CREATE TABLE agent_certificates (
        kind TEXT NOT NULL CHECK (kind IN ('connector', 'tunneler')),
        agent_id TEXT NOT NULL,
        current_serial TEXT NOT NULL,
        current_not_after INTEGER NOT NULL,
        current_presented INTEGER NOT NULL DEFAULT 0,
        previous_serial TEXT,
        previous_until INTEGER,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (kind, agent_id)
      );
      CREATE TABLE revocations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('connector', 'tunneler')),
        agent_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        revoked_at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        lifted_at INTEGER
      );
      CREATE INDEX revocations_agent ON revocations (kind, agent_id, lifted_at);
    `,
    postgres: `
      CREATE TABLE agent_certificates (
        kind TEXT NOT NULL CHECK (kind IN ('connector', 'tunneler')),
        agent_id TEXT NOT NULL,
        current_serial TEXT NOT NULL,
        current_not_after BIGINT NOT NULL,
        current_presented BIGINT NOT NULL DEFAULT 0,
        previous_serial TEXT,
        previous_until BIGINT,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (kind, agent_id)
      );
      CREATE TABLE revocations (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('connector', 'tunneler')),
        agent_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        revoked_at BIGINT NOT NULL,
        actor TEXT NOT NULL,
        lifted_at BIGINT
      );
      CREATE INDEX revocations_agent ON revocations (kind, agent_id, lifted_at);
    `,
  },
  {
    version: 3,
    name: 'runtime trust state: CA generations, bundle version, issuing generation, agent bundle reports',
    sqlite: `
      CREATE TABLE trust_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        revision INTEGER NOT NULL,
        state TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE issued_certificates (
        serial TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('connector', 'tunneler')),
        agent_id TEXT NOT NULL,
        generation INTEGER NOT NULL,
        not_after INTEGER NOT NULL
      );
      CREATE INDEX issued_certificates_not_after ON issued_certificates (not_after);
      CREATE TABLE agent_bundle_versions (
        kind TEXT NOT NULL CHECK (kind IN ('connector', 'tunneler')),
        agent_id TEXT NOT NULL,
        bundle_version INTEGER NOT NULL,
        reported_at INTEGER NOT NULL,
        PRIMARY KEY (kind, agent_id)
      );
    `,
    postgres: `
      CREATE TABLE trust_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        revision BIGINT NOT NULL,
        state TEXT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE TABLE issued_certificates (
        serial TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('connector', 'tunneler')),
        agent_id TEXT NOT NULL,
        generation INTEGER NOT NULL,
        not_after BIGINT NOT NULL
      );
      CREATE INDEX issued_certificates_not_after ON issued_certificates (not_after);
      CREATE TABLE agent_bundle_versions (
        kind TEXT NOT NULL CHECK (kind IN ('connector', 'tunneler')),
        agent_id TEXT NOT NULL,
        bundle_version BIGINT NOT NULL,
        reported_at BIGINT NOT NULL,
        PRIMARY KEY (kind, agent_id)
      );
    `,
  },
  {
    version: 4,
    name: 'data plane: resources, access grants, tunneler labels',
    sqlite: `
      CREATE TABLE resources (
        name TEXT PRIMARY KEY,
        address TEXT NOT NULL,
        connector_id TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX resources_connector ON resources (connector_id);
      CREATE TABLE grants (
        id TEXT PRIMARY KEY,
        resource TEXT NOT NULL REFERENCES resources (name) ON DELETE CASCADE,
        tunneler_id TEXT,
        label TEXT,
        created_at INTEGER NOT NULL,
        CHECK ((tunneler_id IS NULL) <> (label IS NULL))
      );
      CREATE INDEX grants_resource ON grants (resource);
      ALTER TABLE enrollment_tokens ADD COLUMN labels TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE tunnelers ADD COLUMN labels TEXT NOT NULL DEFAULT '[]';
    `,
    postgres: `
      CREATE TABLE resources (
        name TEXT PRIMARY KEY,
        address TEXT NOT NULL,
        connector_id TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX resources_connector ON resources (connector_id);
      CREATE TABLE grants (
        id TEXT PRIMARY KEY,
        resource TEXT NOT NULL REFERENCES resources (name) ON DELETE CASCADE,
        tunneler_id TEXT,
        label TEXT,
        created_at BIGINT NOT NULL,
        CHECK ((tunneler_id IS NULL) <> (label IS NULL))
      );
      CREATE INDEX grants_resource ON grants (resource);
      ALTER TABLE enrollment_tokens ADD COLUMN labels TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE tunnelers ADD COLUMN labels TEXT NOT NULL DEFAULT '[]';
    `,
  },
  {
    version: 5,
    name: 'workload registration entries',
    sqlite: `
      CREATE TABLE registration_entries (
        id TEXT PRIMARY KEY,
        spiffe_id TEXT NOT NULL,
        parent_id TEXT NOT NULL,
        selectors TEXT NOT NULL,
        x509_ttl_seconds INTEGER NOT NULL,
        jwt_ttl_seconds INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        UNIQUE (spiffe_id, parent_id, selectors)
      );
      CREATE INDEX registration_entries_parent ON registration_entries (parent_id);
    `,
    postgres: `
      CREATE TABLE registration_entries (
        id TEXT PRIMARY KEY,
        spiffe_id TEXT NOT NULL,
        parent_id TEXT NOT NULL,
        selectors TEXT NOT NULL,
        x509_ttl_seconds BIGINT NOT NULL,
        jwt_ttl_seconds BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        UNIQUE (spiffe_id, parent_id, selectors)
      );
      CREATE INDEX registration_entries_parent ON registration_entries (parent_id);
    `,
  },
  {
    version: 6,
    name: 'admin users, sessions and API tokens',
    sqlite: `
      CREATE TABLE admin_users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'admin')),
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE admin_sessions (
        id_hash TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES admin_users (name) ON DELETE CASCADE,
        csrf_token TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        idle_expires_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        address TEXT NOT NULL,
        user_agent TEXT NOT NULL
      );
      CREATE INDEX admin_sessions_user ON admin_sessions (user_name);
      CREATE TABLE admin_api_tokens (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        user_name TEXT NOT NULL REFERENCES admin_users (name) ON DELETE CASCADE,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        revoked_at INTEGER,
        last_used_at INTEGER
      );
      CREATE INDEX admin_api_tokens_user ON admin_api_tokens (user_name);
    `,
    postgres: `
      CREATE TABLE admin_users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'admin')),
        password_hash TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE TABLE admin_sessions (
        id_hash TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES admin_users (name) ON DELETE CASCADE,
        csrf_token TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_seen_at BIGINT NOT NULL,
        idle_expires_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        address TEXT NOT NULL,
        user_agent TEXT NOT NULL
      );
      CREATE INDEX admin_sessions_user ON admin_sessions (user_name);
      CREATE TABLE admin_api_tokens (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        user_name TEXT NOT NULL REFERENCES admin_users (name) ON DELETE CASCADE,
        name TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        revoked_at BIGINT,
        last_used_at BIGINT
      );
      CREATE INDEX admin_api_tokens_user ON admin_api_tokens (user_name);
    `,
  },
  {
    version: 7,
    name: 'replicas: sealed JWT authority keys, agent commands any replica may deliver',
    sqlite: `
      CREATE TABLE jwt_authority_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        revision INTEGER NOT NULL,
        state TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE agent_commands (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('connector', 'tunneler')),
        agent_id TEXT NOT NULL,
        command TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        claimed_at INTEGER,
        claimed_by TEXT,
        withdrawn_at INTEGER
      );
      CREATE INDEX agent_commands_open ON agent_commands (expires_at)
        WHERE claimed_at IS NULL AND withdrawn_at IS NULL;
    `,
    postgres: `
      CREATE TABLE jwt_authority_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        revision BIGINT NOT NULL,
        state TEXT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE TABLE agent_commands (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('connector', 'tunneler')),
        agent_id TEXT NOT NULL,
        command TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        claimed_at BIGINT,
        claimed_by TEXT,
        withdrawn_at BIGINT
      );
      CREATE INDEX agent_commands_open ON agent_commands (expires_at)
        WHERE claimed_at IS NULL AND withdrawn_at IS NULL;
    `,
  },
  {
    version: 9,
    name: 'replicas: a change notification (NOTIFY sigil_changes) for what other replicas act on',
    // SQLite serves one replica: nobody to tell.
    sqlite: `-- nothing: one replica`,
    // One channel for the database, payload '<schema>:<topic>' (channels are database-wide, so
    // replicas on another schema ignore it). Statement triggers: one notification per statement,
    // sent at commit and merged within a transaction. Heartbeat writes (connectors/tunnelers
    // last_seen, agent_bundle_versions) and issued certificates notify nobody.
    postgres: `
      CREATE FUNCTION sigil_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('sigil_changes', TG_TABLE_SCHEMA || ':' || TG_ARGV[0]);
        RETURN NULL;
      END $$;
      CREATE TRIGGER agent_commands_changed AFTER INSERT OR UPDATE ON agent_commands
        FOR EACH STATEMENT EXECUTE FUNCTION sigil_notify_change('commands');
      CREATE TRIGGER revocations_changed AFTER INSERT OR UPDATE OR DELETE ON revocations
        FOR EACH STATEMENT EXECUTE FUNCTION sigil_notify_change('revocations');
      CREATE TRIGGER trust_state_changed AFTER INSERT OR UPDATE OR DELETE ON trust_state
        FOR EACH STATEMENT EXECUTE FUNCTION sigil_notify_change('trust');
      CREATE TRIGGER jwt_authority_changed AFTER INSERT OR UPDATE OR DELETE ON jwt_authority_state
        FOR EACH STATEMENT EXECUTE FUNCTION sigil_notify_change('jwt');
      CREATE TRIGGER resources_changed AFTER INSERT OR UPDATE OR DELETE ON resources
        FOR EACH STATEMENT EXECUTE FUNCTION sigil_notify_change('policy');
      CREATE TRIGGER grants_changed AFTER INSERT OR UPDATE OR DELETE ON grants
        FOR EACH STATEMENT EXECUTE FUNCTION sigil_notify_change('policy');
      CREATE TRIGGER entries_changed AFTER INSERT OR UPDATE OR DELETE ON registration_entries
        FOR EACH STATEMENT EXECUTE FUNCTION sigil_notify_change('entries');
      CREATE TRIGGER settings_changed AFTER INSERT OR UPDATE OR DELETE ON settings
        FOR EACH STATEMENT EXECUTE FUNCTION sigil_notify_change('settings');
      CREATE TRIGGER connectors_enrolled AFTER INSERT OR DELETE ON connectors
        FOR EACH STATEMENT EXECUTE FUNCTION sigil_notify_change('agents');
      CREATE TRIGGER tunnelers_enrolled AFTER INSERT OR DELETE OR UPDATE OF connector_id, labels ON tunnelers
        FOR EACH STATEMENT EXECUTE FUNCTION sigil_notify_change('agents');
    `,
  },
];
