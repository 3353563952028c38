// @sigil/controller: the Sigil control plane — enrollment with one-time tokens, the mTLS control
// stream and renewal, the agent registry, the admin HTTP API and the durable store.
//
// For embedding a controller in-process (the demo's end-to-end tests do); the command line is
// bin/sigil-controller.js.
export { createController } from './controller';

export type { Controller, ControllerOptions, ControllerStopOptions } from './controller';
export type { ControllerConfig } from './config';
export type { AgentStatus, ConnectorView, TunnelerView } from './registry';
export type { EnrollmentTokenRequest, CreatedEnrollmentToken, PendingToken } from './domain/tokens';
export type { RevokeAgentResult } from './domain/revocations';
export type {
  ActivityBatch,
  AgentKind,
  AuditQuery,
  AuditRecord,
  CertificateLineage,
  ConnectorRecord,
  ControllerStore,
  EnrollmentTokenRecord,
  NewAuditRecord,
  NewEnrollmentToken,
  RedemptionResult,
  RevocationRecord,
  TokenRedemption,
  TokenRefusalReason,
  TunnelerRecord,
} from './store/store';
