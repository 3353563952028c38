import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { validateCertExpiration } from '@sigil/cert-expiry';
import type { AgentKind } from '../store/store';

/** Why the controller refused something; the `reason` label of `sigil_controller_refusals_total`. */
export type RefusalReason =
  | 'agent_revoked'
  | 'certificate_superseded'
  | 'rate_limited'
  | 'reauthentication_invalid'
  | 'stream_expired'
  | 'token_unknown'
  | 'token_expired'
  | 'token_used'
  | 'token_mismatch'
  | 'csr_invalid'
  | 'request_invalid'
  | 'svid_missing'
  | 'expired'
  | 'svid_invalid'
  | 'wrong_agent_kind'
  | 'admin_unauthorized'
  | 'connection_limit'
  | 'address_connection_limit'
  | 'handshake_timeout'
  | 'unauthenticated_timeout'
  | 'enrollment_rate_limited';

/** The controller's Prometheus metrics, on a registry of its own. */
export interface ControllerMetrics {
  registry: Registry;
  enrollments: Counter<'kind'>;
  renewals: Counter<'kind'>;
  refusals: Counter<'reason'>;
  heartbeatLatency: Histogram;
  /** |agent clock - controller clock| measured at enrollment and on each heartbeat. */
  clockSkew: Histogram<'kind'>;
  /** A new control stream replaced a live one of the same connector. */
  streamConflicts: Counter<'kind'>;
  /** Control streams extended by an in-band re-authentication. */
  reauthentications: Counter<'kind'>;
}

/** What the gauges read when scraped. */
export interface MetricsSources {
  connectedConnectors: () => number;
  agentCounts: () => Record<AgentKind, { online: number; offline: number }>;
  /** PEM of each certificate to report days left for, by label. */
  certificates: () => Record<string, string>;
  now: () => Date;
}

/**
 * The controller's metrics on a fresh registry; gauges read `sources` when scraped.
 *
 * @example
 * ```ts
 * const metrics = createControllerMetrics({ connectedConnectors: () => 0, agentCounts, certificates: () => ({}), now: () => new Date() });
 * ```
 */
export function createControllerMetrics(sources: MetricsSources): ControllerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sigil_controller_' });
  const enrollments = new Counter({
    name: 'sigil_controller_enrollments_total',
    help: 'Successful enrollments',
    labelNames: ['kind'],
    registers: [registry],
  });
  const renewals = new Counter({
    name: 'sigil_controller_renewals_total',
    help: 'Certificates renewed over ControlPlaneService.Renew',
    labelNames: ['kind'],
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'sigil_controller_refusals_total',
    help: 'Refused enrollments, renewals, control-plane calls and admin requests, by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
  const heartbeatLatency = new Histogram({
    name: 'sigil_controller_heartbeat_latency_seconds',
    help: 'Heartbeat transit time: arrival at the controller minus the agent send time (sent_at)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const clockSkew = new Histogram({
    name: 'sigil_controller_agent_clock_skew_seconds',
    help: 'Absolute clock skew of agents: |agent send time (sent_at) - controller arrival time|, at enrollment and on each heartbeat',
    labelNames: ['kind'],
    buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 3600],
    registers: [registry],
  });
  new Gauge({
    name: 'sigil_controller_connected_agents',
    help: 'Connectors with an open control stream; tunnelers ONLINE through their connector',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.set({ kind: 'connector' }, sources.connectedConnectors());
      this.set({ kind: 'tunneler' }, sources.agentCounts().tunneler.online);
    },
  });
  new Gauge({
    name: 'sigil_controller_agents',
    help: 'Registered agents by kind and status (ONLINE/OFFLINE from the heartbeat deadline)',
    labelNames: ['kind', 'status'],
    registers: [registry],
    collect() {
      const counts = sources.agentCounts();
      for (const kind of ['connector', 'tunneler'] as const) {
        this.set({ kind, status: 'ONLINE' }, counts[kind].online);
        this.set({ kind, status: 'OFFLINE' }, counts[kind].offline);
      }
    },
  });
  new Gauge({
    name: 'sigil_controller_certificate_expiry_days',
    help: 'Days until the controller TLS certificate and its CAs expire',
    labelNames: ['certificate'],
    registers: [registry],
    collect() {
      const now = sources.now();
      for (const [certificate, pem] of Object.entries(sources.certificates())) {
        this.set({ certificate }, validateCertExpiration(pem, { now }).gaugeValue);
      }
    },
  });
  const streamConflicts = new Counter({
    name: 'sigil_controller_stream_conflicts_total',
    help: 'Control streams that replaced a live stream of the same agent identity (a copied identity, or a reconnect racing a half-open stream)',
    labelNames: ['kind'],
    registers: [registry],
  });
  const reauthentications = new Counter({
    name: 'sigil_controller_stream_reauthentications_total',
    help: 'Control streams extended by an in-band re-authentication with a renewed certificate',
    labelNames: ['kind'],
    registers: [registry],
  });
  return {
    registry,
    enrollments,
    renewals,
    refusals,
    heartbeatLatency,
    clockSkew,
    streamConflicts,
    reauthentications,
  };
}
