import { createPublicKey, KeyObject, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { SigilError } from '@sigil/errors';
import { certificateInfo } from './internal/certificate-info';
import { commonNameOnly } from './internal/names';
import type { LeafTemplate } from './internal/leaf-template';
import { createLeafTemplate, randomSerial, subjectPublicKeyOf } from './internal/leaf-template';
import { x509 } from './internal/x509-runtime';
import { verifyCertificateSigningRequest } from './internal/csr-verification';
import { derToPem } from './internal/pem-encoding';
import {
  signatureAlgorithmFor,
  toWebCryptoPrivateKey,
  toWebCryptoPublicKey,
} from './internal/webcrypto-keys';
import type { KeyPair, KeyType } from './keys';
import {
  assertKeyMatchesCertificate,
  generateKeyPair,
  importPrivateKeyPem,
  keyTypeOf,
} from './keys';
import { parseCertificatesPem, toPem } from './pem';
import { parseSpiffeId, parseTrustDomain } from './spiffe-id';

/**
 * Certificates are back-dated by this much by default (5 minutes), to tolerate clock skew between
 * peers: a peer whose clock is behind the issuer's by less than this still finds a certificate
 * issued a moment ago valid. step-ca and SPIRE back-date their certificates for the same reason.
 *
 * @example
 * ```ts
 * await ca.issue({ spiffeId, now }); // notBefore = now - DEFAULT_BACKDATE_SECONDS
 * ```
 */
export const DEFAULT_BACKDATE_SECONDS = 300;

const DEFAULT_LEAF_TTL_SECONDS = 24 * 3600;
const DEFAULT_ROOT_TTL_SECONDS = 10 * 365 * 86400;
const DEFAULT_INTERMEDIATE_TTL_SECONDS = 365 * 86400;
/** X.520 ub-common-name. */
const MAX_COMMON_NAME = 64;
const DNS_NAME = /^(\*\.)?(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$/;

/**
 * Options for {@link createCertificateAuthority}.
 *
 * @example
 * ```ts
 * const options: CertificateAuthorityOptions = { trustDomain: 'example.org', keyType: 'ec-p256', ttlSeconds: 5 * 365 * 86400 };
 * const root = await createCertificateAuthority(options);
 * ```
 */
export interface CertificateAuthorityOptions {
  /** SPIFFE trust domain; the CA certificate carries `spiffe://<trustDomain>` as its URI SAN. */
  trustDomain: string;
  /** Subject common name. Default `<trustDomain> root CA` / `<trustDomain> intermediate CA`. */
  commonName?: string;
  /** Key type. Default `ec-p256`. */
  keyType?: KeyType;
  /** Lifetime in seconds. Default 10 years for a root, 1 year for an intermediate (never past its parent). */
  ttlSeconds?: number;
  /**
   * pathLenConstraint. Default 1 for a root (it may sign one level of intermediates), 0 for an
   * intermediate (it signs leaves only).
   */
  pathLength?: number;
  /** Issuance time (for tests). Default now. */
  now?: Date;
}

/**
 * Which extended key usages a leaf gets. `svid` is both server and client, as SPIFFE workloads are.
 *
 * @example
 * ```ts
 * await ca.issue({ dnsNames: ['api.internal'], profile: 'server' });
 * ```
 */
export type CertificateProfile = 'server' | 'client' | 'svid';

/**
 * Options for {@link CertificateAuthority.issue}.
 *
 * @example
 * ```ts
 * const options: IssueOptions = { spiffeId: 'spiffe://example.org/svc/api', dnsNames: ['api.internal'], ttlSeconds: 3600 };
 * const issued = await ca.issue(options);
 * ```
 */
export interface IssueOptions {
  /** The SPIFFE ID to place as the single URI SAN; it must be in the CA's trust domain and have a path. */
  spiffeId?: string;
  /** DNS SANs (`*.` wildcards allowed). */
  dnsNames?: readonly string[];
  /** IP SANs (IPv4 or IPv6). */
  ipAddresses?: readonly string[];
  /** Usage profile. Default `svid` when a SPIFFE ID is given, else `server`. */
  profile?: CertificateProfile;
  /** Lifetime in seconds, from minutes to years. Default 24 hours; never past the CA's own expiry. */
  ttlSeconds?: number;
  /** Subject CN. Default the first DNS name, else an empty subject (and a critical SAN extension). */
  commonName?: string;
  /** Key type for a generated key. Default `ec-p256`. Ignored when `publicKey` is given. */
  keyType?: KeyType;
  /** Certify this public key (a KeyObject or SPKI PEM) instead of generating a key pair. */
  publicKey?: KeyObject | string;
  /** Issuance time (for tests). Default now. */
  now?: Date;
  /** Back-dating of notBefore for clock skew. Default {@link DEFAULT_BACKDATE_SECONDS}. */
  backdateSeconds?: number;
}

/**
 * The policy a CA applies when signing a CSR: everything but the public key comes from here,
 * whatever the CSR asks for.
 *
 * @example
 * ```ts
 * const policy: CsrSigningPolicy = { spiffeId: registeredId, ttlSeconds: 3600, profile: 'svid' };
 * const issued = await ca.signCsr(csrPem, policy);
 * ```
 */
export type CsrSigningPolicy = Omit<IssueOptions, 'keyType' | 'publicKey'>;

/**
 * A certificate issued by a {@link CertificateAuthority}.
 *
 * @example
 * ```ts
 * const issued = await ca.issue({ spiffeId: 'spiffe://example.org/svc/api' });
 * fs.writeFileSync('tls.crt', issued.chainPem);
 * fs.writeFileSync('tls.key', issued.privateKeyPem!, { mode: 0o600 });
 * fs.writeFileSync('ca.crt', issued.caPem);
 * ```
 */
export interface IssuedCertificate {
  /** The leaf certificate, PEM. */
  certificatePem: string;
  /** Leaf then intermediates up to (not including) the root: what a server sends (`tls.crt`). */
  chainPem: string;
  /** The trust bundle (root certificate(s)) to verify it against (`ca.crt`). */
  caPem: string;
  /** PKCS#8 private key, PEM, when the CA generated the key. Never log it. */
  privateKeyPem?: string;
  /** Lowercase hex serial number (128 random bits). */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** The SPIFFE ID in the URI SAN, if any. */
  spiffeId?: string;
}

/**
 * A signing CA: a root or an intermediate with its key.
 *
 * @example
 * ```ts
 * const ca: CertificateAuthority = await createCertificateAuthority({ trustDomain: 'example.org' });
 * const issued = await ca.signCsr(csrPem, { spiffeId: 'spiffe://example.org/svc/api' });
 * ```
 */
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
  /**
   * Signs a PEM PKCS#10 CSR under `policy`: the CSR supplies only its (verified, strong) public
   * key. Throws `ERR_CSR_INVALID` for a malformed CSR, a failed self-signature or a weak key.
   */
  signCsr(csrPem: string, policy: CsrSigningPolicy): Promise<IssuedCertificate>;
}

/**
 * Creates a self-signed root CA for a SPIFFE trust domain: ECDSA P-256 by default, a 128-bit
 * random serial, `cA=true` with pathLen 1, keyCertSign and cRLSign (critical), and the
 * trust-domain URI SAN.
 *
 * @example
 * ```ts
 * const root = await createCertificateAuthority({ trustDomain: 'example.org' });
 * const leaf = await root.issue({ spiffeId: 'spiffe://example.org/svc/api', ttlSeconds: 3600 });
 * ```
 */
export async function createCertificateAuthority(
  options: CertificateAuthorityOptions,
): Promise<CertificateAuthority> {
  const trustDomain = parseTrustDomain(options.trustDomain);
  const pathLength = checkPathLength(options.pathLength ?? 1);
  const now = options.now ?? new Date();
  const ttl = checkTtl(options.ttlSeconds ?? DEFAULT_ROOT_TTL_SECONDS);
  const key = await generateKeyPair(options.keyType ?? 'ec-p256');
  const cert = await signCaCertificate({
    subjectKey: key,
    issuerKey: key,
    issuer: undefined,
    commonName: checkCommonName(options.commonName ?? `${trustDomain} root CA`),
    trustDomain,
    pathLength,
    notBefore: new Date(now.getTime() - DEFAULT_BACKDATE_SECONDS * 1000),
    notAfter: new Date(now.getTime() + ttl * 1000),
  });
  return buildAuthority(trustDomain, cert, key, [], [cert]);
}

/**
 * Creates an intermediate CA signed by `parent` (same trust domain); leaves it issues chain
 * through it to the parent's roots. Its lifetime never exceeds the parent's, its pathLen is
 * below the parent's, and it carries the parent's name constraints (byte for byte) when the
 * parent has them.
 *
 * @example
 * ```ts
 * const root = await createCertificateAuthority({ trustDomain: 'example.org' });
 * const issuing = await createIntermediateCertificateAuthority(root, { ttlSeconds: 30 * 86400 });
 * ```
 */
export async function createIntermediateCertificateAuthority(
  parent: CertificateAuthority,
  options: Partial<CertificateAuthorityOptions> = {},
): Promise<CertificateAuthority> {
  const trustDomain = parseTrustDomain(options.trustDomain ?? parent.trustDomain);
  if (trustDomain !== parent.trustDomain) {
    throw new SigilError(
      'ERR_TRUST_DOMAIN_INVALID',
      `an intermediate of ${parent.trustDomain} must stay in that trust domain, not ${trustDomain}`,
      {
        details: { trustDomain, parentTrustDomain: parent.trustDomain },
      },
    );
  }
  const parentPathLength = certificateInfo(parent.certificate).pathLength;
  if (parentPathLength === 0) {
    throw new SigilError(
      'ERR_CA_INVALID',
      `the CA "${parent.certificate.subject}" has pathLen 0: it may sign leaves only, not intermediates`,
      {
        details: { subject: parent.certificate.subject },
      },
    );
  }
  const pathLength = checkPathLength(options.pathLength ?? 0);
  if (parentPathLength !== undefined && pathLength > parentPathLength - 1) {
    throw new SigilError(
      'ERR_CA_INVALID',
      `pathLength ${pathLength} exceeds what the parent CA allows (${parentPathLength - 1})`,
      {
        details: { pathLength, parentPathLength },
      },
    );
  }
  const now = options.now ?? new Date();
  const ttl = checkTtl(options.ttlSeconds ?? DEFAULT_INTERMEDIATE_TTL_SECONDS);
  const parentNotAfter = new Date(parent.certificate.validTo).getTime();
  if (parentNotAfter <= now.getTime()) throw caExpired(parent.certificate, now);
  const key = await generateKeyPair(options.keyType ?? 'ec-p256');
  const cert = await signCaCertificate({
    subjectKey: key,
    issuerKey: importPrivateKeyPem(parent.privateKeyPem, 'CA key'),
    issuer: parent.certificate,
    commonName: checkCommonName(options.commonName ?? `${trustDomain} intermediate CA`),
    trustDomain,
    pathLength,
    notBefore: new Date(now.getTime() - DEFAULT_BACKDATE_SECONDS * 1000),
    notAfter: new Date(Math.min(now.getTime() + ttl * 1000, parentNotAfter)),
    inherited: nameConstraintsOf(parent.certificate),
  });
  const parentChain =
    parent.intermediatesPem === '' ? [] : parseCertificatesPem(parent.intermediatesPem);
  return buildAuthority(
    trustDomain,
    cert,
    key,
    parentChain,
    parseCertificatesPem(parent.bundlePem),
  );
}

/**
 * Cross-signs the CA certificate `subject` with `issuer`: a certificate with the same subject Name,
 * public key and key identifier as `subject`, issued by `issuer` (same trust domain), pathLen 0,
 * valid from `subject`'s notBefore until the earlier of the two CAs' ends (or `ttlSeconds` from
 * `now`). A leaf `subject` issued then chains to either root: through `subject` itself to its own
 * root, or through the cross-certificate to `issuer`'s. Returns the PEM.
 *
 * @example
 * ```ts
 * const cross = await crossSignCertificateAuthority(bootstrap, runtime.certificate);
 * const chainPem = (await runtime.issue({ spiffeId })).certificatePem + cross; // verifies against either root
 * ```
 */
export async function crossSignCertificateAuthority(
  issuer: CertificateAuthority,
  subject: X509Certificate,
  options: { now?: Date; ttlSeconds?: number } = {},
): Promise<string> {
  const info = certificateInfo(subject);
  const uri = info.uris.find((u) => u.startsWith('spiffe://'));
  if (!info.isCa || uri === undefined)
    throw new SigilError(
      'ERR_CA_INVALID',
      `the certificate "${subject.subject}" is not a SPIFFE CA certificate; only a CA can be cross-signed`,
      { details: { subject: subject.subject } },
    );
  const trustDomain = parseSpiffeId(uri).trustDomain;
  if (trustDomain !== issuer.trustDomain)
    throw new SigilError(
      'ERR_TRUST_DOMAIN_INVALID',
      `the CA "${subject.subject}" is for trust domain ${trustDomain}, the cross-signing CA for ${issuer.trustDomain}`,
      { details: { trustDomain, issuerTrustDomain: issuer.trustDomain } },
    );
  if (certificateInfo(issuer.certificate).pathLength === 0)
    throw new SigilError(
      'ERR_CA_INVALID',
      `the CA "${issuer.certificate.subject}" has pathLen 0: it may sign leaves only, not cross-certificates`,
      { details: { subject: issuer.certificate.subject } },
    );
  const now = options.now ?? new Date();
  const issuerNotAfter = new Date(issuer.certificate.validTo).getTime();
  if (issuerNotAfter <= now.getTime()) throw caExpired(issuer.certificate, now);
  const subjectNotAfter = new Date(subject.validTo).getTime();
  const parsed = new x509.X509Certificate(subject.raw);
  const publicKey = subject.publicKey;
  const subjectKeyId = parsed.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const cert = await signCaCertificate({
    subjectKey: { publicKey, keyType: keyTypeOf(publicKey, 'the cross-signed CA key') },
    subjectName: parsed.subjectName,
    ...(subjectKeyId === undefined ? {} : { subjectKeyId }),
    issuerKey: importPrivateKeyPem(issuer.privateKeyPem, 'CA key'),
    issuer: issuer.certificate,
    commonName: subject.subject,
    trustDomain,
    pathLength: 0,
    notBefore: new Date(subject.validFrom),
    notAfter: new Date(
      Math.min(
        subjectNotAfter,
        issuerNotAfter,
        options.ttlSeconds === undefined
          ? Infinity
          : now.getTime() + checkTtl(options.ttlSeconds) * 1000,
      ),
    ),
    inherited: nameConstraintsOf(issuer.certificate),
  });
  return toPem([cert]);
}

/**
 * Inputs of {@link loadCertificateAuthority}.
 *
 * @example
 * ```ts
 * loadCertificateAuthority({ certificatePem, privateKeyPem, certificateSource: 'ca/ca.crt', keySource: 'ca/ca.key' });
 * ```
 */
export interface LoadCertificateAuthorityOptions {
  /** The CA certificate (PEM); may be followed by its intermediates up to the root. */
  certificatePem: string;
  /** The CA private key (PEM). */
  privateKeyPem: string;
  /** Trust bundle (roots). Default: the CA certificate itself when self-signed, else the self-signed certificates appended to `certificatePem`. */
  bundlePem?: string;
  /** Names used in errors, e.g. the file paths. */
  certificateSource?: string;
  keySource?: string;
}

/**
 * Loads a CA from PEM (as written by `sigil ca init`), checking that the key matches the
 * certificate, that it is a CA with keyCertSign, and that it carries a SPIFFE trust-domain URI SAN.
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
export function loadCertificateAuthority(
  options: LoadCertificateAuthorityOptions,
): CertificateAuthority {
  const certSource = options.certificateSource ?? 'CA certificate';
  const keySource = options.keySource ?? 'CA key';
  const [cert, ...rest] = parseCertificatesPem(options.certificatePem, certSource) as [
    X509Certificate,
    ...X509Certificate[],
  ];
  const key = importPrivateKeyPem(options.privateKeyPem, keySource);
  assertKeyMatchesCertificate(key, cert, { keySource, certificateSource: certSource });
  const info = certificateInfo(cert);
  if (!info.isCa) {
    throw new SigilError(
      'ERR_CA_INVALID',
      `${certSource}: the certificate is not a CA (basicConstraints cA is not true)`,
      { details: { file: certSource } },
    );
  }
  if (info.keyUsage !== undefined && !(info.keyUsage & x509.KeyUsageFlags.keyCertSign)) {
    throw new SigilError(
      'ERR_CA_INVALID',
      `${certSource}: the CA certificate does not allow keyCertSign`,
      { details: { file: certSource } },
    );
  }
  const uri = info.uris.find((u) => u.startsWith('spiffe://'));
  if (!uri) {
    throw new SigilError(
      'ERR_CA_INVALID',
      `${certSource}: the CA has no spiffe://<trust-domain> URI SAN`,
      { details: { file: certSource } },
    );
  }
  const caId = parseSpiffeId(uri);
  if (caId.path !== '') {
    throw new SigilError(
      'ERR_CA_INVALID',
      `${certSource}: the CA's SPIFFE ID ${caId} has a path; a signing certificate carries the trust-domain ID only`,
      {
        details: { file: certSource },
      },
    );
  }
  const selfSigned = isSelfSigned(cert);
  const intermediates = selfSigned ? [] : rest.filter((c) => !isSelfSigned(c));
  const rootsInFile = rest.filter(isSelfSigned);
  let bundle: X509Certificate[];
  if (options.bundlePem !== undefined)
    bundle = parseCertificatesPem(options.bundlePem, 'trust bundle');
  else if (selfSigned) bundle = [cert];
  else if (rootsInFile.length > 0) bundle = rootsInFile;
  else {
    throw new SigilError(
      'ERR_CA_INVALID',
      `${certSource}: an intermediate CA needs its root (append it to the file or pass a bundle)`,
      {
        details: { file: certSource },
      },
    );
  }
  return buildAuthority(caId.trustDomain, cert, key, intermediates, bundle);
}

interface CaSigningInput {
  subjectKey: Pick<KeyPair, 'publicKey' | 'keyType'>;
  /** The subject Name, byte for byte (a cross-certificate repeats its CA's). Default: `commonName` alone. */
  subjectName?: x509.Name;
  /** The subject key identifier to repeat (a cross-certificate's CA's). Default: computed from the key. */
  subjectKeyId?: string;
  issuerKey: KeyPair;
  /** The issuing CA certificate; undefined for a self-signed root. */
  issuer: X509Certificate | undefined;
  commonName: string;
  trustDomain: string;
  pathLength: number;
  notBefore: Date;
  notAfter: Date;
  /** Extensions copied from the parent (its name constraints). */
  inherited?: readonly x509.Extension[];
}

/** RFC 5280 4.2.1.10 nameConstraints. */
const ID_CE_NAME_CONSTRAINTS = '2.5.29.30';

/** The parent's nameConstraints extension, to repeat in an intermediate it signs. */
function nameConstraintsOf(certificate: X509Certificate): x509.Extension[] {
  const extension = new x509.X509Certificate(certificate.raw).getExtension(ID_CE_NAME_CONSTRAINTS);
  return extension ? [new x509.Extension(extension.type, extension.critical, extension.value)] : [];
}

async function signCaCertificate(input: CaSigningInput): Promise<X509Certificate> {
  const subject = input.subjectName ?? commonNameOnly(input.commonName);
  const publicKey = await toWebCryptoPublicKey(
    input.subjectKey.publicKey,
    input.subjectKey.keyType,
  );
  const signingKey = await toWebCryptoPrivateKey(input.issuerKey);
  const authorityKeyId = input.issuer
    ? new x509.X509Certificate(input.issuer.raw).getExtension(x509.SubjectKeyIdentifierExtension)
        ?.keyId
    : undefined;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial().toString('hex'),
    subject,
    // The issuer Name is copied from the parent certificate so that the bytes match exactly.
    issuer: input.issuer ? new x509.X509Certificate(input.issuer.raw).subjectName : subject,
    notBefore: input.notBefore,
    notAfter: input.notAfter,
    publicKey,
    signingKey,
    signingAlgorithm: signatureAlgorithmFor(input.issuerKey.keyType),
    extensions: [
      new x509.BasicConstraintsExtension(true, input.pathLength, true),
      // X509-SVID 4.3 and Appendix A: signing certificates set keyCertSign (and may set cRLSign) only.
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      new x509.SubjectAlternativeNameExtension([
        { type: 'url', value: `spiffe://${input.trustDomain}` },
      ]),
      input.subjectKeyId === undefined
        ? await x509.SubjectKeyIdentifierExtension.create(publicKey)
        : new x509.SubjectKeyIdentifierExtension(input.subjectKeyId),
      authorityKeyId
        ? new x509.AuthorityKeyIdentifierExtension(authorityKeyId)
        : await x509.AuthorityKeyIdentifierExtension.create(publicKey),
      ...(input.inherited ?? []),
    ],
  });
  return new X509Certificate(Buffer.from(cert.rawData));
}

function buildAuthority(
  trustDomain: string,
  cert: X509Certificate,
  key: KeyPair,
  chainAbove: X509Certificate[],
  bundle: X509Certificate[],
): CertificateAuthority {
  const isRoot = bundle.some((b) => b.raw.equals(cert.raw));
  const intermediatesPem = isRoot ? '' : toPem([cert, ...chainAbove]);
  const bundlePem = toPem(bundle);
  const caNotBefore = new Date(cert.validFrom).getTime();
  const caNotAfter = new Date(cert.validTo).getTime();
  // The leaf template (issuer bytes, key identifiers, static extensions, signing key) is built on
  // first use and reused for every later leaf.
  let template: LeafTemplate | undefined;
  const authority: CertificateAuthority = {
    trustDomain,
    certificate: cert,
    certificatePem: toPem([cert]),
    privateKeyPem: key.privateKeyPem,
    keyType: key.keyType,
    intermediatesPem,
    bundlePem,
    issue: async (options) => {
      const generated =
        options.publicKey === undefined
          ? await generateKeyPair(options.keyType ?? 'ec-p256')
          : undefined;
      return issueLeaf(options, generated);
    },
    signCsr: async (csrPem, policy) => {
      const csr = await verifyCertificateSigningRequest(csrPem);
      return issueLeaf({ ...policy, publicKey: csr.publicKey }, undefined);
    },
  };

  function issueLeaf(options: IssueOptions, generated: KeyPair | undefined): IssuedCertificate {
    const spiffeId = leafSpiffeId(options.spiffeId, trustDomain);
    const dnsNames = (options.dnsNames ?? []).map(checkDnsName);
    const ipAddresses = (options.ipAddresses ?? []).map(ipAddressBytes);
    if (spiffeId === undefined && dnsNames.length === 0 && ipAddresses.length === 0) {
      throw new SigilError(
        'ERR_SAN_INVALID',
        'a certificate needs at least one identity: a SPIFFE ID, a DNS name or an IP address',
      );
    }
    const profile = checkProfile(options.profile ?? (spiffeId ? 'svid' : 'server'));
    const ttl = checkTtl(options.ttlSeconds ?? DEFAULT_LEAF_TTL_SECONDS);
    const backdate = options.backdateSeconds ?? DEFAULT_BACKDATE_SECONDS;
    if (!(backdate >= 0) || !Number.isFinite(backdate)) {
      throw new SigilError(
        'ERR_TTL_INVALID',
        `backdateSeconds must be zero or more, got ${backdate}`,
        { details: { backdateSeconds: backdate } },
      );
    }
    const now = (options.now ?? new Date()).getTime();
    if (now >= caNotAfter || now < caNotBefore) throw caExpired(cert, new Date(now));
    // Certificates carry whole seconds; the returned dates are exactly what the certificate says.
    const notBefore = new Date(Math.floor((now - backdate * 1000) / 1000) * 1000);
    const notAfter = new Date(Math.floor(Math.min(now + ttl * 1000, caNotAfter) / 1000) * 1000);
    const publicKey = generated?.publicKey ?? toPublicKey(options.publicKey!);
    const subjectKeyType = generated?.keyType ?? keyTypeOf(publicKey, 'certified public key');
    const commonName = options.commonName ?? dnsNames[0];
    template ??= createLeafTemplate(cert, key);
    const leaf = template.sign({
      subjectPublicKey: subjectPublicKeyOf(publicKey, subjectKeyType),
      profile,
      ...(spiffeId === undefined ? {} : { spiffeId }),
      dnsNames,
      ipAddresses,
      ...(commonName === undefined ? {} : { commonName: checkCommonName(commonName) }),
      notBefore,
      notAfter,
    });
    const certificatePem = derToPem('CERTIFICATE', leaf.der);
    return {
      certificatePem,
      chainPem: certificatePem + intermediatesPem,
      caPem: bundlePem,
      ...(generated ? { privateKeyPem: generated.privateKeyPem } : {}),
      serialNumber: leaf.serialNumber,
      notBefore,
      notAfter,
      ...(spiffeId === undefined ? {} : { spiffeId }),
    };
  }

  return authority;
}

function leafSpiffeId(input: string | undefined, trustDomain: string): string | undefined {
  if (input === undefined) return undefined;
  const spiffeId = parseSpiffeId(input);
  if (spiffeId.trustDomain !== trustDomain) {
    throw new SigilError(
      'ERR_SPIFFE_ID_INVALID',
      `SPIFFE ID ${spiffeId} is outside this CA's trust domain ${trustDomain}`,
      {
        details: { spiffeId: String(spiffeId), trustDomain },
      },
    );
  }
  if (spiffeId.path === '') {
    throw new SigilError(
      'ERR_SPIFFE_ID_INVALID',
      `SPIFFE ID ${spiffeId} has no path; a workload identity needs one (X509-SVID 3.1)`,
      {
        details: { spiffeId: String(spiffeId) },
      },
    );
  }
  return String(spiffeId);
}

/**
 * Whether `name` is a DNS name a Sigil CA certifies: letters, digits and hyphens in dot-separated
 * labels of at most 63 characters, an optional leading `*.` wildcard, at most 253 characters.
 *
 * @example
 * ```ts
 * isDnsName('api.example.org'); // true
 * isDnsName('bad name'); // false
 * ```
 */
export function isDnsName(name: string): boolean {
  return typeof name === 'string' && name.length <= 253 && DNS_NAME.test(name);
}

function checkDnsName(name: string): string {
  if (!isDnsName(name)) {
    throw new SigilError(
      'ERR_SAN_INVALID',
      `"${String(name).slice(0, 80)}" is not a DNS name (letters, digits and hyphens in dot-separated labels, optional leading "*.")`,
      {
        details: { dnsName: String(name).slice(0, 80) },
      },
    );
  }
  return name.toLowerCase();
}

function ipAddressBytes(ip: string): Buffer {
  const version = isIP(ip);
  if (version === 4) return Buffer.from(ip.split('.').map(Number));
  if (version === 6) {
    // Expand "::" and a trailing dotted quad into 8 groups of 16 bits.
    let text = ip.replace(/%.*$/, '');
    const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (dotted) {
      const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
      text =
        text.slice(0, -dotted[1]!.length) +
        ((a << 8) | b).toString(16) +
        ':' +
        ((c << 8) | d).toString(16);
    }
    const [head, tail] = text.includes('::')
      ? (text.split('::') as [string, string])
      : [text, undefined];
    const headGroups = head === '' ? [] : head.split(':');
    const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
    const groups =
      tail === undefined
        ? headGroups
        : [
            ...headGroups,
            ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'),
            ...tailGroups,
          ];
    const out = Buffer.alloc(16);
    groups.forEach((group, i) => out.writeUInt16BE(parseInt(group, 16), i * 2));
    return out;
  }
  throw new SigilError('ERR_SAN_INVALID', `"${ip}" is not an IP address`, { details: { ip } });
}

function checkProfile(profile: CertificateProfile): CertificateProfile {
  if (profile !== 'server' && profile !== 'client' && profile !== 'svid') {
    throw new SigilError(
      'ERR_PROFILE_INVALID',
      `unknown certificate profile "${String(profile)}" (use server, client or svid)`,
      { details: { profile } },
    );
  }
  return profile;
}

function checkTtl(ttl: number): number {
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 1) {
    throw new SigilError(
      'ERR_TTL_INVALID',
      `lifetime must be at least 1 second, got ${String(ttl)}`,
      { details: { ttlSeconds: ttl } },
    );
  }
  return ttl;
}

function checkPathLength(pathLength: number): number {
  if (!Number.isInteger(pathLength) || pathLength < 0) {
    throw new SigilError(
      'ERR_CA_INVALID',
      `pathLength must be a non-negative integer, got ${String(pathLength)}`,
      { details: { pathLength } },
    );
  }
  return pathLength;
}

function checkCommonName(commonName: string): string {
  if (
    typeof commonName !== 'string' ||
    commonName.length === 0 ||
    commonName.length > MAX_COMMON_NAME
  ) {
    throw new SigilError(
      'ERR_SUBJECT_INVALID',
      `a common name must be 1 to ${MAX_COMMON_NAME} characters, got ${JSON.stringify(String(commonName).slice(0, 80))}`,
      {
        details: { commonName: String(commonName).slice(0, 80) },
      },
    );
  }
  return commonName;
}

function caExpired(certificate: X509Certificate, now: Date): SigilError {
  return new SigilError(
    'ERR_CA_EXPIRED',
    `the CA "${certificate.subject}" is not valid at ${now.toISOString()} (valid ${new Date(certificate.validFrom).toISOString()} to ${new Date(certificate.validTo).toISOString()})`,
    {
      details: {
        subject: certificate.subject,
        notBefore: certificate.validFrom,
        notAfter: certificate.validTo,
        at: now.toISOString(),
      },
    },
  );
}

function toPublicKey(key: KeyObject | string): KeyObject {
  if (key instanceof KeyObject) return key.type === 'private' ? createPublicKey(key) : key;
  try {
    return createPublicKey({ key, format: 'pem' });
  } catch (cause) {
    throw new SigilError(
      'ERR_PEM_MALFORMED',
      `publicKey: not a readable PEM public key (${(cause as Error).message})`,
      { cause, details: { file: 'publicKey' } },
    );
  }
}

function isSelfSigned(certificate: X509Certificate): boolean {
  return certificate.subject === certificate.issuer && certificate.verify(certificate.publicKey);
}
