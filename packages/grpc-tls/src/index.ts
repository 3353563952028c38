// @sigil/grpc-tls: one call gives a grpc-js server or client correct mutual TLS, from the
// environment conventions our users already have, with certificate rotation and metrics.

// For services: configuration from the environment, then credentials.
export {
  loadServerTlsConfig,
  loadClientTlsConfig,
  ServerTlsConfig,
  ClientTlsConfig,
} from './config';
export { createServerCredentials } from './server-credentials';
export { createClientCredentials } from './client-credentials';
export { describeTlsFailure } from './describe-tls-failure';
export type {
  LoadTlsConfigOptions,
  LoadServerTlsConfigOptions,
  LoadClientTlsConfigOptions,
  TlsMode,
  ClientCertificateMode,
  TlsMinVersion,
  TlsFileSetting,
  TlsConfigWarning,
  TlsReloadSettings,
} from './config';
export type { ServerCredentialsHandle } from './server-credentials';
export type { ClientCredentialsHandle } from './client-credentials';
export type { CredentialsOptions, ReloadResult, ServedCertificate } from './credentials-types';

// For agents that hold their identity in memory and renew it themselves.
export { createRotatingIdentity } from './rotating-identity';
export type {
  RotatingIdentity,
  RotatingIdentityOptions,
  IdentityMaterial,
  IdentitySnapshot,
} from './rotating-identity';

// For tools that diagnose a configuration (`sigil doctor tls`): the chain check the loaders run.
export { verifyIssuedBy } from './internal/material';
export type { MaterialSources } from './internal/material';
