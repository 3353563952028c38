// @sigil/agent: what the connector and the tunneler share — configuration, enrollment, the
// identity persisted in STATE_DIR, renewal, reconnect with backoff, the controller dialer with
// failover, the supervised heartbeat stream, metrics and the command line. Exported is what
// sigil-connector and sigil-tunneler (and the tests that start them in process) use.

// The command line and the in-process start of an agent.
export { runAgentCli, startAgent } from './cli';
export { resolveAgentConfig } from './config';
export { enrollFromConfig } from './agent-runtime';
// What a kind-specific part builds on.
export { createStreamSupervisor } from './stream-supervisor';
// Enrollment and the stored identity, for tools and tests that enroll without running an agent.
export { enrollAgent } from './enrollment';
export { createIdentityStore, STATE_FILES } from './identity-store';
export { renewalTime } from './renewal';
export { createUpgradeNotice } from './upgrade-notice';
export { tokenFingerprint } from '@sigil/pki';

export type { AgentCliOptions, AgentStartContext, RunningAgent, RunningAgentPart } from './cli';
export type { AgentRuntime, AgentRuntimeOptions, EnrollmentResult } from './agent-runtime';
export type { AgentSession, AgentSessionOptions } from './agent-session';
export type {
  StreamSupervisor,
  StreamSupervisorOptions,
  SupervisedMessage,
  OpenedStream,
  StreamReauthentication,
  RevocationEvidence,
} from './stream-supervisor';
export type { AgentConfig, AgentConfigSources } from './config';
export type { ForwardSpec } from './forward-spec';
export type { AgentCommand, AgentSettingName } from './settings';
export type { EnrollAgentOptions } from './enrollment';
export type { IdentityStore, IdentityStoreOptions } from './identity-store';
export type { AgentIdentity, AgentKind } from './identity';
export type { CertificateValidity, RenewalTimeOptions } from './renewal';
export type { BackoffOptions } from './backoff';
export type { ControllerDialer } from './controller-dialer';
export type { AgentMetrics } from './agent-metrics';
export type { UpgradeNotice, UpgradeNoticeOptions } from './upgrade-notice';
