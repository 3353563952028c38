// @sigil/controller: the Sigil control plane — enrollment with one-time tokens, the mTLS control
// stream and renewal, the agent registry, the admin HTTP API and the durable store.
//
// For users (the demo, tests, embedding a controller in-process):
export { createController } from './controller';
export {
  parseControllerConfig,
  controllerUsage,
  redactUrl,
  CONTROLLER_DEFAULTS,
  MAX_TOKEN_TTL_SECONDS,
} from './config';
export { agentStatus } from './registry';
export { TOKEN_REFUSAL_MESSAGE } from './internal/enrollment';
// For store implementers and operators' tooling:
export { createSqliteStore } from './store/sqlite-store';
export { createPostgresStore } from './store/postgres-store';

export type { Controller, ControllerOptions, ControllerStopOptions } from './controller';
export type {
  ControllerConfig,
  ParseControllerConfigOptions,
  ParsedControllerCommand,
} from './config';
export type { AgentStatus, ConnectorView, TunnelerView } from './registry';
export type { EnrollmentTokenRequest, CreatedEnrollmentToken } from './internal/tokens';
export type { SqliteStoreOptions } from './store/sqlite-store';
export type { PostgresStoreOptions } from './store/postgres-store';
export type {
  ActivityBatch,
  AgentKind,
  AuditQuery,
  AuditRecord,
  ConnectorRecord,
  ControllerStore,
  EnrollmentTokenRecord,
  NewAuditRecord,
  NewEnrollmentToken,
  RedemptionResult,
  TokenRedemption,
  TokenRefusalReason,
  TunnelerRecord,
} from './store/store';
