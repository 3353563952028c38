// @sigil/testing: test tooling shared by Sigil's own suites. Private: never published, imported
// only by tests (devDependencies).
export { createMemoryLogger } from './memory-logger';
export { forgeCaCertificateWithSpiffeId } from './forge-ca-certificate';
export { waitFor } from './wait-for';
export { readMetric } from './read-metric';
export { spawnBin } from './spawn-bin';

export type { LogRecord, MemoryLogger } from './memory-logger';
export type { ForgeIssuer } from './forge-ca-certificate';
export type { BinProcess, SpawnBinOptions } from './spawn-bin';
