// @sigil/workload-api: the SPIFFE Workload API. For agents: the server on a unix socket with
// workload attestation from SO_PEERCRED, and the identities it hands out. For workloads and
// other packages (grpc-tls, interceptors): the client and JWT-SVID validation.

// Serving.
export { createWorkloadApiServer } from './workload-api-server';
export { createWorkloadIdentities } from './workload-identities';
export { DEFAULT_WORKLOAD_API_SOCKET } from './socket-path';
export { attestWorkload, unixSelectors, podUidFromCgroup } from './attestation';
export { peerCredentialsOf } from './peer-credentials';
export { matchEntries } from './entries';
export type {
  WorkloadApiServer,
  WorkloadApiServerOptions,
  WorkloadApiLimits,
} from './workload-api-server';
export type {
  WorkloadIdentities,
  WorkloadIdentitiesOptions,
  IssuedWorkloadSvid,
} from './workload-identities';
export type { AttestationOptions } from './attestation';
export type { PeerCredentials } from './peer-credentials';
export type { WorkloadEntry } from './entries';

// Consuming.
export {
  createWorkloadApiClient,
  parseWorkloadApiEndpoint,
  describeWorkloadApiError,
} from './workload-api-client';
export { validateJwtSvid, signingKeysOf, JWT_SVID_ALGORITHMS } from './jwt-svid';
export { WORKLOAD_API_HEADER } from './workload-api-handlers';
export type {
  WorkloadApiClient,
  WorkloadApiClientOptions,
  WorkloadApiEndpoint,
  WorkloadX509Svid,
  X509Context,
  WatchHandlers,
} from './workload-api-client';
export type { ValidatedJwtSvid, ValidateJwtSvidOptions } from './jwt-svid';
