import type * as grpc from '@grpc/grpc-js';
import type pino from 'pino';
import type { CertificateAuthority } from '@sigil/pki';
import type { controlplaneV1 } from '@sigil/proto';
import type { AgentRegistry } from '../registry';
import type { AgentKind, ControllerStore } from '../store/store';
import type { AuditLog } from './audit';
import type { ControllerMetrics } from './metrics';

/** The runtime CA and the trust bundle agents verify each other with. */
export interface RuntimeTrustState {
  /** The CA that signs agent SVIDs now. */
  ca: CertificateAuthority;
  /** Every root agents must trust (PEM). */
  bundlePem: string;
  /** Increases whenever the bundle changes. */
  bundleVersion: number;
}

/** What the gRPC services and the admin API share. */
export interface ControllerContext {
  trustDomain: string;
  /** SVID lifetime per agent kind, seconds. */
  lifetimes: Record<AgentKind, number>;
  store: ControllerStore;
  registry: AgentRegistry;
  audit: AuditLog;
  metrics: ControllerMetrics;
  logger: pino.Logger;
  clock: () => Date;
  runtime: () => RuntimeTrustState;
}

/** The runtime trust bundle as sent on the wire. */
export function trustBundleMessage(ctx: ControllerContext): controlplaneV1.TrustBundle {
  const runtime = ctx.runtime();
  return {
    trustDomain: ctx.trustDomain,
    rootsPem: runtime.bundlePem,
    version: runtime.bundleVersion,
  };
}

/** A gRPC status to fail a call with. */
export function grpcStatus(code: grpc.status, details: string): grpc.ServerErrorResponse {
  return Object.assign(new Error(details), { code, details });
}
