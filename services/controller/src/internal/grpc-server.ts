import * as grpc from '@grpc/grpc-js';
import { controlplaneV1 } from '@sigil/proto';
import { createAgentAuthorizationInterceptor, type AgentAuthorizationOptions } from './agent-peer';
import type { ControllerContext } from './context';
import type { ControlPlane } from './control-plane';
import { createEnrollmentService } from './enrollment';

/**
 * The controller's gRPC server: agent authorization (@sigil/interceptors) in front of
 * ControlPlaneService, EnrollmentService open, keepalive pings on every connection.
 *
 * @example
 * ```ts
 * const guard = createGrpcGuard({ limits, clock, enrollPath });
 * const server = createGrpcServer(ctx, controlPlane, { options: grpcServerOptions(limits), interceptors: [guard.interceptor] });
 * const port = await guard.listen(server, tls.credentials, { host: '127.0.0.1', port: 0 });
 * ```
 */
export function createGrpcServer(
  ctx: ControllerContext,
  controlPlane: ControlPlane,
  limits: {
    options: grpc.ServerOptions;
    interceptors: grpc.ServerInterceptor[];
    /** The connection guard's view of each connection's client certificate (labels `expired`). */
    presentedCertificate?: AgentAuthorizationOptions['presentedCertificate'];
  } = {
    options: {},
    interceptors: [],
  },
): grpc.Server {
  const server = new grpc.Server({
    ...limits.options,
    interceptors: [
      ...limits.interceptors,
      createAgentAuthorizationInterceptor({
        trustDomain: ctx.trustDomain,
        trust: {
          bundlePem: () => ctx.runtime().bundlePem,
          intermediatesPem: () => ctx.runtime().intermediatesPem,
          trustDomain: ctx.trustDomain,
          clock: ctx.clock,
        },
        logger: ctx.logger,
        registry: ctx.metrics.registry,
        ...(limits.presentedCertificate === undefined
          ? {}
          : { presentedCertificate: limits.presentedCertificate }),
        onRefused: (refusal) => {
          ctx.metrics.refusals.inc({ reason: refusal.reason });
          void ctx.audit.record({
            action: 'controlplane.refused',
            outcome: 'refused',
            actor: refusal.peerAddress,
            subject: refusal.method,
            details: { reason: refusal.reason, message: refusal.message },
          });
        },
      }),
    ],
    // Connectors hold one long stream: ping every connection so a vanished peer (no FIN)
    // cancels its stream within 40 s instead of lingering until the OS gives up.
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
  });
  server.addService(
    controlplaneV1.EnrollmentServiceService,
    createEnrollmentService(ctx, (kind, token, previousConnectorId) => {
      if (kind !== 'tunneler' || token.connectorId === null) return;
      controlPlane.pushApprovedTunnelers(token.connectorId);
      // Re-enrolled under another connector: the old one must stop admitting it.
      if (previousConnectorId !== undefined && previousConnectorId !== token.connectorId)
        controlPlane.pushApprovedTunnelers(previousConnectorId);
    }),
  );
  server.addService(controlplaneV1.ControlPlaneServiceService, controlPlane.implementation);
  return server;
}

/**
 * Lets in-flight RPCs finish for `graceMs`, then forces the server down.
 *
 * @example
 * ```ts
 * await shutdownServer(server, 5000);
 * ```
 */
export function shutdownServer(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      done();
    }, graceMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      done();
    });
  });
}
