// @sigil/testing: test tooling shared by Sigil's own suites. Private: never published, imported
// only by tests (devDependencies).
export { createMemoryLogger } from './memory-logger';
export { waitFor } from './wait-for';
export { readMetric } from './read-metric';

export type { MemoryLogger } from './memory-logger';
