// @sigil/testing: test tooling shared by Sigil's own suites. Private: never published, imported
// only by tests (devDependencies).
export { createMemoryLogger } from './memory-logger';
export {
  ECHO_SERVICE,
  ECHO_SERVICE_NAME,
  EchoClient,
  HEALTH_SERVICE,
  HealthClient,
  echoImplementation,
  failure,
  startEchoServer,
  unary,
} from './echo-service';
export { forgeCaCertificateWithSpiffeId } from './forge-ca-certificate';
export { waitFor } from './wait-for';
export { readMetric } from './read-metric';
export { spawnBin } from './spawn-bin';
export { startPrivatePostgres } from './private-postgres';

export type { LogRecord, MemoryLogger } from './memory-logger';
export type { EchoHandlers, Json, RunningEchoServer } from './echo-service';
export type { ForgeExtensions, ForgeIssuer } from './forge-ca-certificate';
export type { BinProcess, SpawnBinOptions } from './spawn-bin';
export type { PrivatePostgres, PrivatePostgresOptions } from './private-postgres';
