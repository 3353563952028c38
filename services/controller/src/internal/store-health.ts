import * as grpc from '@grpc/grpc-js';
import type pino from 'pino';
import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { SigilError, isSigilError, toGrpcError } from '@sigil/errors';
import type { ControllerStore } from '../store/store';

/** What `/readyz` and the logs say about the store. */
export interface StoreStatus {
  /** `sqlite` or `postgres`. */
  dialect: ControllerStore['dialect'];
  /** The store's location, safe to log. */
  location: string;
  /** False from the first operation that failed for an outage until a write (or the write probe) succeeds. */
  up: boolean;
  /** While down: the failure, e.g. `connect ECONNREFUSED 127.0.0.1:5432` or `SQLITE_FULL: database or disk is full`. */
  reason?: string;
  /** While down: when the outage was seen first (ISO 8601). */
  downSince?: string;
}

/** The store as the controller uses it, and its health. */
export interface StoreHealth {
  /** The store: every operation that fails because the store is unavailable throws `ERR_STORE_UNAVAILABLE`. */
  readonly store: ControllerStore;
  /** The current status. */
  status(): StoreStatus;
  /** Stops the recovery probe. */
  close(): void;
}

/** Options of {@link createStoreHealth}. */
export interface StoreHealthOptions {
  logger: pino.Logger;
  /** Where `sigil_controller_store_up` is registered. */
  registry: Registry;
  clock: () => Date;
  /** How often a down store is probed (a cheap read) to notice its return. Default 1000 ms. */
  probeIntervalMs?: number;
  /** The `Retry-After` (and `grpc-retry-pushback-ms`) clients are given. Default 5 s. */
  retryAfterSeconds?: number;
}

// Operations that only read: a full disk still serves them, so their success proves nothing.
const READS = new Set<string | symbol>([
  'schemaVersion',
  'getSetting',
  'findToken',
  'isConnectorKnown',
  'getLineage',
  'activeRevocations',
  'listRevocations',
  'listPendingTokens',
  'listConnectors',
  'listTunnelers',
  'listAudit',
]);
/** The setting the probe writes while the store is down: only a durable write proves it is back. */
const PROBE_SETTING = 'store_health_probe_at';

// SQLite: the disk is full or read-only, the file vanished or cannot be locked, an I/O error.
const SQLITE_OUTAGE = /^SQLITE_(FULL|READONLY|IOERR|CANTOPEN|BUSY|LOCKED|NOLFS|PROTOCOL)/;
// PostgreSQL SQLSTATE classes 08 (connection exception), 53 (insufficient resources, e.g. disk
// full), 57P0x (admin or crash shutdown, cannot connect now), 58 (system error: I/O).
const POSTGRES_OUTAGE = /^(08|53|57P0|58)/;
const NETWORK_OUTAGE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
// node-postgres reports a lost or unobtainable connection with plain messages, no code.
const POSTGRES_CONNECTION_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (shutting down|starting up|in recovery mode)|terminating connection/i;

/**
 * True when `err` says the store cannot be used right now (disk full or read-only, database
 * down or unreachable) rather than that the request is wrong: such a failure is answered
 * "unavailable, retry", never as a refusal or an internal error.
 *
 * @example
 * ```ts
 * isStoreOutage(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })); // true
 * isStoreOutage(new Error('UNIQUE constraint failed')); // false
 * ```
 */
export function isStoreOutage(err: unknown): boolean {
  if (isSigilError(err, 'ERR_STORE_UNAVAILABLE')) return true;
  // Duck-typed, not `instanceof Error`: errors of Node's own sockets come from another realm
  // when the controller runs inside a test's VM context.
  if (typeof err !== 'object' || err === null) return false;
  const { code, message, errors } = err as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof code === 'string') {
    if (SQLITE_OUTAGE.test(code) || NETWORK_OUTAGE.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && POSTGRES_OUTAGE.test(code)) return true;
  }
  if (typeof message === 'string' && POSTGRES_CONNECTION_MESSAGE.test(message)) return true;
  // A connection to `localhost` tries ::1 and 127.0.0.1: both refusals in an AggregateError.
  return Array.isArray(errors) && errors.some((inner) => isStoreOutage(inner));
}

/**
 * Watches the store: wraps every operation so that a failure {@link isStoreOutage} recognises
 * marks the store down (`store.unavailable` logged once, `sigil_controller_store_up` 0) and is
 * rethrown as `ERR_STORE_UNAVAILABLE` with `retryAfterSeconds`, which the admin API answers 503
 * with `Retry-After` and Enroll/Renew as gRPC UNAVAILABLE with `grpc-retry-pushback-ms`. The
 * store is up again once a write succeeds: while down, a one-row write (the setting
 * `store_health_probe_at`) every `probeIntervalMs` notices the return (`store.recovered`), so
 * `/readyz` turns 200 again without traffic. (A read succeeding proves nothing: a full disk
 * still serves reads.)
 *
 * @example
 * ```ts
 * const health = createStoreHealth(store, { logger, registry: metrics.registry, clock });
 * ctx.store = health.store;
 * isReady = () => health.status().up;
 * ```
 */
export function createStoreHealth(
  store: ControllerStore,
  options: StoreHealthOptions,
): StoreHealth {
  const retryAfterSeconds = options.retryAfterSeconds ?? 5;
  let down: { reason: string; since: Date } | undefined;
  let probe: NodeJS.Timeout | undefined;
  let closed = false;

  const gauge = new Gauge({
    name: 'sigil_controller_store_up',
    help: 'Whether the controller can use its store (1) or the store is unavailable (0): disk full or read-only, database down or unreachable.',
    labelNames: ['dialect'],
    registers: [options.registry],
    collect() {
      this.set({ dialect: store.dialect }, down === undefined ? 1 : 0);
    },
  });
  void gauge;

  const recovered = (): void => {
    if (down === undefined) return;
    const downMs = options.clock().getTime() - down.since.getTime();
    down = undefined;
    clearInterval(probe);
    probe = undefined;
    options.logger.info(
      { event: 'store.recovered', dialect: store.dialect, location: store.location, downMs },
      'store.recovered',
    );
  };
  const failed = (err: unknown): SigilError => {
    const reason = reasonOf(err);
    if (down === undefined) {
      down = { reason, since: options.clock() };
      options.logger.error(
        {
          event: 'store.unavailable',
          dialect: store.dialect,
          location: store.location,
          reason,
          err,
        },
        'store.unavailable',
      );
      if (!closed) {
        probe = setInterval(() => {
          store
            .setSetting(PROBE_SETTING, options.clock().toISOString())
            .then(recovered, () => undefined);
        }, options.probeIntervalMs ?? 1000);
        probe.unref();
      }
    }
    return new SigilError(
      'ERR_STORE_UNAVAILABLE',
      `the controller's store (${store.dialect} at ${store.location}) is unavailable: ${reason}; retry in ${retryAfterSeconds} s`,
      {
        cause: err,
        details: { store: store.dialect, retryAfterSeconds },
      },
    );
  };

  const wrapped = new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || property === 'close') return value;
      return async (...args: unknown[]): Promise<unknown> => {
        try {
          const result: unknown = await (value as (...a: unknown[]) => unknown).apply(target, args);
          if (!READS.has(property)) recovered();
          return result;
        } catch (err) {
          if (isStoreOutage(err)) throw failed(err);
          throw err;
        }
      };
    },
  });

  return {
    store: wrapped,
    status: () => ({
      dialect: store.dialect,
      location: store.location,
      up: down === undefined,
      ...(down === undefined ? {} : { reason: down.reason, downSince: down.since.toISOString() }),
    }),
    close() {
      closed = true;
      options.registry.removeSingleMetric('sigil_controller_store_up');
      clearInterval(probe);
      probe = undefined;
    },
  };
}

function reasonOf(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const { code, message, errors } = err as { code?: unknown; message?: unknown; errors?: unknown };
  const text =
    (message === '' || message === undefined) && Array.isArray(errors)
      ? errors.map((e: unknown) => reasonOf(e)).join('; ')
      : String(message);
  return typeof code === 'string' && !text.includes(code) ? `${code}: ${text}` : text;
}

/**
 * The gRPC status for an `ERR_STORE_UNAVAILABLE`: UNAVAILABLE with the reason, and the
 * `grpc-retry-pushback-ms` trailer (gRFC A6) telling the agent when to retry. Never a refusal:
 * nothing was accepted, so the agent's token or certificate is still good.
 *
 * @example
 * ```ts
 * if (isSigilError(err, 'ERR_STORE_UNAVAILABLE')) return callback(storeUnavailableStatus(err));
 * ```
 */
export function storeUnavailableStatus(err: SigilError): grpc.ServerErrorResponse {
  const metadata = new grpc.Metadata();
  const seconds = Number(err.details.retryAfterSeconds ?? 5);
  metadata.set(RETRY_PUSHBACK_KEY, String(Math.round(seconds * 1000)));
  return Object.assign(toGrpcError(err), { metadata });
}

/** The trailer a server sets to say when a client may retry (gRFC A6). */
const RETRY_PUSHBACK_KEY = 'grpc-retry-pushback-ms';
