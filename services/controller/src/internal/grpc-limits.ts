import type * as grpc from '@grpc/grpc-js';

/**
 * The limits of the controller's gRPC listener, see docs/controller.md "Limits". Durations in
 * milliseconds; every field has a default in {@link GRPC_LIMIT_DEFAULTS}.
 */
export interface GrpcLimits {
  /** Largest message a caller may send, any RPC (`CONTROLLER_MAX_MESSAGE_SIZE`). */
  maxMessageBytes: number;
  /** Concurrent streams per connection (`CONTROLLER_MAX_CONCURRENT_STREAMS`). */
  maxConcurrentStreams: number;
  /** HTTP/2 session memory per connection, in MiB, before new streams are refused (`CONTROLLER_MAX_SESSION_MEMORY`). */
  maxSessionMemoryMib: number;
  /** A connection with no open stream for this long is closed with GOAWAY (`CONTROLLER_IDLE_CONNECTION_TIMEOUT`). */
  idleConnectionTimeoutMs: number;
  /** A connection that has not finished TLS and started a call by then is closed (`CONTROLLER_HANDSHAKE_TIMEOUT`). */
  handshakeTimeoutMs: number;
  /** A connection without a verified client certificate (enrollment) is closed after this long (`CONTROLLER_UNAUTHENTICATED_CONNECTION_TIMEOUT`). */
  unauthenticatedConnectionTimeoutMs: number;
  /**
   * TLS handshakes worked on at once (`CONTROLLER_MAX_CONCURRENT_HANDSHAKES`); later connections
   * wait their turn, unread, so a burst of (re)connecting agents cannot stall the event loop that
   * answers heartbeats.
   */
  maxConcurrentHandshakes: number;
  /** Open connections in total (`CONTROLLER_MAX_CONNECTIONS`). */
  maxConnections: number;
  /** Open connections per remote address (`CONTROLLER_MAX_CONNECTIONS_PER_IP`). */
  maxConnectionsPerAddress: number;
  /** Enroll calls per minute per remote address (`CONTROLLER_ENROLL_RATE_PER_IP`). */
  enrollmentsPerMinutePerAddress: number;
  /** Enroll calls per minute in total (`CONTROLLER_ENROLL_RATE`). */
  enrollmentsPerMinute: number;
}

/**
 * Defaults of {@link GrpcLimits}: an Enroll or Connect message is a few KiB, an agent holds one
 * connection, and a 1024-descriptor process keeps room for the store and the admin API.
 *
 * @example
 * ```ts
 * const limits: GrpcLimits = { ...GRPC_LIMIT_DEFAULTS, maxConnectionsPerAddress: 8 };
 * ```
 */
export const GRPC_LIMIT_DEFAULTS: GrpcLimits = {
  maxMessageBytes: 64 * 1024,
  maxConcurrentStreams: 32,
  maxSessionMemoryMib: 4,
  idleConnectionTimeoutMs: 5 * 60_000,
  handshakeTimeoutMs: 10_000,
  unauthenticatedConnectionTimeoutMs: 30_000,
  maxConcurrentHandshakes: 8,
  maxConnections: 700,
  maxConnectionsPerAddress: 32,
  enrollmentsPerMinutePerAddress: 30,
  enrollmentsPerMinute: 600,
};

// Connectors hold one long stream: ping every connection so a vanished peer (no FIN) cancels its
// stream within 40 s instead of lingering until the OS gives up.
const KEEPALIVE_TIME_MS = 30_000;
const KEEPALIVE_TIMEOUT_MS = 10_000;

/**
 * The grpc-js server options that enforce {@link GrpcLimits} inside HTTP/2 (add your
 * interceptors). `grpc.max_connection_age_ms` is deliberately not set: grpc-js ends every stream
 * of an aged connection after the grace period, which would cut healthy Connect streams on a
 * schedule; unauthenticated connections are bounded by the connection guard instead, and an
 * agent's stream by its certificate.
 *
 * @example
 * ```ts
 * const server = new grpc.Server({ ...grpcServerOptions(limits), interceptors: [guard.interceptor] });
 * ```
 */
export function grpcServerOptions(limits: GrpcLimits): grpc.ServerOptions {
  return {
    'grpc.max_receive_message_length': limits.maxMessageBytes,
    'grpc.max_concurrent_streams': limits.maxConcurrentStreams,
    'grpc-node.max_session_memory': limits.maxSessionMemoryMib,
    'grpc.max_connection_idle_ms': limits.idleConnectionTimeoutMs,
    'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
    'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
  };
}
