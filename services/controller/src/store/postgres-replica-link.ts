// One dedicated PostgreSQL connection per replica, outside the pool, for the two things a pooled
// connection cannot hold: LISTEN (the change notifications migration 9's triggers send) and the
// session advisory lock that makes one replica the leader. Both end with the connection: when a
// replica dies, PostgreSQL drops its connection, which releases the lock for the next replica.
import { Client } from 'pg';
import type { ChangeTopic, ReplicaLink, ReplicaLinkEvents } from './replica-store';

/** The notification channel of migration 9 (payload `<schema>:<topic>`). */
export const CHANGE_CHANNEL = 'sigil_changes';
/** First key of the leader lock (`pg_try_advisory_lock(key, hashtext(current_schema()))`). */
export const LEADER_LOCK_KEY = 0x5_16_1e;
/** `application_name` of the link's session (pg_stat_activity). */
const LINK_APPLICATION_NAME = 'sigil-controller-replica-link';

/** Options of {@link createPostgresReplicaLink}. */
export interface PostgresReplicaLinkOptions extends ReplicaLinkEvents {
  connectionString: string;
  /** The store's schema (the connection's search_path), if any. */
  schema?: string;
  /** Connect and query timeout, ms. Default 5000. */
  timeoutMs?: number;
}

const TOPICS = new Set<string>([
  'commands',
  'revocations',
  'trust',
  'jwt',
  'policy',
  'entries',
  'settings',
  'agents',
]);

/**
 * The replica link over its own `pg.Client` (TCP keep-alive on, so a dead peer is noticed).
 *
 * @example
 * ```ts
 * const link = createPostgresReplicaLink({ connectionString, onChange: (t) => refresh(t), onConnected: refreshAll, onLost: log });
 * setInterval(() => void link.tick().catch(log), 2000);
 * ```
 */
export function createPostgresReplicaLink(options: PostgresReplicaLinkOptions): ReplicaLink {
  const timeoutMs = options.timeoutMs ?? 5000;
  let client: Client | undefined;
  let schema: string | undefined;
  let leading = false;
  let closed = false;

  const drop = (err: Error): void => {
    const gone = client;
    if (gone === undefined) return;
    client = undefined;
    leading = false;
    gone.removeAllListeners('notification');
    void gone.end().catch(() => undefined);
    options.onLost(err);
  };

  async function connect(): Promise<Client> {
    const next = new Client({
      connectionString: options.connectionString,
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
      keepAlive: true,
      application_name: LINK_APPLICATION_NAME,
      // The server drops this session (and the leader lock) within about 11 s when the replica's
      // host vanishes without closing its socket; a killed process closes it at once.
      options: [
        ...(options.schema === undefined ? [] : [`-c search_path=${options.schema}`]),
        '-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3',
      ].join(' '),
    });
    next.on('error', (err) => {
      if (client === next) drop(err);
    });
    next.on('end', () => {
      if (client === next) drop(new Error('the replica link connection ended'));
    });
    next.on('notification', (message) => {
      if (message.channel !== CHANGE_CHANNEL || message.payload === undefined) return;
      const at = message.payload.lastIndexOf(':');
      const topic = message.payload.slice(at + 1);
      if (message.payload.slice(0, at) === schema && TOPICS.has(topic))
        options.onChange(topic as ChangeTopic);
    });
    try {
      await next.connect();
      const { rows } = await next.query<{ schema: string }>('SELECT current_schema() AS schema');
      schema = rows[0]!.schema;
      await next.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch (err) {
      await next.end().catch(() => undefined);
      throw err;
    }
    if (closed) {
      await next.end().catch(() => undefined);
      throw new Error('the replica link is closed');
    }
    client = next;
    options.onConnected();
    return next;
  }

  return {
    get listening() {
      return client !== undefined;
    },
    get leading() {
      return leading;
    },
    async tick() {
      if (closed) return false;
      const current = client ?? (await connect());
      try {
        if (leading) await current.query('SELECT 1');
        else {
          const { rows } = await current.query<{ locked: boolean }>(
            'SELECT pg_try_advisory_lock($1, hashtext(current_schema())) AS locked',
            [LEADER_LOCK_KEY],
          );
          leading = rows[0]!.locked;
        }
      } catch (err) {
        if (client === current) drop(err as Error);
        throw err;
      }
      return leading;
    },
    async close() {
      closed = true;
      const gone = client;
      client = undefined;
      leading = false;
      await gone?.end().catch(() => undefined);
    },
  };
}
