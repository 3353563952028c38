// @sigil/pki: the certificate authority and identity primitives every other Sigil package uses.
export { createCertificateAuthority, createIntermediateCertificateAuthority, loadCertificateAuthority, DEFAULT_BACKDATE_SECONDS } from './ca';
export type { CertificateAuthority, CertificateAuthorityOptions, CertificateProfile, IssueOptions, IssuedCertificate, LoadCertificateAuthorityOptions } from './ca';
export { generateKeyPair, importPrivateKeyPem, keyTypeOf } from './keys';
export type { KeyPair, KeyType } from './keys';
export { parseCertificatesPem, toPem, fingerprint } from './pem';
export { parseSpiffeId, parseTrustDomain, formatSpiffeId, isSpiffeId } from './spiffe-id';
export type { SpiffeId } from './spiffe-id';
