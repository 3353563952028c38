// @sigil/pki: the certificate authority and identity primitives every other Sigil package uses.
export {
  createCertificateAuthority,
  createIntermediateCertificateAuthority,
  crossSignCertificateAuthority,
  loadCertificateAuthority,
  isDnsName,
  DEFAULT_BACKDATE_SECONDS,
} from './ca';
export type {
  CertificateAuthority,
  CertificateAuthorityOptions,
  CertificateProfile,
  CsrSigningPolicy,
  IssueOptions,
  IssuedCertificate,
  LoadCertificateAuthorityOptions,
} from './ca';
export { createCertificateSigningRequest } from './csr';
export { verifyCertificateSigningRequest } from './internal/csr-verification';
export type { VerifiedCsr } from './internal/csr-verification';
export type { CertificateSigningRequestOptions } from './csr';
export {
  generateKeyPair,
  importPrivateKeyPem,
  assertKeyMatchesCertificate,
  KEY_TYPES,
} from './keys';
export type { KeyPair, KeyType, KeyCertificateSources } from './keys';
export { parseCertificatesPem, toPem, fingerprint } from './pem';
export { readCertificateChainFile, readTrustBundleFile, readPrivateKeyFile } from './files';
export {
  writeFileAtomic,
  renameFileDurably,
  PRIVATE_KEY_MODE,
  CERTIFICATE_MODE,
} from './atomic-file';
export type { WriteFileAtomicOptions } from './atomic-file';
export { ensurePrivateDirectory } from './private-directory';
export type { PrivateDirectoryOptions } from './private-directory';
export { describeFileError } from './file-error';
export { parseSpiffeId, parseTrustDomain, formatSpiffeId, isSpiffeId } from './spiffe-id';
export type { SpiffeId } from './spiffe-id';
export {
  authorizeAny,
  authorizeID,
  authorizeOneOf,
  authorizeMemberOf,
  authorizeUnder,
} from './spiffe-id-matcher';
export type { SpiffeIdMatcher } from './spiffe-id-matcher';
export {
  validateX509Svid,
  spiffeIdOfCertificate,
  workloadIdOfCertificate,
  subjectAltNamesOf,
  createTrustBundleSet,
  X509_SVID_RULES,
} from './svid';
export type { TrustBundleSet, ValidateX509SvidOptions, X509SvidValidationResult } from './svid';
export { tokenHash, tokenFingerprint } from './token-fingerprint';
export {
  createPossessionProof,
  createStreamNonce,
  STREAM_NONCE_BYTES,
  verifyPossessionProof,
} from './possession-proof';
export { setCryptoProvider, getCryptoProvider } from './crypto-provider';
export type { CryptoProvider } from './crypto-provider';
