import type pino from 'pino';
import { SigilError } from '@sigil/errors';
import type { CertificateAuthority } from '@sigil/pki';
import type { controlplaneV1 } from '@sigil/proto';
import type { AgentVersionPinSet, RevocationSet } from '../domain/ports';
import type { AgentRegistry } from '../registry';
import type { AgentKind, ControllerStore } from '../store/store';
import type { AuditLog } from './audit';
import type { RateLimiter } from './rate-limiter';
import type { ControllerMetrics } from './metrics';

/** The runtime CA and the trust bundle agents verify each other with. */
export interface RuntimeTrustState {
  /** The CA that signs agent SVIDs now. */
  ca: CertificateAuthority;
  /** Every root agents must trust (PEM). */
  bundlePem: string;
  /** The upstream-signed CA certificates between those roots and agent leaves (PEM; '' for none). */
  intermediatesPem: string;
  /** Increases whenever the bundle changes. */
  bundleVersion: number;
  /** The generation of `ca` (see domain/trust-lifecycle.ts). */
  generation: number;
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
  /** Records the bundle version an agent reported on a heartbeat (the rotation's acknowledgement). */
  reportBundleVersion: (kind: AgentKind, agentId: string, version: number) => void;
  /** The revocations in force (kept in step with the store). */
  revocations: RevocationSet;
  /** Renewals per agent identity. */
  renewalLimiter: RateLimiter;
  /** How long a replaced certificate may still renew, ms. */
  renewalOverlapMs: number;
  /** Agent clock skew above which `agent.clock_skew` is logged, ms (`CLOCK_SKEW_WARN`). */
  clockSkewWarnMs: number;
  /** notBefore back-dating of agent certificates, seconds (`CERT_BACKDATE`). */
  certBackdateSeconds: number;
  /** The pinned minimum agent versions (kept in step with the store). */
  agentVersions: AgentVersionPinSet;
}

/**
 * The runtime trust bundle as sent on the wire.
 *
 * @example
 * ```ts
 * callback(null, trustBundleMessage(ctx));
 * ```
 */
export function trustBundleMessage(ctx: ControllerContext): controlplaneV1.TrustBundle {
  const runtime = ctx.runtime();
  return {
    trustDomain: ctx.trustDomain,
    rootsPem: runtime.bundlePem,
    version: runtime.bundleVersion,
  };
}

/**
 * A request field the controller refuses (INVALID_ARGUMENT).
 *
 * @example
 * ```ts
 * throw invalidRequest('csr_pem', 'csr_pem is required');
 * ```
 */
export function invalidRequest(field: string, message: string): SigilError {
  return new SigilError('ERR_REQUEST_INVALID', message, { details: { field } });
}

/**
 * A CSR the CA refused to sign (INVALID_ARGUMENT), with the CA's reason.
 *
 * @example
 * ```ts
 * if (isSigilError(err)) throw csrInvalid(err);
 * ```
 */
export function csrInvalid(cause: SigilError): SigilError {
  return new SigilError('ERR_CSR_INVALID', `csr_pem: ${cause.message}`, {
    cause,
    details: { field: 'csr_pem', reason: cause.code },
  });
}
