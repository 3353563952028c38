import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { AgentKind } from './identity';

/**
 * The Prometheus metrics every agent exports on /metrics.
 *
 * @example
 * ```ts
 * const metrics: AgentMetrics = createAgentMetrics({ kind: 'tunneler', agentId: 'laptop-7', version, certificateExpirySeconds });
 * metrics.renewals.inc({ result: 'success' });
 * const text = await metrics.registry.metrics();
 * ```
 */
export interface AgentMetrics {
  readonly registry: Registry;
  /** Heartbeats written to the stream (the connector's own, or the tunneler's). */
  readonly heartbeatsSent: Counter;
  /** HeartbeatAcks received from the peer. */
  readonly heartbeatAcks: Counter;
  /** Sequence number of the latest acknowledged heartbeat. */
  readonly lastAckedSequence: Gauge;
  /** Streams established (a stream that stays up across renewals counts once). */
  readonly streamConnects: Counter;
  /** Reconnect attempts after a stream failed or could not be opened. */
  readonly reconnects: Counter;
  /** 1 while the stream is up. */
  readonly streamUp: Gauge;
  /** Renewals by result (`success`, `failure`). */
  readonly renewals: Counter<'result'>;
  /** Trust bundle updates applied. */
  readonly bundleUpdates: Counter;
  /** In-band re-authentications of the open stream after a renewal, by result (`sent`, `extended`). */
  readonly streamReauthentications: Counter<'result'>;
  /** Failed writes of the identity to STATE_DIR (each retry counts). */
  readonly stateWriteFailures: Counter;
  /** 1 while the identity in use is the one in STATE_DIR. */
  readonly identityPersisted: Gauge;
}

/**
 * Options of {@link createAgentMetrics}.
 *
 * @example
 * ```ts
 * const options: AgentMetricsOptions = {
 *   kind: 'connector', agentId: 'edge-1', version: '0.1.0',
 *   certificateExpirySeconds: () => (identity.notAfter.getTime() - Date.now()) / 1000,
 * };
 * const metrics = createAgentMetrics(options);
 * ```
 */
export interface AgentMetricsOptions {
  kind: AgentKind;
  agentId: string;
  version: string;
  /** Seconds until the current certificate expires, read at every scrape. */
  certificateExpirySeconds: () => number;
  /** Default: a new registry with the process metrics of prom-client. */
  registry?: Registry;
}

/**
 * Creates the agent metrics: `sigil_agent_heartbeats_sent_total`, `sigil_agent_heartbeat_acks_total`,
 * `sigil_agent_last_acked_sequence`, `sigil_agent_stream_connects_total`, `sigil_agent_reconnects_total`,
 * `sigil_agent_stream_up`, `sigil_agent_renewals_total{result}`, `sigil_agent_bundle_updates_total`,
 * `sigil_agent_certificate_expiry_seconds`, `sigil_agent_state_write_failures_total`,
 * `sigil_agent_identity_persisted` and `sigil_agent_info{kind,id,version}`.
 *
 * @example
 * ```ts
 * const metrics = createAgentMetrics({ kind: 'connector', agentId: 'edge-1', version: '0.1.0', certificateExpirySeconds: () => 3600 });
 * metrics.heartbeatsSent.inc();
 * ```
 */
export function createAgentMetrics(options: AgentMetricsOptions): AgentMetrics {
  const registry = options.registry ?? new Registry();
  if (options.registry === undefined) collectDefaultMetrics({ register: registry });
  const info = new Gauge({
    name: 'sigil_agent_info',
    help: 'Agent kind, id and version.',
    labelNames: ['kind', 'id', 'version'],
    registers: [registry],
  });
  info.set({ kind: options.kind, id: options.agentId, version: options.version }, 1);
  new Gauge({
    name: 'sigil_agent_certificate_expiry_seconds',
    help: 'Seconds until the current X509-SVID expires.',
    registers: [registry],
    collect() {
      this.set(Math.round(options.certificateExpirySeconds()));
    },
  });
  return {
    registry,
    heartbeatsSent: new Counter({
      name: 'sigil_agent_heartbeats_sent_total',
      help: 'Heartbeats sent.',
      registers: [registry],
    }),
    heartbeatAcks: new Counter({
      name: 'sigil_agent_heartbeat_acks_total',
      help: 'Heartbeat acknowledgements received.',
      registers: [registry],
    }),
    lastAckedSequence: new Gauge({
      name: 'sigil_agent_last_acked_sequence',
      help: 'Sequence number of the latest acknowledged heartbeat.',
      registers: [registry],
    }),
    streamConnects: new Counter({
      name: 'sigil_agent_stream_connects_total',
      help: 'Streams established.',
      registers: [registry],
    }),
    reconnects: new Counter({
      name: 'sigil_agent_reconnects_total',
      help: 'Reconnect attempts after a stream failed.',
      registers: [registry],
    }),
    streamUp: new Gauge({
      name: 'sigil_agent_stream_up',
      help: '1 while the stream is up.',
      registers: [registry],
    }),
    renewals: new Counter({
      name: 'sigil_agent_renewals_total',
      help: 'Certificate renewals by result.',
      labelNames: ['result'],
      registers: [registry],
    }),
    bundleUpdates: new Counter({
      name: 'sigil_agent_bundle_updates_total',
      help: 'Trust bundle updates applied.',
      registers: [registry],
    }),
    streamReauthentications: new Counter({
      name: 'sigil_agent_stream_reauthentications_total',
      help: 'In-band re-authentications of the open stream after a renewal, by result (sent, extended).',
      labelNames: ['result'],
      registers: [registry],
    }),
    stateWriteFailures: new Counter({
      name: 'sigil_agent_state_write_failures_total',
      help: 'Failed writes of the identity to STATE_DIR (read-only or full disk), retries included.',
      registers: [registry],
    }),
    identityPersisted: new Gauge({
      name: 'sigil_agent_identity_persisted',
      help: '1 while the identity in use is the one in STATE_DIR; 0 while its write keeps failing (a restart would start from an older identity).',
      registers: [registry],
    }),
  };
}
