import { randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { SigilError } from '@sigil/errors';
import { x509 } from './internal/x509-runtime';
import { generateKeyPair, importPrivateKeyPem, KeyPair, KeyType, keyTypeOf, signingAlgorithmFor, toWebCryptoPrivateKey, toWebCryptoPublicKey } from './keys';
import { parseCertificatesPem, toPem } from './pem';
import { parseSpiffeId, parseTrustDomain } from './spiffe-id';

/** Certificates are back-dated by this much by default, to tolerate clock skew between peers. */
export const DEFAULT_BACKDATE_SECONDS = 60;

/** Options for {@link createCertificateAuthority}. */
export interface CertificateAuthorityOptions {
  /** SPIFFE trust domain; the CA certificate carries `spiffe://<trustDomain>` as its URI SAN. */
  trustDomain: string;
  /** Subject common name. Default `<trustDomain> root CA` / `<trustDomain> intermediate CA`. */
  commonName?: string;
  /** Key type. Default `ec-p256`. */
  keyType?: KeyType;
  /** Lifetime in seconds. Default 10 years for a root, 1 year for an intermediate. */
  ttlSeconds?: number;
  /**
   * pathLenConstraint. Default 1 for a root (it may sign one level of intermediates), 0 for an
   * intermediate (it signs leaves only).
   */
  pathLength?: number;
  /** Issuance time (for tests). Default now. */
  now?: Date;
}

/** Which extended key usages a leaf gets. `svid` is both server and client, as SPIFFE workloads are. */
export type CertificateProfile = 'server' | 'client' | 'svid';

/** Options for {@link CertificateAuthority.issue}. */
export interface IssueOptions {
  /** The SPIFFE ID to place as the single URI SAN. */
  spiffeId?: string;
  /** DNS SANs. */
  dnsNames?: readonly string[];
  /** IP SANs (IPv4 or IPv6). */
  ipAddresses?: readonly string[];
  /** Usage profile. Default `svid` when a SPIFFE ID is given, else `server`. */
  profile?: CertificateProfile;
  /** Lifetime in seconds. Default 24 hours. */
  ttlSeconds?: number;
  /** Subject CN. Default the first DNS name, else empty subject. */
  commonName?: string;
  /** Key type for a generated key. Default `ec-p256`. Ignored when `publicKey` is given. */
  keyType?: KeyType;
  /** Certify this public key (PEM SPKI or KeyObject) instead of generating a key pair. */
  publicKey?: import('node:crypto').KeyObject;
  /** Issuance time (for tests). Default now. */
  now?: Date;
  /** Back-dating of notBefore for clock skew. Default {@link DEFAULT_BACKDATE_SECONDS}. */
  backdateSeconds?: number;
}

/** A certificate issued by a {@link CertificateAuthority}. */
export interface IssuedCertificate {
  /** The leaf certificate, PEM. */
  certificatePem: string;
  /** Leaf then intermediates up to (not including) the root: what a server sends (`tls.crt`). */
  chainPem: string;
  /** The trust bundle (root certificate(s)) to verify it against (`ca.crt`). */
  caPem: string;
  /** PKCS#8 private key, PEM, when the CA generated the key. Never log it. */
  privateKeyPem?: string;
  /** Hex serial number. */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** The SPIFFE ID in the URI SAN, if any. */
  spiffeId?: string;
}

/** A signing CA: a root or an intermediate with its key. */
export interface CertificateAuthority {
  readonly trustDomain: string;
  /** This CA's own certificate. */
  readonly certificate: X509Certificate;
  readonly certificatePem: string;
  /** This CA's PKCS#8 private key. Never log it. */
  readonly privateKeyPem: string;
  readonly keyType: KeyType;
  /** Intermediates between this CA and the root, this CA first, root excluded (empty for a root). */
  readonly intermediatesPem: string;
  /** Root certificate(s): the trust bundle for everything this CA issues. */
  readonly bundlePem: string;
  /** Issues a leaf certificate. */
  issue(options: IssueOptions): Promise<IssuedCertificate>;
}

/**
 * Creates a self-signed root CA for a SPIFFE trust domain: ECDSA P-256 by default, a 128-bit
 * random serial, `cA=true` with pathLen 1, keyCertSign and cRLSign, and the trust-domain URI SAN.
 *
 * @example
 * ```ts
 * const root = await createCertificateAuthority({ trustDomain: 'example.org' });
 * const leaf = await root.issue({ spiffeId: 'spiffe://example.org/svc/api', ttlSeconds: 3600 });
 * ```
 */
export async function createCertificateAuthority(options: CertificateAuthorityOptions): Promise<CertificateAuthority> {
  const trustDomain = parseTrustDomain(options.trustDomain);
  const key = await generateKeyPair(options.keyType ?? 'ec-p256');
  const now = options.now ?? new Date();
  const cert = await signCaCertificate({
    subjectKey: key,
    issuerKey: key,
    issuerName: undefined,
    commonName: options.commonName ?? `${trustDomain} root CA`,
    trustDomain,
    pathLength: options.pathLength ?? 1,
    notBefore: new Date(now.getTime() - DEFAULT_BACKDATE_SECONDS * 1000),
    notAfter: new Date(now.getTime() + (options.ttlSeconds ?? 10 * 365 * 86400) * 1000),
  });
  return buildAuthority(trustDomain, cert, key, [], [cert]);
}

/**
 * Creates an intermediate CA signed by `parent`; leaves it issues chain through it to the
 * parent's roots.
 *
 * @example
 * ```ts
 * const root = await createCertificateAuthority({ trustDomain: 'example.org' });
 * const issuing = await createIntermediateCertificateAuthority(root, { trustDomain: 'example.org' });
 * ```
 */
export async function createIntermediateCertificateAuthority(
  parent: CertificateAuthority,
  options: Partial<CertificateAuthorityOptions> = {},
): Promise<CertificateAuthority> {
  const trustDomain = parseTrustDomain(options.trustDomain ?? parent.trustDomain);
  const key = await generateKeyPair(options.keyType ?? 'ec-p256');
  const parentKey = importPrivateKeyPem(parent.privateKeyPem, 'CA key');
  const now = options.now ?? new Date();
  const cert = await signCaCertificate({
    subjectKey: key,
    issuerKey: parentKey,
    issuerName: subjectNameOf(parent.certificate),
    commonName: options.commonName ?? `${trustDomain} intermediate CA`,
    trustDomain,
    pathLength: options.pathLength ?? 0,
    notBefore: new Date(now.getTime() - DEFAULT_BACKDATE_SECONDS * 1000),
    notAfter: new Date(Math.min(now.getTime() + (options.ttlSeconds ?? 365 * 86400) * 1000, new Date(parent.certificate.validTo).getTime())),
  });
  const parentIntermediates = parent.intermediatesPem === '' ? [] : parseCertificatesPem(parent.intermediatesPem);
  const parentIsRoot = parentIntermediates.length === 0 && parent.certificate.checkIssued(parent.certificate);
  const chain = parentIsRoot ? [] : [parent.certificate, ...parentIntermediates];
  return buildAuthority(trustDomain, cert, key, chain, parseCertificatesPem(parent.bundlePem));
}

/** Inputs of {@link loadCertificateAuthority}. */
export interface LoadCertificateAuthorityOptions {
  /** The CA certificate (PEM); may be followed by its intermediates up to the root. */
  certificatePem: string;
  /** The CA private key (PEM). */
  privateKeyPem: string;
  /** Trust bundle (roots). Default: the CA certificate itself when self-signed, else required. */
  bundlePem?: string;
  /** Names used in errors, e.g. the file paths. */
  certificateSource?: string;
  keySource?: string;
}

/**
 * Loads a CA from PEM (as written by `sigil ca init`), checking that the key matches the
 * certificate, that it is a CA, and that it carries a SPIFFE trust-domain URI SAN.
 *
 * @example
 * ```ts
 * const ca = loadCertificateAuthority({
 *   certificatePem: fs.readFileSync('ca/ca.crt', 'utf8'),
 *   privateKeyPem: fs.readFileSync('ca/ca.key', 'utf8'),
 *   certificateSource: 'ca/ca.crt',
 *   keySource: 'ca/ca.key',
 * });
 * ```
 */
export function loadCertificateAuthority(options: LoadCertificateAuthorityOptions): CertificateAuthority {
  const certSource = options.certificateSource ?? 'CA certificate';
  const [cert, ...intermediates] = parseCertificatesPem(options.certificatePem, certSource);
  const key = importPrivateKeyPem(options.privateKeyPem, options.keySource ?? 'CA key');
  if (!cert!.checkPrivateKey(key.privateKey)) {
    throw new SigilError('ERR_KEY_MISMATCH', `${options.keySource ?? 'CA key'} does not match the certificate in ${certSource}`, {
      details: { file: options.keySource, certificate: certSource },
    });
  }
  if (!cert!.ca) {
    throw new SigilError('ERR_CA_INVALID', `${certSource}: the certificate is not a CA (basicConstraints cA is not true)`, { details: { file: certSource } });
  }
  const uri = (cert!.subjectAltName ?? '').split(', ').find((n) => n.startsWith('URI:spiffe://'));
  if (!uri) {
    throw new SigilError('ERR_CA_INVALID', `${certSource}: the CA has no spiffe://<trust-domain> URI SAN`, { details: { file: certSource } });
  }
  const trustDomain = parseSpiffeId(uri.slice(4)).trustDomain;
  const selfSigned = cert!.checkIssued(cert!) && cert!.verify(cert!.publicKey);
  let bundle: X509Certificate[];
  if (options.bundlePem !== undefined) bundle = parseCertificatesPem(options.bundlePem, 'trust bundle');
  else if (selfSigned) bundle = [cert!];
  else {
    const last = intermediates[intermediates.length - 1];
    if (last && last.checkIssued(last)) {
      bundle = [last];
      intermediates.pop();
    } else {
      throw new SigilError('ERR_CA_INVALID', `${certSource}: an intermediate CA needs its root (append it to the file or pass a bundle)`, {
        details: { file: certSource },
      });
    }
  }
  return buildAuthority(trustDomain, cert!, key, selfSigned ? [] : intermediates, bundle);
}

interface CaSigningInput {
  subjectKey: KeyPair;
  issuerKey: KeyPair;
  issuerName: x509.Name | undefined;
  commonName: string;
  trustDomain: string;
  pathLength: number;
  notBefore: Date;
  notAfter: Date;
}

async function signCaCertificate(input: CaSigningInput): Promise<X509Certificate> {
  const subject = `CN=${escapeDn(input.commonName)}`;
  const publicKey = await toWebCryptoPublicKey(input.subjectKey.publicKey, input.subjectKey.keyType);
  const signingKey = await toWebCryptoPrivateKey(input.issuerKey);
  const issuerPublic = await toWebCryptoPublicKey(input.issuerKey.publicKey, input.issuerKey.keyType);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject,
    issuer: input.issuerName ?? subject,
    notBefore: input.notBefore,
    notAfter: input.notAfter,
    publicKey,
    signingKey,
    signingAlgorithm: signatureParams(input.issuerKey.keyType),
    extensions: [
      new x509.BasicConstraintsExtension(true, input.pathLength, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${input.trustDomain}` }]),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuerPublic),
    ],
  });
  return new X509Certificate(Buffer.from(cert.rawData));
}

function buildAuthority(trustDomain: string, cert: X509Certificate, key: KeyPair, intermediates: X509Certificate[], bundle: X509Certificate[]): CertificateAuthority {
  const certificatePem = toPem([cert]);
  const intermediatesPem = intermediates.length === 0 && bundle.some((b) => b.raw.equals(cert.raw)) ? '' : toPem([cert, ...intermediates]);
  const bundlePem = toPem(bundle);
  const authority: CertificateAuthority = {
    trustDomain,
    certificate: cert,
    certificatePem,
    privateKeyPem: key.privateKeyPem,
    keyType: key.keyType,
    intermediatesPem,
    bundlePem,
    issue: (options) => issueLeaf(authority, key, options),
  };
  return authority;
}

async function issueLeaf(ca: CertificateAuthority, caKey: KeyPair, options: IssueOptions): Promise<IssuedCertificate> {
  const spiffeId = options.spiffeId === undefined ? undefined : parseSpiffeId(options.spiffeId);
  if (spiffeId && spiffeId.trustDomain !== ca.trustDomain) {
    throw new SigilError('ERR_SPIFFE_ID_INVALID', `SPIFFE ID ${spiffeId} is outside this CA's trust domain ${ca.trustDomain}`, {
      details: { spiffeId: String(spiffeId), trustDomain: ca.trustDomain },
    });
  }
  if (spiffeId && spiffeId.path === '') {
    throw new SigilError('ERR_SPIFFE_ID_INVALID', `SPIFFE ID ${spiffeId} has no path; a workload identity needs one`, { details: { spiffeId: String(spiffeId) } });
  }
  const dnsNames = [...(options.dnsNames ?? [])];
  const ipAddresses = [...(options.ipAddresses ?? [])];
  for (const ip of ipAddresses) {
    if (isIP(ip) === 0) throw new SigilError('ERR_SAN_INVALID', `"${ip}" is not an IP address`, { details: { ip } });
  }
  if (!spiffeId && dnsNames.length === 0 && ipAddresses.length === 0) {
    throw new SigilError('ERR_SAN_INVALID', 'a certificate needs at least one identity: a SPIFFE ID, a DNS name or an IP address');
  }
  const profile = options.profile ?? (spiffeId ? 'svid' : 'server');
  const ttl = options.ttlSeconds ?? 86400;
  if (!(ttl > 0)) throw new SigilError('ERR_TTL_INVALID', `lifetime must be positive, got ${ttl} seconds`);
  const now = (options.now ?? new Date()).getTime();
  const notBefore = new Date(now - (options.backdateSeconds ?? DEFAULT_BACKDATE_SECONDS) * 1000);
  const caNotAfter = new Date(ca.certificate.validTo).getTime();
  const notAfter = new Date(Math.min(now + ttl * 1000, caNotAfter));
  let generated: KeyPair | undefined;
  let subjectPublic = options.publicKey;
  let subjectKeyType: KeyType;
  if (subjectPublic) subjectKeyType = keyTypeOf(subjectPublic, 'certified public key');
  else {
    generated = await generateKeyPair(options.keyType ?? 'ec-p256');
    subjectPublic = generated.publicKey;
    subjectKeyType = generated.keyType;
  }
  const publicKey = await toWebCryptoPublicKey(subjectPublic, subjectKeyType);
  const signingKey = await toWebCryptoPrivateKey(caKey);
  const caPublic = await toWebCryptoPublicKey(caKey.publicKey, caKey.keyType);
  const names: { type: 'dns' | 'ip' | 'url'; value: string }[] = [];
  if (spiffeId) names.push({ type: 'url', value: String(spiffeId) });
  for (const n of dnsNames) names.push({ type: 'dns', value: n });
  for (const n of ipAddresses) names.push({ type: 'ip', value: n });
  const eku = profile === 'server' ? [x509.ExtendedKeyUsage.serverAuth] : profile === 'client' ? [x509.ExtendedKeyUsage.clientAuth] : [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];
  // RSA subjects also need keyEncipherment for TLS 1.2 RSA key exchange.
  const usage = x509.KeyUsageFlags.digitalSignature | (subjectKeyType === 'rsa-2048' ? x509.KeyUsageFlags.keyEncipherment : 0);
  const commonName = options.commonName ?? dnsNames[0];
  const serialNumber = randomSerial();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber,
    subject: commonName === undefined ? '' : `CN=${escapeDn(commonName)}`,
    issuer: subjectNameOf(ca.certificate),
    notBefore,
    notAfter,
    publicKey,
    signingKey,
    signingAlgorithm: signatureParams(caKey.keyType),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usage, true),
      new x509.ExtendedKeyUsageExtension(eku, false),
      // An empty subject makes the SAN extension critical (RFC 5280 4.2.1.6).
      new x509.SubjectAlternativeNameExtension(names, commonName === undefined),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caPublic),
    ],
  });
  const leaf = new X509Certificate(Buffer.from(cert.rawData));
  const certificatePem = toPem([leaf]);
  return {
    certificatePem,
    chainPem: certificatePem + ca.intermediatesPem,
    caPem: ca.bundlePem,
    ...(generated ? { privateKeyPem: generated.privateKeyPem } : {}),
    serialNumber: leaf.serialNumber.toLowerCase(),
    notBefore,
    notAfter,
    ...(spiffeId ? { spiffeId: String(spiffeId) } : {}),
  };
}

function signatureParams(keyType: KeyType): webcrypto.Algorithm | webcrypto.EcdsaParams {
  const alg = signingAlgorithmFor(keyType);
  return keyType === 'ec-p256' ? { name: 'ECDSA', hash: 'SHA-256' } : (alg as webcrypto.Algorithm);
}

/** 128 random bits with the top bit cleared so the DER INTEGER stays positive and 16 bytes. */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('hex');
}

function escapeDn(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1');
}

/** The exact subject Name of a certificate, so issuer bytes match the CA's subject bytes. */
function subjectNameOf(certificate: X509Certificate): x509.Name {
  return new x509.X509Certificate(certificate.raw).subjectName;
}
