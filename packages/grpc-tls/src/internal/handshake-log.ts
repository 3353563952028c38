import type { Logger } from 'pino';
import type { Side } from './metrics';

/** At most one `grpc_tls.handshake_failed` line per side and reason in this window. */
export const HANDSHAKE_LOG_WINDOW_MS = 10_000;

/** One failed handshake, as logged. */
export interface HandshakeFailure {
  readonly side: Side;
  readonly reason: string;
  /** `address:port` of the peer. */
  readonly peer?: string;
  /** The presented certificate's subject, SPIFFE ID and serial, when it presented one. */
  readonly subject?: string;
  readonly spiffeId?: string;
  readonly serialNumber?: string;
  /** True when the handshake completed anyway (a `request` server) and the caller is served anonymously. */
  readonly anonymous?: true;
  readonly error: string;
}

/**
 * Logs failed handshakes at warn level without flooding: the first failure of a side and reason
 * is logged, the next ones within {@link HANDSHAKE_LOG_WINDOW_MS} are only counted, and the next
 * line logged for that reason says how many were suppressed. A scanner or a misconfigured client
 * retrying every 100 ms costs one line per 10 s.
 */
export function createHandshakeLog(
  logger: Logger,
  clock: () => number = Date.now,
): (failure: HandshakeFailure) => void {
  const windows = new Map<string, { until: number; suppressed: number }>();
  return (failure) => {
    const key = `${failure.side}/${failure.reason}`;
    const now = clock();
    const window = windows.get(key);
    if (window && now < window.until) {
      window.suppressed += 1;
      return;
    }
    windows.set(key, { until: now + HANDSHAKE_LOG_WINDOW_MS, suppressed: 0 });
    logger.warn(
      {
        event: 'grpc_tls.handshake_failed',
        ...failure,
        suppressed: window?.suppressed ?? 0,
      },
      `TLS handshake failed (${failure.side} side, ${failure.reason}): ${failure.error}`,
    );
  };
}
