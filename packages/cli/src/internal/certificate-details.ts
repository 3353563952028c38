import type { X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { fingerprint } from '@sigil/pki';

/**
 * What `sigil certs inspect` shows of one certificate.
 *
 * @example
 * ```ts
 * const [leaf]: CertificateDetails[] = (await inspectCertificates({ target: 'tls.crt' })).certificates;
 * console.log(leaf?.spiffeId, leaf?.keyType, leaf?.extendedKeyUsage?.usages, leaf?.fingerprintSha256);
 * ```
 */
export interface CertificateDetails {
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** `valid`, `expired` or `not-yet-valid` at the time of inspection. */
  validity: 'valid' | 'expired' | 'not-yet-valid';
  /** `EC P-256`, `EC P-384`, `RSA 2048`, `Ed25519`, ... */
  keyType: string;
  subjectAltNames: { dns: string[]; ip: string[]; uri: string[]; email: string[] };
  /** The spiffe:// URI SAN when there is exactly one (X509-SVID 2). */
  spiffeId?: string;
  basicConstraints?: { ca: boolean; pathLength?: number; critical: boolean };
  /** Key usage names (RFC 5280 4.2.1.3), e.g. `digitalSignature`, `keyCertSign`. */
  keyUsage?: { usages: string[]; critical: boolean };
  /** Extended key usages: `serverAuth`, `clientAuth`, ... or the OID. */
  extendedKeyUsage?: { usages: string[]; critical: boolean };
  selfSigned: boolean;
  /** SHA-256 of the DER, colon-separated lowercase hex. */
  fingerprintSha256: string;
}

// RFC 5280 4.2.1.3 bit order.
const KEY_USAGE_NAMES: ReadonlyArray<[number, string]> = [
  [x509.KeyUsageFlags.digitalSignature, 'digitalSignature'],
  [x509.KeyUsageFlags.nonRepudiation, 'nonRepudiation'],
  [x509.KeyUsageFlags.keyEncipherment, 'keyEncipherment'],
  [x509.KeyUsageFlags.dataEncipherment, 'dataEncipherment'],
  [x509.KeyUsageFlags.keyAgreement, 'keyAgreement'],
  [x509.KeyUsageFlags.keyCertSign, 'keyCertSign'],
  [x509.KeyUsageFlags.cRLSign, 'cRLSign'],
  [x509.KeyUsageFlags.encipherOnly, 'encipherOnly'],
  [x509.KeyUsageFlags.decipherOnly, 'decipherOnly'],
];

const EXTENDED_KEY_USAGE_NAMES = new Map<string, string>([
  [x509.ExtendedKeyUsage.serverAuth, 'serverAuth'],
  [x509.ExtendedKeyUsage.clientAuth, 'clientAuth'],
  [x509.ExtendedKeyUsage.codeSigning, 'codeSigning'],
  [x509.ExtendedKeyUsage.emailProtection, 'emailProtection'],
  [x509.ExtendedKeyUsage.timeStamping, 'timeStamping'],
  [x509.ExtendedKeyUsage.ocspSigning, 'OCSPSigning'],
]);

const EC_CURVES: Record<string, string> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

/** Reads what a human checks first in a certificate, at time `now`. */
export function describeCertificate(certificate: X509Certificate, now: Date): CertificateDetails {
  const parsed = new x509.X509Certificate(certificate.raw);
  const notBefore = new Date(certificate.validFrom);
  const notAfter = new Date(certificate.validTo);
  const sans = subjectAltNamesOf(parsed);
  const spiffeIds = sans.uri.filter((uri) => uri.toLowerCase().startsWith('spiffe://'));
  const basic = parsed.getExtension(x509.BasicConstraintsExtension);
  const keyUsage = parsed.getExtension(x509.KeyUsagesExtension);
  const extendedKeyUsage = parsed.getExtension(x509.ExtendedKeyUsageExtension);
  return {
    subject: oneLine(certificate.subject),
    issuer: oneLine(certificate.issuer),
    serialNumber: certificate.serialNumber.toLowerCase(),
    notBefore,
    notAfter,
    validity:
      now < notBefore ? 'not-yet-valid' : now.getTime() >= notAfter.getTime() ? 'expired' : 'valid',
    keyType: keyTypeName(certificate),
    subjectAltNames: sans,
    ...(spiffeIds.length === 1 ? { spiffeId: spiffeIds[0]! } : {}),
    ...(basic
      ? {
          basicConstraints: {
            ca: basic.ca,
            ...(basic.pathLength === undefined ? {} : { pathLength: basic.pathLength }),
            critical: basic.critical,
          },
        }
      : {}),
    ...(keyUsage
      ? {
          keyUsage: {
            usages: KEY_USAGE_NAMES.filter(([flag]) => keyUsage.usages & flag).map(([, n]) => n),
            critical: keyUsage.critical,
          },
        }
      : {}),
    ...(extendedKeyUsage
      ? {
          extendedKeyUsage: {
            usages: extendedKeyUsage.usages.map(
              (oid) => EXTENDED_KEY_USAGE_NAMES.get(String(oid)) ?? String(oid),
            ),
            critical: extendedKeyUsage.critical,
          },
        }
      : {}),
    selfSigned:
      certificate.subject === certificate.issuer && certificate.verify(certificate.publicKey),
    fingerprintSha256: fingerprint(certificate),
  };
}

function subjectAltNamesOf(parsed: x509.X509Certificate): CertificateDetails['subjectAltNames'] {
  const names = {
    dns: [] as string[],
    ip: [] as string[],
    uri: [] as string[],
    email: [] as string[],
  };
  const extension = parsed.getExtension(x509.SubjectAlternativeNameExtension);
  for (const name of extension?.names.items ?? []) {
    if (name.type === 'dns') names.dns.push(name.value);
    else if (name.type === 'ip') names.ip.push(name.value);
    else if (name.type === 'url') names.uri.push(name.value);
    else if (name.type === 'email') names.email.push(name.value);
  }
  return names;
}

function keyTypeName(certificate: X509Certificate): string {
  const key = certificate.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      return `EC ${EC_CURVES[details.namedCurve ?? ''] ?? details.namedCurve}`;
    case 'rsa':
      return `RSA ${details.modulusLength}`;
    case 'ed25519':
      return 'Ed25519';
    default:
      return String(key.asymmetricKeyType);
  }
}

function oneLine(name: string): string {
  return name.split('\n').join(', ');
}
