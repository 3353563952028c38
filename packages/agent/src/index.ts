// @sigil/agent: what the connector and the tunneler share — configuration, enrollment, the
// identity persisted in STATE_DIR, renewal, reconnect with backoff, the controller dialer with
// failover, the supervised heartbeat stream, metrics and the command line.

// For the agents (sigil-connector, sigil-tunneler):
export { runAgentCli, startAgent } from './cli';
export { startAgentRuntime, enrollFromConfig } from './agent-runtime';
export { createAgentSession } from './agent-session';
export { createStreamSupervisor } from './stream-supervisor';
export { resolveAgentConfig, CONFIG_FILE_ENV } from './config';
export { AGENT_SETTINGS, settingsFor } from './settings';

// Building blocks:
export { enrollAgent, EXIT_ENROLLMENT_REFUSED, EXIT_CONTROLLER_UNREACHABLE } from './enrollment';
export { createIdentityStore, STATE_FILES } from './identity-store';
export { summarizeCertificateChain } from './identity';
export { createControllerDialer } from './controller-dialer';
export {
  createRenewalScheduler,
  renewalTime,
  DEFAULT_RENEW_REMAINING_FRACTION,
  DEFAULT_RENEW_JITTER_FRACTION,
} from './renewal';
export { createBackoff } from './backoff';
export { createAgentMetrics } from './agent-metrics';
export { tokenFingerprint } from '@sigil/pki';

export type { AgentCliOptions, AgentStartContext, RunningAgent, RunningAgentPart } from './cli';
export type { AgentRuntime, AgentRuntimeOptions, EnrollmentResult } from './agent-runtime';
export type { AgentSession, AgentSessionOptions } from './agent-session';
export type {
  StreamSupervisor,
  StreamSupervisorOptions,
  SupervisedMessage,
  OpenedStream,
} from './stream-supervisor';
export type { AgentConfig, AgentConfigSources } from './config';
export type { AgentSetting, AgentSettingName, AgentCommand } from './settings';
export type { EnrollAgentOptions } from './enrollment';
export type { IdentityStore, IdentityStoreOptions } from './identity-store';
export type { AgentIdentity, AgentKind, CertificateSummary } from './identity';
export type { ControllerDialer, ControllerDialerOptions } from './controller-dialer';
export type {
  RenewalScheduler,
  RenewalSchedulerOptions,
  RenewalTimeOptions,
  RenewalReason,
  CertificateValidity,
} from './renewal';
export type { Backoff, BackoffOptions } from './backoff';
export type { AgentMetrics, AgentMetricsOptions } from './agent-metrics';
