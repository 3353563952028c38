import type { X509Certificate } from 'node:crypto';
import { SigilError } from '@sigil/errors';
import { KeyUsageFlags } from '@peculiar/asn1-x509';
import { certificateInfo } from './internal/certificate-info';
import { RecentCache } from './internal/recent-cache';
import { parseCertificatesPem } from './pem';
import type { SpiffeId } from './spiffe-id';
import { parseSpiffeId, parseTrustDomain } from './spiffe-id';

/**
 * Trust bundles by trust domain: each entry holds every root currently trusted for that trust
 * domain (several during a CA rotation). Build one with {@link createTrustBundleSet} or as a plain
 * `Map`.
 *
 * @example
 * ```ts
 * const bundles: TrustBundleSet = new Map([['example.org', readTrustBundleFile('ca.crt')]]);
 * validateX509Svid(chain, bundles);
 * ```
 */
export type TrustBundleSet = ReadonlyMap<string, readonly X509Certificate[]>;

/**
 * Options for {@link validateX509Svid}.
 *
 * @example
 * ```ts
 * validateX509Svid(chainPem, bundlePem, { trustDomain: 'example.org', at: new Date('2030-01-01T00:00:00Z') });
 * ```
 */
export interface ValidateX509SvidOptions {
  /**
   * The trust domain the SVID must belong to. Required in effect when `bundles` is a single bundle
   * rather than a {@link TrustBundleSet}; default: the leaf's own trust domain.
   */
  trustDomain?: string;
  /** The time to validate at. Default now. */
  at?: Date;
  /**
   * How far `at` may lie outside the leaf's validity period, for a checker whose clock may be off
   * (an agent checking the certificate it was just issued). CA certificates are checked strictly.
   * Default 0.
   */
  clockSkewToleranceMs?: number;
  /** Extra intermediates to build the path from (PEM or certificates), besides `chain[1..]`. */
  intermediates?: string | readonly X509Certificate[];
}

/**
 * What a valid X509-SVID proves.
 *
 * @example
 * ```ts
 * const { spiffeId, notAfter } = validateX509Svid(chainPem, bundlePem);
 * ```
 */
export interface X509SvidValidationResult {
  /** The SPIFFE ID of the leaf. */
  spiffeId: string;
  trustDomain: string;
  leaf: X509Certificate;
  notBefore: Date;
  notAfter: Date;
  /** The validated path: the leaf, the intermediates used, and the bundle root it ends at. */
  path: X509Certificate[];
}

/**
 * The rules {@link validateX509Svid} enforces; a rejection carries one of these (or a SPIFFE-ID
 * parsing rule) as `details.rule`.
 *
 * @example
 * ```ts
 * try {
 *   validateX509Svid(chainPem, bundlePem);
 * } catch (err) {
 *   if (isSigilError(err, 'ERR_SVID_INVALID') && err.details.rule === X509_SVID_RULES.validity) renew();
 * }
 * ```
 */
export const X509_SVID_RULES = {
  uriSan: 'X509-SVID 2: exactly one URI SAN',
  leafPath: 'X509-SVID 3.1: leaf SPIFFE ID MUST have a non-root path',
  signingCa: 'X509-SVID 3: signing certificates MUST set cA=true',
  signingSpiffeIdPath: 'X509-SVID 3.2: a signing certificate SPIFFE ID MUST NOT have a path',
  leafCa: 'X509-SVID 4.1: leaf MUST NOT have cA=true',
  keyUsageCritical: 'X509-SVID 4.3: key usage MUST be present and critical',
  leafKeyCertSign: 'X509-SVID 4.3: leaf MUST NOT set keyCertSign',
  leafCrlSign: 'X509-SVID 4.3: leaf MUST NOT set cRLSign',
  leafDigitalSignature: 'X509-SVID 4.3: leaf MUST set digitalSignature',
  signingKeyCertSign: 'X509-SVID 4.3: signing certificates MUST set keyCertSign',
  leafExtendedKeyUsage:
    'X509-SVID 4.4: leaf extended key usage, when present, MUST include serverAuth and clientAuth',
  validity: 'X509-SVID 5: validity period',
  bundle: "X509-SVID 5: bundle chosen by the leaf's trust domain",
  chain: 'X509-SVID 5: chain must end at the trust domain bundle',
  signature: 'X509-SVID 5.1: every signature in the path must verify',
  pathLength: 'X509-SVID 5.1: pathLenConstraint (RFC 5280 4.2.1.9)',
  criticalExtension: 'X509-SVID 5.1: unrecognised critical extension (RFC 5280 6.1.4)',
} as const;

const RULES = X509_SVID_RULES;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const MAX_PATH = 8;

/**
 * Builds a {@link TrustBundleSet} from PEM texts or certificates keyed by trust domain.
 * Throws `ERR_TRUST_DOMAIN_INVALID` for a bad key and `ERR_PEM_MALFORMED` for a bad bundle.
 *
 * @example
 * ```ts
 * const bundles = createTrustBundleSet({
 *   'example.org': fs.readFileSync('example.org-bundle.pem', 'utf8'), // old and new root during rotation
 *   'partner.io': partnerRoots,
 * });
 * ```
 */
export function createTrustBundleSet(
  bundles:
    | Readonly<Record<string, string | readonly X509Certificate[]>>
    | Iterable<readonly [string, string | readonly X509Certificate[]]>,
): TrustBundleSet {
  const entries =
    Symbol.iterator in bundles
      ? [...(bundles as Iterable<readonly [string, string | readonly X509Certificate[]]>)]
      : Object.entries(bundles);
  const set = new Map<string, readonly X509Certificate[]>();
  for (const [trustDomain, roots] of entries) {
    parseTrustDomain(trustDomain);
    const certificates =
      typeof roots === 'string'
        ? parseCertificatesPem(roots, `trust bundle for ${trustDomain}`)
        : [...roots];
    set.set(trustDomain, [...(set.get(trustDomain) ?? []), ...certificates]);
  }
  return set;
}

/**
 * The SPIFFE ID of a certificate: its URI SAN when it has exactly one and it is a valid SPIFFE
 * ID, else `undefined`. It proves nothing by itself: use {@link validateX509Svid} to check that
 * the certificate chains to the trust domain's bundle.
 *
 * @example
 * ```ts
 * const peer = new X509Certificate(call.getAuthContext().sslPeerCertificate!.raw);
 * spiffeIdOfCertificate(peer); // 'spiffe://example.org/svc/api'
 * ```
 */
export function spiffeIdOfCertificate(certificate: X509Certificate): string | undefined {
  try {
    return String(uriSanSpiffeId(certificate));
  } catch {
    return undefined;
  }
}

/**
 * The DNS names and URIs of a certificate's subjectAltName extension, in order, read from its DER
 * (not from Node's `subjectAltName` text, whose quoting a crafted SAN can play with).
 *
 * @example
 * ```ts
 * subjectAltNamesOf(leaf); // { dnsNames: ['api.example.org'], uris: ['spiffe://example.org/svc/api'] }
 * ```
 */
export function subjectAltNamesOf(certificate: X509Certificate): {
  dnsNames: readonly string[];
  uris: readonly string[];
} {
  const { dnsNames, uris } = certificateInfo(certificate);
  return { dnsNames, uris };
}

/**
 * The SPIFFE ID of a workload certificate presented in a TLS handshake, after the X509-SVID leaf
 * rules: exactly one URI SAN holding a SPIFFE ID with a path (the trust-domain ID `spiffe://td`
 * names no workload, section 3.1); not a CA (4.1); a key usage with digitalSignature and neither
 * keyCertSign nor cRLSign (4.3). It leaves to the TLS handshake what TLS checks itself (the chain,
 * validity, critical extensions, the extended key usage for the side presenting it, so a
 * serverAuth-only server certificate passes); {@link validateX509Svid} checks all of it. Throws `ERR_SVID_INVALID`
 * naming the certificate's subject and serial number, with the failed rule in `details.rule`.
 *
 * @example
 * ```ts
 * const peer = new X509Certificate(socket.getPeerCertificate().raw);
 * workloadIdOfCertificate(peer); // 'spiffe://example.org/svc/api'; throws for a CA certificate
 * ```
 */
export function workloadIdOfCertificate(certificate: X509Certificate): string {
  return String(checkLeaf(certificate));
}

/**
 * Validates an X509-SVID per the X509-SVID specification: exactly one URI SAN holding a valid
 * SPIFFE ID with a non-root path; the leaf not a CA, with a critical key usage that sets
 * digitalSignature and neither keyCertSign nor cRLSign; every signing certificate a CA with
 * keyCertSign; every certificate valid at `at`; every signature verified; and RFC 5280 path
 * validation ending at a root of the bundle for the leaf's trust domain (any of several roots, so
 * a bundle can carry the old and new root during a rotation). Throws `ERR_SVID_INVALID` whose
 * `details.rule` names the rule that failed.
 *
 * @example
 * ```ts
 * const svid = validateX509Svid(fs.readFileSync('tls.crt', 'utf8'), fs.readFileSync('ca.crt', 'utf8'), {
 *   trustDomain: 'example.org',
 * });
 * svid.spiffeId; // 'spiffe://example.org/svc/api'
 * ```
 */
export function validateX509Svid(
  chain: string | readonly X509Certificate[],
  bundles: TrustBundleSet | string | readonly X509Certificate[],
  options: ValidateX509SvidOptions = {},
): X509SvidValidationResult {
  const at = options.at ?? new Date();
  const expectedTrustDomain =
    options.trustDomain === undefined ? undefined : parseTrustDomain(options.trustDomain);
  const certificates =
    typeof chain === 'string' ? parseCertificatesPem(chain, 'X509-SVID') : [...chain];
  const leaf = certificates[0];
  if (!leaf) throw svidError(RULES.chain, 'the chain is empty; expected the leaf first', {});

  const spiffeId = checkLeaf(leaf);
  const id = String(spiffeId);
  const serial = leaf.serialNumber;
  const info = certificateInfo(leaf);
  if (!info.keyUsageCritical) {
    throw svidError(
      RULES.keyUsageCritical,
      `${id}: the leaf (serial ${serial}) has a non-critical key usage extension`,
      { spiffeId: id, serial },
    );
  }
  if (
    info.extendedKeyUsage &&
    !(info.extendedKeyUsage.includes(SERVER_AUTH) && info.extendedKeyUsage.includes(CLIENT_AUTH))
  ) {
    throw svidError(
      RULES.leafExtendedKeyUsage,
      `${id}: the extended key usage of the leaf (serial ${serial}) lacks serverAuth or clientAuth`,
      { spiffeId: id, serial },
    );
  }
  checkCriticalExtensions(leaf, `the leaf (serial ${serial})`, id);
  if (expectedTrustDomain !== undefined && spiffeId.trustDomain !== expectedTrustDomain) {
    throw svidError(
      RULES.bundle,
      `${id} is in trust domain ${spiffeId.trustDomain}, not the expected ${expectedTrustDomain}`,
      {
        spiffeId: id,
        trustDomain: expectedTrustDomain,
      },
    );
  }
  const roots = selectBundle(bundles, spiffeId.trustDomain, expectedTrustDomain, id);
  checkValidity(leaf, at, 'the leaf', id, options.clockSkewToleranceMs);

  const pool = [
    ...certificates.slice(1),
    ...toCertificates(options.intermediates, 'intermediates'),
  ];
  const path = buildPath(leaf, pool, roots, at, id, spiffeId.trustDomain);
  return {
    spiffeId: id,
    trustDomain: spiffeId.trustDomain,
    leaf,
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    path,
  };
}

/**
 * The X509-SVID leaf rules that decide whether a certificate names a workload at all (sections 2,
 * 3.1, 4.1 and the key usage bits of 4.3); returns its SPIFFE ID. validateX509Svid adds the rest.
 */
function checkLeaf(leaf: X509Certificate): SpiffeId {
  const spiffeId = leafSpiffeId(leaf);
  const id = String(spiffeId);
  const serial = leaf.serialNumber;
  const info = certificateInfo(leaf);
  if (info.isCa)
    throw svidError(
      RULES.leafCa,
      `${id}: the leaf (serial ${serial}) is a CA certificate (basicConstraints cA=true)`,
      { spiffeId: id, serial },
    );
  if (info.keyUsage === undefined) {
    throw svidError(
      RULES.keyUsageCritical,
      `${id}: the leaf (serial ${serial}) has no key usage extension`,
      { spiffeId: id, serial },
    );
  }
  if (info.keyUsage & KeyUsageFlags.keyCertSign)
    throw svidError(RULES.leafKeyCertSign, `${id}: the leaf (serial ${serial}) sets keyCertSign`, {
      spiffeId: id,
      serial,
    });
  if (info.keyUsage & KeyUsageFlags.cRLSign)
    throw svidError(RULES.leafCrlSign, `${id}: the leaf (serial ${serial}) sets cRLSign`, {
      spiffeId: id,
      serial,
    });
  if (!(info.keyUsage & KeyUsageFlags.digitalSignature))
    throw svidError(
      RULES.leafDigitalSignature,
      `${id}: the leaf (serial ${serial}) does not set digitalSignature`,
      {
        spiffeId: id,
        serial,
      },
    );
  return spiffeId;
}

function leafSpiffeId(leaf: X509Certificate): SpiffeId {
  const spiffeId = uriSanSpiffeId(leaf);
  if (spiffeId.path === '')
    throw svidError(
      RULES.leafPath,
      `${spiffeId}: a leaf SVID needs a path after the trust domain (${certificateName(leaf)})`,
      { spiffeId: String(spiffeId), serial: leaf.serialNumber },
    );
  return spiffeId;
}

/** The one extraction: exactly one URI SAN, and it a valid SPIFFE ID (X509-SVID 2). */
function uriSanSpiffeId(certificate: X509Certificate): SpiffeId {
  const { uris } = certificateInfo(certificate);
  if (uris.length !== 1) {
    throw svidError(
      RULES.uriSan,
      `the leaf (${certificateName(certificate)}) has ${uris.length} URI SANs; an X509-SVID has exactly one`,
      { uris, serial: certificate.serialNumber },
    );
  }
  try {
    return parseSpiffeId(uris[0]!);
  } catch (cause) {
    const rule = String((cause as SigilError).details?.rule ?? 'SPIFFE-ID 2');
    throw svidError(
      rule,
      `the leaf's URI SAN (${certificateName(certificate)}) is not a valid SPIFFE ID: ${(cause as Error).message}`,
      { uri: uris[0], serial: certificate.serialNumber },
      cause,
    );
  }
}

function selectBundle(
  bundles: TrustBundleSet | string | readonly X509Certificate[],
  trustDomain: string,
  expectedTrustDomain: string | undefined,
  id: string,
): readonly X509Certificate[] {
  let roots: readonly X509Certificate[] | undefined;
  if (typeof bundles === 'string' || Array.isArray(bundles)) {
    roots = toCertificates(
      bundles as string | readonly X509Certificate[],
      `trust bundle for ${expectedTrustDomain ?? trustDomain}`,
    );
  } else {
    roots = (bundles as TrustBundleSet).get(trustDomain);
  }
  if (!roots || roots.length === 0) {
    throw svidError(RULES.bundle, `${id}: no trust bundle for trust domain ${trustDomain}`, {
      spiffeId: id,
      trustDomain,
    });
  }
  return roots;
}

/**
 * RFC 5280 path building from the leaf up: each step looks for an issuer whose subject matches and
 * whose key verifies the signature, preferring bundle roots, then the supplied intermediates.
 */
function buildPath(
  leaf: X509Certificate,
  pool: X509Certificate[],
  roots: readonly X509Certificate[],
  at: Date,
  id: string,
  trustDomain: string,
): X509Certificate[] {
  const path = [leaf];
  let current = leaf;
  for (let intermediates = 0; intermediates <= MAX_PATH; intermediates += 1) {
    let nameMatched = false;
    let rootFailure: SigilError | undefined;
    for (const root of roots) {
      if (root.subject !== current.issuer) continue;
      nameMatched = true;
      if (!current.verify(root.publicKey)) continue;
      try {
        checkSigningCertificate(
          root,
          intermediates,
          at,
          `root "${nameOf(root.subject)}"`,
          id,
          trustDomain,
        );
        return [...path, root];
      } catch (err) {
        rootFailure ??= err as SigilError;
      }
    }
    if (rootFailure) throw rootFailure;
    const next = pool.findIndex(
      (candidate) => candidate.subject === current.issuer && current.verify(candidate.publicKey),
    );
    if (next === -1) {
      if (nameMatched || pool.some((candidate) => candidate.subject === current.issuer)) {
        throw svidError(
          RULES.signature,
          `${id}: the signature of "${nameOf(current.subject)}" does not verify with the key of its issuer "${nameOf(current.issuer)}"`,
          { spiffeId: id },
        );
      }
      throw svidError(
        RULES.chain,
        `${id}: "${nameOf(current.issuer)}" (issuer of "${nameOf(current.subject)}") is neither in the trust bundle of ${trustDomain} (${roots.length} root${roots.length === 1 ? '' : 's'}) nor among the intermediates`,
        { spiffeId: id, trustDomain, issuer: current.issuer },
      );
    }
    const intermediate = pool.splice(next, 1)[0]!;
    checkSigningCertificate(
      intermediate,
      intermediates,
      at,
      `intermediate "${nameOf(intermediate.subject)}"`,
      id,
      trustDomain,
    );
    path.push(intermediate);
    current = intermediate;
  }
  throw svidError(RULES.pathLength, `${id}: the path is longer than ${MAX_PATH} intermediates`, {
    spiffeId: id,
  });
}

function checkSigningCertificate(
  certificate: X509Certificate,
  intermediatesBelow: number,
  at: Date,
  what: string,
  id: string,
  trustDomain: string,
): void {
  const info = certificateInfo(certificate);
  if (!info.isCa)
    throw svidError(
      RULES.signingCa,
      `${id}: ${what} signs certificates but is not a CA (basicConstraints cA is not true)`,
      { spiffeId: id },
    );
  if (info.keyUsage === undefined || !(info.keyUsage & KeyUsageFlags.keyCertSign)) {
    throw svidError(RULES.signingKeyCertSign, `${id}: ${what} does not set keyCertSign`, {
      spiffeId: id,
    });
  }
  if (info.pathLength !== undefined && intermediatesBelow > info.pathLength) {
    throw svidError(
      RULES.pathLength,
      `${id}: ${what} allows ${info.pathLength} intermediate(s) below it, the path has ${intermediatesBelow}`,
      { spiffeId: id },
    );
  }
  for (const uri of info.uris) {
    if (!uri.toLowerCase().startsWith('spiffe:')) continue;
    const signingId = parseSpiffeIdOrUndefined(uri);
    if (!signingId || signingId.path !== '') {
      throw svidError(
        RULES.signingSpiffeIdPath,
        `${id}: ${what} carries SPIFFE ID ${uri}, which is not a trust-domain ID`,
        { spiffeId: id, signingSpiffeId: uri, trustDomain },
      );
    }
  }
  checkCriticalExtensions(certificate, what, id);
  checkValidity(certificate, at, what, id);
}

function parseSpiffeIdOrUndefined(uri: string): SpiffeId | undefined {
  try {
    return parseSpiffeId(uri);
  } catch {
    return undefined;
  }
}

function checkValidity(
  certificate: X509Certificate,
  at: Date,
  what: string,
  id: string,
  toleranceMs = 0,
): void {
  const notBefore = new Date(certificate.validFrom);
  const notAfter = new Date(certificate.validTo);
  if (
    at.getTime() + toleranceMs < notBefore.getTime() ||
    at.getTime() - toleranceMs > notAfter.getTime()
  ) {
    const state =
      at < notBefore
        ? `is not valid before ${notBefore.toISOString()}`
        : `expired at ${notAfter.toISOString()}`;
    throw svidError(RULES.validity, `${id}: ${what} ${state} (checked at ${at.toISOString()})`, {
      spiffeId: id,
      notBefore: notBefore.toISOString(),
      notAfter: notAfter.toISOString(),
      at: at.toISOString(),
    });
  }
}

function checkCriticalExtensions(certificate: X509Certificate, what: string, id: string): void {
  const { unrecognisedCritical } = certificateInfo(certificate);
  if (unrecognisedCritical.length > 0) {
    throw svidError(
      RULES.criticalExtension,
      `${id}: ${what} has critical extension(s) ${unrecognisedCritical.join(', ')} that Sigil does not process`,
      {
        spiffeId: id,
        extensions: unrecognisedCritical,
      },
    );
  }
}

// Bundles and intermediates come as PEM text, the same text call after call (a verifier checks
// every peer against its one bundle): parsed once, kept by content, the few most recent.
const parsedPem = new RecentCache<string, readonly X509Certificate[]>(8);

function toCertificates(
  input: string | readonly X509Certificate[] | undefined,
  source: string,
): X509Certificate[] {
  if (input === undefined) return [];
  if (typeof input !== 'string') return [...input];
  let parsed = parsedPem.get(input);
  if (parsed === undefined) {
    parsed = parseCertificatesPem(input, source);
    parsedPem.set(input, parsed);
  }
  return [...parsed];
}

/** Names a certificate in messages: subject and serial number (SVIDs often have no subject). */
function certificateName(certificate: X509Certificate): string {
  return `subject "${nameOf(certificate.subject)}", serial ${certificate.serialNumber}`;
}

/** A certificate Name for messages; node:crypto gives `undefined` for an empty Name. */
function nameOf(name: string | undefined): string {
  return name ? name.replace(/\n/g, ', ') : '(empty)';
}

function svidError(
  rule: string,
  message: string,
  details: Record<string, unknown>,
  cause?: unknown,
): SigilError {
  return new SigilError('ERR_SVID_INVALID', `X509-SVID rejected: ${message} [${rule}]`, {
    details: { ...details, rule },
    cause,
  });
}
