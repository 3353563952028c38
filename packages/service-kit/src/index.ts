// @sigil/service-kit: what every Sigil process shares — structured logging, listen-address
// parsing, the health/metrics HTTP endpoint, the gRPC health service, graceful shutdown and a
// top-level runner that turns errors into one line — and the one way a Sigil gRPC service starts.

// For every process (the control plane too).
export { createLogger, parseLogLevel } from './logger';
export { parseListenAddress, formatListenAddress } from './listen-address';
export { parseDurationMs } from '@sigil/settings';
export { startHttpEndpoint } from './http-endpoint';
export { createHealthService } from './health';
export { installShutdownHandlers } from './shutdown';
export { runMain } from './run-main';

// For gRPC services: configuration, bootstrap, upstream calls, handlers, listings.
export {
  loadGrpcServiceConfig,
  loadUpstreamConfig,
  parsePositiveInteger,
  parseSpiffeIdList,
  TRUST_DOMAIN_ENV,
} from './grpc-service-config';
export { startGrpcService, createMetricsRegistry } from './grpc-service';
export { runService } from './run-service';
export { createUpstream } from './upstream';
export { rpcError, isRpcError, assertArgument, unaryHandler } from './rpc';
export { paginate } from './pagination';
export { renderPolicyTemplate } from './policy-template';

// For tests and tooling: identity files in the cert-manager layout, the env naming them, a test bench.
export { writeIdentityFiles, identityEnv } from './identity-files';
export { createTestBench } from './test-bench';
export { createMemoryLogger } from './memory-logger';

export type { LoggerOptions, LogLevel } from './logger';
export type { ListenAddress } from './listen-address';
export type { HttpEndpoint, HttpEndpointOptions } from './http-endpoint';
export type { HealthService } from './health';
export type { ShutdownOptions } from './shutdown';
export type { RunMainOptions } from './run-main';
export type {
  Environment,
  GrpcServiceConfig,
  LoadGrpcServiceConfigOptions,
  LoadUpstreamConfigOptions,
  UpstreamConfig,
} from './grpc-service-config';
export type {
  GrpcServiceRegistration,
  RunningGrpcService,
  StartGrpcServiceOptions,
} from './grpc-service';
export type { RunServiceOptions } from './run-service';
export type {
  ClientConstructor,
  UnaryMethodName,
  Upstream,
  UpstreamCallOptions,
  UpstreamOptions,
} from './upstream';
export type { RpcError } from './rpc';
export type { Page, PageRequest, PaginateOptions } from './pagination';
export type { PolicyTemplateVariables } from './policy-template';
export type { IdentityFiles, IdentityPem } from './identity-files';
export type { TestBench, TestBenchOptions } from './test-bench';
export type { MemoryLogger } from './memory-logger';
