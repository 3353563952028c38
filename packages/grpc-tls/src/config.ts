// The TLS configuration API, by concern: the shared types (tls-config-types), the server and the
// client loaders; the conventions, files, modes and shared settings they use live in internal/.
export { loadServerTlsConfig, ServerTlsConfig } from './server-tls-config';
export type { LoadServerTlsConfigOptions } from './server-tls-config';
export { loadClientTlsConfig, ClientTlsConfig } from './client-tls-config';
export type { LoadClientTlsConfigOptions } from './client-tls-config';
export type {
  LoadTlsConfigOptions,
  TlsConfigWarning,
  TlsFileSetting,
  TlsMinVersion,
  TlsMode,
  ClientCertificateMode,
  TlsReloadSettings,
} from './tls-config-types';
