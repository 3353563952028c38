import { isIPv4, isIPv6 } from 'node:net';
import type pino from 'pino';
import type { AuditRecord, ControllerStore, NewAuditRecord } from '../store/store';
import { currentAdminActor } from './admin-actor';

/**
 * What callers give: the time is filled in. `unauthenticated` marks a refusal of a caller that
 * presented no valid credential (see {@link isUnauthenticatedRefusal} for the default).
 */
export type AuditEntry = Omit<NewAuditRecord, 'at'> & { unauthenticated?: boolean };

/** Audit trail: records go to the store and out as pino `audit` events. */
export interface AuditLog {
  /** Builds a record stamped with the current time (for writes done inside a store transaction). */
  entry(entry: AuditEntry): NewAuditRecord;
  /** Logs a record the store already holds (written inside a transaction). */
  logged(record: NewAuditRecord): void;
  /**
   * Stores and logs a record, or for an unauthenticated refusal only counts it for the next
   * `audit.refusals_summary` row (resolving to undefined). A store failure is logged, never
   * thrown: auditing must not turn a refusal into a crash.
   */
  record(entry: AuditEntry): Promise<AuditRecord | undefined>;
  /**
   * Stores and logs the record of something about to be handed out (a certificate, a token),
   * rejecting when the store cannot take it: the caller then hands nothing out, so nothing issued
   * lacks its record (the store's unavailable error reaches the caller as "unavailable, retry").
   */
  recordOrFail(entry: AuditEntry): Promise<AuditRecord>;
  /** Writes the pending summary row now (if anything was counted). */
  flush(): Promise<void>;
  /** Deletes records older than the retention; resolves to how many. */
  prune(): Promise<number>;
  /** Writes the pending summary and stops the timers. */
  close(): Promise<void>;
}

/** Options of {@link createAuditLog}. */
export interface AuditLogOptions {
  /** How often counted refusals become one summary row (`AUDIT_SUMMARY_INTERVAL`). Default 60 s. */
  summaryIntervalMs?: number;
  /** Records older than this are deleted (`AUDIT_RETENTION`). Default 90 days. */
  retentionMs?: number;
  /** How often the retention job runs. Default hourly. */
  pruneIntervalMs?: number;
}

/** The longest subject, actor or string detail kept; the rest is cut and its length noted. */
export const AUDIT_FIELD_MAX_CHARS = 256;
/** The most distinct (action, reason, address prefix) counters one summary row holds. */
const SUMMARY_MAX_KEYS = 100;
const UNAUTHENTICATED_ACTIONS = new Set([
  'admin.unauthorized',
  'controlplane.refused',
  'grpc.connection_refused',
]);
// An enrollment refused for one of these reasons came from someone holding a real token.
const KNOWN_TOKEN_REASONS = new Set(['token_used', 'token_expired', 'token_mismatch']);

/**
 * True when `entry` is noise from an unauthenticated caller: its `unauthenticated` flag, or by
 * default a refusal of `admin.unauthorized`, `controlplane.refused`, `grpc.connection_refused`, or
 * `enrollment.refused` for any reason but a known token (`token_used`, `token_expired`,
 * `token_mismatch`). Such entries are counted, not written one by one; everything else (every
 * success, every act of an authenticated actor) is written synchronously.
 *
 * @example
 * ```ts
 * isUnauthenticatedRefusal({ action: 'admin.unauthorized', outcome: 'refused', actor: '10.0.0.9', subject: 'GET /', details: {} }); // true
 * ```
 */
export function isUnauthenticatedRefusal(entry: AuditEntry): boolean {
  if (entry.unauthenticated !== undefined) return entry.unauthenticated;
  if (entry.outcome !== 'refused') return false;
  if (UNAUTHENTICATED_ACTIONS.has(entry.action)) return true;
  return (
    entry.action === 'enrollment.refused' && !KNOWN_TOKEN_REASONS.has(String(entry.details.reason))
  );
}

/**
 * The audit log. Authenticated actions (and every success) are stored synchronously, one row
 * each, with subjects, actors and string details cut to {@link AUDIT_FIELD_MAX_CHARS}.
 * Unauthenticated refusals ({@link isUnauthenticatedRefusal}) are counted per action, reason and
 * address prefix (/24 for IPv4, /64 for IPv6) and written as one `audit.refusals_summary` row per
 * `summaryIntervalMs`, so a flood costs O(1) rows and no fsync per request. With `retentionMs`,
 * a job deletes older rows every `pruneIntervalMs`.
 *
 * @example
 * ```ts
 * const audit = createAuditLog(store, logger, () => new Date(), { retentionMs: 90 * 86_400_000 });
 * await audit.record({ action: 'admin.token_created', outcome: 'success', actor: 'admin', subject: id, details: {} });
 * await audit.close();
 * ```
 */
export function createAuditLog(
  store: ControllerStore,
  logger: pino.Logger,
  clock: () => Date,
  options: AuditLogOptions = {},
): AuditLog {
  const summaryIntervalMs = options.summaryIntervalMs ?? 60_000;
  const retentionMs = options.retentionMs ?? 90 * 86_400_000;
  const counters = new Map<string, SummaryCounter>();
  let windowStart: number | undefined;
  let summaryTimer: NodeJS.Timeout | undefined;
  const pruneTimer = setInterval(() => void prune(), options.pruneIntervalMs ?? 3_600_000);
  pruneTimer.unref();

  const log = (record: NewAuditRecord): void => {
    const level = record.outcome === 'refused' ? 'warn' : 'info';
    logger[level](
      {
        event: 'audit',
        action: record.action,
        outcome: record.outcome,
        actor: record.actor,
        subject: record.subject,
        details: record.details,
      },
      'audit',
    );
  };
  // Inside an admin request, every record names where the request came from.
  const requestDetails = (): Record<string, unknown> => {
    const actor = currentAdminActor();
    return actor === undefined
      ? {}
      : { address: actor.address, user_agent: actor.userAgent, via: actor.via };
  };
  const entry = (e: AuditEntry): NewAuditRecord => ({
    at: clock().getTime(),
    action: cut(e.action),
    outcome: e.outcome,
    actor: cut(e.actor),
    subject: cut(e.subject),
    details: cutDetails({ ...requestDetails(), ...e.details }),
  });
  const persist = async (record: NewAuditRecord): Promise<AuditRecord | undefined> => {
    try {
      return await store.appendAudit(record);
    } catch (err) {
      logger.error(
        { event: 'audit.store_failed', action: record.action, err },
        'audit.store_failed',
      );
      return undefined;
    }
  };

  const count = (e: AuditEntry): void => {
    const reason = typeof e.details.reason === 'string' ? cut(e.details.reason, 64) : '';
    const prefix = addressPrefix(e.actor, e.details.peer);
    const full = counters.size >= SUMMARY_MAX_KEYS;
    const key = full ? 'other' : `${e.action}\u0000${reason}\u0000${prefix}`;
    const counter = counters.get(key) ?? {
      action: full ? 'other' : cut(e.action, 64),
      reason: full ? '' : reason,
      address_prefix: full ? '' : prefix,
      count: 0,
    };
    counter.count += 1;
    counters.set(key, counter);
    logger.debug(
      { event: 'audit.refusal_counted', action: counter.action, reason, addressPrefix: prefix },
      'audit.refusal_counted',
    );
    if (windowStart === undefined) {
      windowStart = clock().getTime();
      summaryTimer = setTimeout(() => void flush(), summaryIntervalMs);
      summaryTimer.unref();
    }
  };

  async function flush(): Promise<void> {
    clearTimeout(summaryTimer);
    summaryTimer = undefined;
    if (windowStart === undefined) return;
    const rows = [...counters.values()].sort((a, b) => b.count - a.count);
    const total = rows.reduce((n, r) => n + r.count, 0);
    const record: NewAuditRecord = {
      at: clock().getTime(),
      action: 'audit.refusals_summary',
      outcome: 'refused',
      actor: 'controller',
      subject: `${total} unauthenticated refusals`,
      details: {
        total,
        window_start: new Date(windowStart).toISOString(),
        window_end: clock().toISOString(),
        counts: rows,
      },
    };
    counters.clear();
    windowStart = undefined;
    log(record);
    await persist(record);
  }

  async function prune(): Promise<number> {
    try {
      const removed = await store.pruneAudit(clock().getTime() - retentionMs);
      if (removed > 0) logger.info({ event: 'audit.pruned', removed, retentionMs }, 'audit.pruned');
      return removed;
    } catch (err) {
      logger.error({ event: 'audit.prune_failed', err }, 'audit.prune_failed');
      return 0;
    }
  }

  return {
    entry,
    logged: log,
    async record(e) {
      if (isUnauthenticatedRefusal(e)) {
        count(e);
        return undefined;
      }
      const record = entry(e);
      log(record);
      return persist(record);
    },
    async recordOrFail(e) {
      const record = entry(e);
      const stored = await store.appendAudit(record);
      log(record);
      return stored;
    },
    flush,
    prune,
    async close() {
      clearInterval(pruneTimer);
      await flush();
    },
  };
}

interface SummaryCounter {
  action: string;
  reason: string;
  address_prefix: string;
  count: number;
}

function cut(text: string, max = AUDIT_FIELD_MAX_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}…(${text.length} chars)`;
}

function cutDetails(details: Record<string, unknown>, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details).slice(0, 32)) {
    if (typeof value === 'string') out[key] = cut(value);
    else if (value !== null && typeof value === 'object' && !Array.isArray(value))
      out[key] = depth < 3 ? cutDetails(value as Record<string, unknown>, depth + 1) : '…';
    else out[key] = value;
  }
  return out;
}

/** The /24 (IPv4) or /64 (IPv6) of the caller's address, from the actor or a `peer` detail. */
function addressPrefix(actor: string, peer: unknown): string {
  for (const candidate of [actor, typeof peer === 'string' ? peer : '']) {
    const host = hostOf(candidate);
    if (isIPv4(host)) return `${host.split('.').slice(0, 3).join('.')}.0/24`;
    if (isIPv6(host)) {
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
      if (mapped !== null) return `${mapped[1]!.split('.').slice(0, 3).join('.')}.0/24`;
      return `${expandIPv6(host).slice(0, 4).join(':')}::/64`;
    }
  }
  return 'unknown';
}

/** `1.2.3.4:5678` → `1.2.3.4`, `[::1]:5678` → `::1`, `ipv4:1.2.3.4:5` (grpc peer) → `1.2.3.4`. */
function hostOf(address: string): string {
  const text = address.replace(/^ipv[46]:/, '');
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed !== null) return bracketed[1]!;
  const withPort = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(text);
  return withPort === null ? text : withPort[1]!;
}

function expandIPv6(host: string): string[] {
  const [head = '', tail = ''] = host.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const fill = host.includes('::') ? Array(8 - left.length - right.length).fill('0') : [];
  return [...left, ...fill, ...right].map((part) => part.replace(/^0+(?=.)/, ''));
}
