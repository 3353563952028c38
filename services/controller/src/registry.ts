import type pino from 'pino';
import type {
  ActivityBatch,
  AgentKind,
  ConnectorRecord,
  ControllerStore,
  TunnelerRecord,
} from './store/store';

/**
 * ONLINE while heartbeats arrive within the deadline, OFFLINE otherwise (and at once when a
 * connector closed its stream cleanly), REVOKED once an operator revoked the agent.
 */
export type AgentStatus = 'ONLINE' | 'OFFLINE' | 'REVOKED';

/** A connector as the admin API reports it. */
export interface ConnectorView {
  id: string;
  privateIp: string;
  version: string;
  /** Unix milliseconds, or null if never seen. */
  lastSeen: number | null;
  status: AgentStatus;
  /** True while the connector has an open control stream to this controller. */
  connected: boolean;
  /** Agent clock minus controller clock at the last enrollment or heartbeat, ms (negative: behind); null if not measured. */
  clockSkewMs: number | null;
  /** True when `version` is below the minimum pinned for connectors (`PUT /api/admin/agent-versions`). */
  upgradeRequired: boolean;
}

/** A tunneler as the admin API reports it. */
export interface TunnelerView {
  id: string;
  connectorId: string;
  version: string;
  lastSeen: number | null;
  status: AgentStatus;
  /** As {@link ConnectorView.clockSkewMs}. */
  clockSkewMs: number | null;
  /** As {@link ConnectorView.upgradeRequired}, against the tunnelers' minimum. */
  upgradeRequired: boolean;
}

/**
 * ONLINE when the agent was seen less than `offlineAfterMs` ago. Pure, so tests pin the time.
 *
 * @example
 * ```ts
 * agentStatus(Date.now() - 5_000, Date.now(), 30_000); // 'ONLINE'
 * agentStatus(null, Date.now(), 30_000); // 'OFFLINE'
 * ```
 */
export function agentStatus(
  lastSeen: number | null,
  now: number,
  offlineAfterMs: number,
): 'ONLINE' | 'OFFLINE' {
  return lastSeen !== null && now - lastSeen < offlineAfterMs ? 'ONLINE' : 'OFFLINE';
}

/**
 * The live registry: connectors and tunnelers held in memory (loaded from the store at start),
 * updated by enrollments and heartbeats. Heartbeat timestamps are written back to the store in
 * batches (`flush`), not one write per heartbeat, so 10k agents do not mean 1k fsyncs a second.
 */
export class AgentRegistry {
  private readonly connectors = new Map<string, ConnectorRecord>();
  private readonly tunnelers = new Map<string, TunnelerRecord>();
  private readonly dirtyConnectors = new Set<string>();
  private readonly dirtyTunnelers = new Set<string>();
  private readonly streaming = new Set<string>();
  /** Connectors that closed their stream cleanly and have not been seen since. */
  private readonly stopped = new Set<string>();
  /** Last measured clock skew per `kind/id`, ms; in memory only (a restart measures again). */
  private readonly clockSkews = new Map<string, number>();
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly store: ControllerStore,
    private readonly clock: () => Date,
    private readonly offlineAfterMs: number,
    private readonly logger: pino.Logger,
    private readonly isRevoked: (kind: AgentKind, id: string) => boolean = () => false,
    private readonly upgradeRequired: (kind: AgentKind, version: string) => boolean = () => false,
  ) {}

  async load(): Promise<void> {
    for (const c of await this.store.listConnectors()) this.connectors.set(c.id, c);
    for (const t of await this.store.listTunnelers()) this.tunnelers.set(t.id, t);
  }

  /**
   * Re-reads the enrolled agents (another replica enrolled some): adds the new ones, takes each
   * tunneler's connector from the store, keeps the latest `lastSeen`. Resolves to the connectors
   * whose approved tunnelers changed.
   */
  async reload(): Promise<Set<string>> {
    const later = (a: number | null, b: number | null): number | null =>
      a === null ? b : b === null ? a : Math.max(a, b);
    for (const c of await this.store.listConnectors()) {
      const known = this.connectors.get(c.id);
      this.connectors.set(
        c.id,
        known === undefined ? c : { ...known, lastSeen: later(known.lastSeen, c.lastSeen) },
      );
    }
    const changed = new Set<string>();
    for (const t of await this.store.listTunnelers()) {
      const known = this.tunnelers.get(t.id);
      if (known?.connectorId !== t.connectorId) {
        if (known !== undefined) changed.add(known.connectorId);
        changed.add(t.connectorId);
      }
      this.tunnelers.set(
        t.id,
        known === undefined
          ? t
          : { ...known, connectorId: t.connectorId, lastSeen: later(known.lastSeen, t.lastSeen) },
      );
    }
    return changed;
  }

  /** Records a successful enrollment (already persisted by the store's redemption). */
  enrolled(
    kind: AgentKind,
    agent: {
      id: string;
      connectorId: string | null;
      privateIp: string;
      version: string;
      at: number;
    },
  ): void {
    if (kind === 'connector') {
      this.stopped.delete(agent.id);
      this.connectors.set(agent.id, {
        id: agent.id,
        privateIp: agent.privateIp,
        version: agent.version,
        lastSeen: agent.at,
        enrolledAt: agent.at,
      });
    } else {
      this.tunnelers.set(agent.id, {
        id: agent.id,
        connectorId: agent.connectorId ?? '',
        version: agent.version,
        lastSeen: agent.at,
        enrolledAt: agent.at,
      });
    }
  }

  /**
   * A heartbeat (or hello) from a connector on its control stream. The record is updated in
   * place: at 10k agents a new object per heartbeat was a thousand promotions to the old
   * generation a second (the records leave the registry only as copies: views, flush batches).
   */
  connectorSeen(id: string, report: { privateIp?: string; version?: string }): void {
    const now = this.clock().getTime();
    let record = this.connectors.get(id);
    if (record === undefined) {
      record = { id, privateIp: '', version: '', lastSeen: null, enrolledAt: now };
      this.connectors.set(id, record);
    }
    if (report.privateIp) record.privateIp = report.privateIp;
    if (report.version) record.version = report.version;
    record.lastSeen = Math.max(record.lastSeen ?? 0, now);
    this.stopped.delete(id);
    this.dirtyConnectors.add(id);
  }

  /** The connector ended its control stream cleanly: OFFLINE now, not at the heartbeat deadline. */
  connectorStopped(id: string): void {
    this.stopped.add(id);
  }

  /** True when the agent is enrolled (whatever its status). */
  isEnrolled(kind: AgentKind, id: string): boolean {
    return (kind === 'connector' ? this.connectors : this.tunnelers).has(id);
  }

  /**
   * A tunneler heartbeat forwarded by `viaConnector`. Returns false (and changes nothing) unless
   * the tunneler is enrolled under that connector.
   */
  tunnelerSeen(id: string, viaConnector: string, report: { version?: string }): boolean {
    const record = this.tunnelers.get(id);
    if (record === undefined || record.connectorId !== viaConnector) return false;
    // In place, as connectorSeen.
    if (report.version) record.version = report.version;
    record.lastSeen = Math.max(record.lastSeen ?? 0, this.clock().getTime());
    this.dirtyTunnelers.add(id);
    return true;
  }

  /**
   * Records an agent's clock skew (its clock minus the controller's, ms); returns the previous
   * measurement, if any.
   */
  clockSkewSeen(kind: AgentKind, id: string, skewMs: number): number | undefined {
    const key = `${kind}/${id}`;
    const previous = this.clockSkews.get(key);
    this.clockSkews.set(key, skewMs);
    return previous;
  }

  /** Marks a connector's control stream open or closed. */
  setStreaming(id: string, open: boolean): void {
    if (open) this.streaming.add(id);
    else this.streaming.delete(id);
  }

  streamingCount(): number {
    return this.streaming.size;
  }

  /** The tunneler ids enrolled under `connectorId` and not revoked, sorted: what the connector must admit. */
  approvedTunnelers(connectorId: string): string[] {
    return [...this.tunnelers.values()]
      .filter((t) => t.connectorId === connectorId && !this.isRevoked('tunneler', t.id))
      .map((t) => t.id)
      .sort();
  }

  /** The version the agent last reported, or undefined when it is not enrolled. */
  versionOf(kind: AgentKind, id: string): string | undefined {
    return (kind === 'connector' ? this.connectors : this.tunnelers).get(id)?.version;
  }

  tunnelerConnector(id: string): string | undefined {
    return this.tunnelers.get(id)?.connectorId;
  }

  listConnectors(): ConnectorView[] {
    const now = this.clock().getTime();
    return [...this.connectors.values()]
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((c) => ({
        id: c.id,
        privateIp: c.privateIp,
        version: c.version,
        lastSeen: c.lastSeen,
        status: this.connectorStatus(c, now),
        connected: this.streaming.has(c.id),
        clockSkewMs: this.clockSkews.get(`connector/${c.id}`) ?? null,
        upgradeRequired: this.upgradeRequired('connector', c.version),
      }));
  }

  listTunnelers(): TunnelerView[] {
    const now = this.clock().getTime();
    return [...this.tunnelers.values()]
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((t) => ({
        id: t.id,
        connectorId: t.connectorId,
        version: t.version,
        lastSeen: t.lastSeen,
        status: this.tunnelerStatus(t, now),
        clockSkewMs: this.clockSkews.get(`tunneler/${t.id}`) ?? null,
        upgradeRequired: this.upgradeRequired('tunneler', t.version),
      }));
  }

  private connectorStatus(c: ConnectorRecord, now: number): AgentStatus {
    if (this.isRevoked('connector', c.id)) return 'REVOKED';
    if (this.stopped.has(c.id)) return 'OFFLINE';
    return agentStatus(c.lastSeen, now, this.offlineAfterMs);
  }

  private tunnelerStatus(t: TunnelerRecord, now: number): AgentStatus {
    return this.isRevoked('tunneler', t.id)
      ? 'REVOKED'
      : agentStatus(t.lastSeen, now, this.offlineAfterMs);
  }

  /**
   * ONLINE and OFFLINE agents per kind (revoked ones are in neither), in one pass over the
   * records: every /metrics scrape calls it twice, and building and sorting the views of 10k
   * agents took 15-50 ms of the event loop each time.
   */
  counts(): Record<AgentKind, { online: number; offline: number }> {
    const now = this.clock().getTime();
    const tally = <R>(records: Iterable<R>, statusOf: (record: R, now: number) => AgentStatus) => {
      const count = { online: 0, offline: 0 };
      for (const record of records) {
        const status = statusOf(record, now);
        if (status === 'ONLINE') count.online += 1;
        else if (status === 'OFFLINE') count.offline += 1;
      }
      return count;
    };
    return {
      connector: tally(this.connectors.values(), (c, at) => this.connectorStatus(c, at)),
      tunneler: tally(this.tunnelers.values(), (t, at) => this.tunnelerStatus(t, at)),
    };
  }

  /** Writes heartbeat timestamps seen since the last flush to the store, in one transaction. */
  async flush(): Promise<void> {
    // One flush at a time; a flush requested meanwhile runs after it.
    while (this.flushing !== undefined) await this.flushing;
    if (this.dirtyConnectors.size + this.dirtyTunnelers.size === 0) return;
    const batch: ActivityBatch = {
      connectors: [...this.dirtyConnectors].flatMap((id) => {
        const c = this.connectors.get(id);
        return c?.lastSeen == null
          ? []
          : [{ id, lastSeen: c.lastSeen, version: c.version, privateIp: c.privateIp }];
      }),
      tunnelers: [...this.dirtyTunnelers].flatMap((id) => {
        const t = this.tunnelers.get(id);
        return t?.lastSeen == null ? [] : [{ id, lastSeen: t.lastSeen, version: t.version }];
      }),
    };
    this.dirtyConnectors.clear();
    this.dirtyTunnelers.clear();
    this.flushing = this.store.recordActivity(batch).then(
      () => undefined,
      (err: unknown) => {
        // Keep the entries dirty so the next flush retries them.
        for (const c of batch.connectors) this.dirtyConnectors.add(c.id);
        for (const t of batch.tunnelers) this.dirtyTunnelers.add(t.id);
        this.logger.error({ event: 'registry.flush_failed', err }, 'registry.flush_failed');
      },
    );
    try {
      await this.flushing;
    } finally {
      this.flushing = undefined;
    }
  }
}
