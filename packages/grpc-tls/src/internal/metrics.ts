import type { Registry } from 'prom-client';
import { Counter, Gauge, Histogram } from 'prom-client';

export type Side = 'server' | 'client';

/** The Prometheus metrics of this package (names from the integration guide). */
export interface TlsMetrics {
  readonly handshakeErrors: Counter<'side' | 'reason'>;
  readonly validationFailures: Counter<'side' | 'origin' | 'reason'>;
  readonly handshakeDuration: Histogram<'side'>;
  readonly rotations: Counter<'side' | 'result'>;
  /** Publishes days-to-expiry of a served certificate until the returned function is called. */
  trackExpiry(
    side: Side,
    current: () => { identity: string; notAfter: Date } | undefined,
  ): () => void;
}

interface ExpirySeries {
  readonly side: Side;
  readonly current: () => { identity: string; notAfter: Date } | undefined;
}

const byRegistry = new WeakMap<Registry, TlsMetrics>();

/** The metrics registered in `registry`, created on first use so several endpoints can share one registry. */
export function tlsMetrics(registry: Registry): TlsMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const series = new Set<ExpirySeries>();
  const registers = [registry];
  const metrics: TlsMetrics = {
    handshakeErrors: new Counter({
      name: 'grpc_tls_handshake_errors_total',
      help: 'TLS handshakes that failed, by side (server: incoming, client: outgoing) and reason',
      labelNames: ['side', 'reason'],
      registers,
    }),
    validationFailures: new Counter({
      name: 'grpc_tls_cert_validation_failures_total',
      help: 'Certificates rejected: origin=peer during a handshake, origin=local when our own files failed validation at reload',
      labelNames: ['side', 'origin', 'reason'],
      registers,
    }),
    handshakeDuration: new Histogram({
      name: 'grpc_tls_handshake_duration_seconds',
      help: 'Duration of successful TLS handshakes (server: from TCP accept; client: from TCP connected) until the peer is verified',
      labelNames: ['side'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    rotations: new Counter({
      name: 'grpc_tls_rotations_total',
      help: 'Certificate reloads: result=applied when new material is served, rejected when it failed validation and the old material was kept',
      labelNames: ['side', 'result'],
      registers,
    }),
    trackExpiry(side, current) {
      const entry = { side, current };
      series.add(entry);
      return () => series.delete(entry);
    },
  };
  new Gauge({
    name: 'grpc_tls_cert_expiry_days',
    help: 'Days until the served certificate expires (fractional, negative once expired), computed at scrape time',
    labelNames: ['side', 'identity'],
    registers,
    collect() {
      this.reset();
      const now = Date.now();
      for (const entry of series) {
        const certificate = entry.current();
        if (certificate)
          this.set(
            { side: entry.side, identity: certificate.identity },
            (certificate.notAfter.getTime() - now) / 86_400_000,
          );
      }
    },
  });
  byRegistry.set(registry, metrics);
  return metrics;
}
