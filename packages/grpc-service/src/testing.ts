// @sigil/grpc-service/testing: test tooling for services built on @sigil/grpc-service, kept out of
// the main entry: a test bench (a real CA, X509-SVIDs in the cert-manager layout, the environment
// naming them, policy files, mTLS clients) and the identity-file writer it uses.
export { createTestBench } from './test-bench';
export { writeIdentityFiles } from './identity-files';

export type { TestBench, TestBenchOptions } from './test-bench';
export type { IdentityFiles, IdentityPem } from './identity-files';
