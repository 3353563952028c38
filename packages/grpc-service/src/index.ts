// @sigil/grpc-service: the one way a Sigil gRPC service starts (the sample services in examples/
// are built on it): configuration from the environment, the mTLS server with the interceptor
// chain, gRPC health and the metrics endpoint, upstream clients, handler plumbing and listings.
// Test tooling (a CA, identity files, mTLS clients) is at `@sigil/grpc-service/testing`.

export {
  loadGrpcServiceConfig,
  loadUpstreamConfig,
  parseSpiffeIdList,
} from './grpc-service-config';
export { startGrpcService, createMetricsRegistry } from './grpc-service';
export { reflectionServices } from './reflection';
export { runService } from './run-service';
export { createUpstream } from './upstream';
export { rpcError, assertArgument, unaryHandler } from './rpc';
export { paginate } from './pagination';
export { identityEnv } from './identity-files';

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
export type { HealthService } from './health';
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
export type { IdentityFiles } from './identity-files';
