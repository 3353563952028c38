import { parseSpiffeId } from '@sigil/pki';
import type { controlplaneV1 } from '@sigil/proto';
import { agentSpiffeId } from './agent-identity';
import type { ControllerContext } from './context';

const bounded = (text: string, max = 140): string => text.slice(0, max);
const count = (n: number): number => (Number.isSafeInteger(n) && n >= 0 ? n : 0);
const iso = (ms: number): string | null =>
  ms > 0 && ms < 8.64e15 ? new Date(ms).toISOString() : null;

/**
 * Writes a connector's TunnelReport to the audit log: `tunnel.closed` (outcome success) for a
 * connection that ran, `tunnel.refused` for one refused; actor the connector's SPIFFE ID,
 * subject the tunneler's, with the resource, target, start, end, bytes each way and the reason.
 * Every field is bounded: a connector cannot bloat the log.
 *
 * @example
 * ```ts
 * case 'tunnelReport': recordTunnelReport(ctx, session.spiffeId, body.tunnelReport); return;
 * ```
 */
export function recordTunnelReport(
  ctx: ControllerContext,
  connectorSpiffeId: string,
  report: controlplaneV1.TunnelReport,
): void {
  const tunnelerId = bounded(report.tunnelerId, 128);
  let subject = `tunneler:${tunnelerId}`;
  try {
    subject = String(parseSpiffeId(agentSpiffeId(ctx.trustDomain, 'tunneler', tunnelerId)));
  } catch {
    // Not an agent id: keep the bounded raw form.
  }
  void ctx.audit.record({
    action: report.refused ? 'tunnel.refused' : 'tunnel.closed',
    outcome: report.refused ? 'refused' : 'success',
    actor: connectorSpiffeId,
    subject,
    details: {
      resource: bounded(report.resource, 64),
      target: bounded(report.target, 64),
      started_at: iso(report.startedAt),
      ended_at: iso(report.endedAt),
      bytes_up: count(report.bytesUp),
      bytes_down: count(report.bytesDown),
      reason: bounded(report.closeReason, 64),
    },
  });
}
