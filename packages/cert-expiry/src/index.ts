// @sigil/cert-expiry: how long a certificate or chain has left, for start-up checks, alerts and the CLI.
export { validateCertExpiration, assertCertValid, formatCertExpiry } from './cert-expiry';
export type {
  CertExpiryStatus,
  CertExpiryOptions,
  CertExpiryEntry,
  CertExpiryReport,
} from './cert-expiry';
export { validateCertExpirationFile, assertCertFileValid } from './cert-expiry-file';
export type { CertExpiryFileOptions } from './cert-expiry-file';
