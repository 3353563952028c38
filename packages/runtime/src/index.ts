// @sigil/runtime: what every Sigil process shares (the control plane and the gRPC services alike):
// structured logging, listen-address parsing, durations, the health/metrics HTTP endpoint,
// graceful shutdown and a top-level runner that turns errors into one line. No TLS, no gRPC.
export { createLogger, parseLogLevel } from './logger';
export { parseListenAddress, formatListenAddress } from './listen-address';
export { createHttpRequestListener, createHttpServer, startHttpEndpoint } from './http-endpoint';
export { installShutdownHandlers } from './shutdown';
export { runMain } from './run-main';
export { parseResourceAddress, resourceContains } from './resource-address';

export type { LoggerOptions, LogLevel } from './logger';
export type { ListenAddress } from './listen-address';
export type {
  HttpEndpoint,
  HttpEndpointOptions,
  HttpEndpointTls,
  HttpServerHandle,
} from './http-endpoint';
export type { ShutdownOptions } from './shutdown';
export type { RunMainOptions } from './run-main';
export type { ParsedResourceAddress, ResourceAddress } from './resource-address';
