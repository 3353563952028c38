import type { AgentKind } from '../store/store';
import type { ControllerContext } from './context';

/**
 * Default of `CLOCK_SKEW_WARN`: an agent whose clock is off by more than this (30 s) is logged
 * as `agent.clock_skew` at warn level. Certificates are back-dated by 5 minutes, so a skew above
 * this still works, but is approaching the point where it will not.
 *
 * @example
 * ```ts
 * const warnAboveMs = (options.clockSkewWarnSeconds ?? DEFAULT_CLOCK_SKEW_WARN_SECONDS) * 1000;
 * ```
 */
export const DEFAULT_CLOCK_SKEW_WARN_SECONDS = 30;

/**
 * Measures an agent's clock skew from the send time it reported (`sent_at` of an EnrollRequest or
 * heartbeat, agent clock) and the arrival time (controller clock): records it in the registry
 * (`clock_skew_ms` in the admin API), observes `sigil_controller_agent_clock_skew_seconds`, and
 * logs `agent.clock_skew` when the skew first goes above the warning threshold (and
 * `agent.clock_skew_resolved` when it comes back under). A zero `sentAt` (an older agent) is
 * not measured. Transit time counts as skew: milliseconds on a LAN.
 *
 * @example
 * ```ts
 * recordClockSkew(ctx, 'connector', session.connectorId, hb.sentAt, ctx.clock().getTime());
 * ```
 */
export function recordClockSkew(
  ctx: ControllerContext,
  kind: AgentKind,
  id: string,
  sentAt: number,
  receivedAt: number,
): void {
  if (!(sentAt > 0)) return;
  const skewMs = sentAt - receivedAt;
  const previous = ctx.registry.clockSkewSeen(kind, id, skewMs);
  ctx.metrics.clockSkew.observe({ kind }, Math.abs(skewMs) / 1000);
  const isOver = Math.abs(skewMs) > ctx.clockSkewWarnMs;
  const wasOver = previous !== undefined && Math.abs(previous) > ctx.clockSkewWarnMs;
  // Every heartbeat comes through here: the log fields are built only when the state changes.
  if (isOver === wasOver) return;
  const fields = {
    kind,
    agentId: id.slice(0, 140),
    clockSkewMs: skewMs,
    thresholdMs: ctx.clockSkewWarnMs,
  };
  if (isOver)
    ctx.logger.warn(
      {
        event: 'agent.clock_skew',
        ...fields,
        hint: `the agent's clock is ${Math.round(Math.abs(skewMs) / 1000)} s ${skewMs < 0 ? 'behind' : 'ahead of'} the controller's: check NTP on both hosts`,
      },
      'agent.clock_skew',
    );
  else
    ctx.logger.info({ event: 'agent.clock_skew_resolved', ...fields }, 'agent.clock_skew_resolved');
}
