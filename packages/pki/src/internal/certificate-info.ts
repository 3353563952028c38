import type { X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  KeyUsage,
  SubjectAlternativeName,
} from '@peculiar/asn1-x509';

/** The extension facts Sigil's policy checks need, read with @peculiar/asn1-x509. */
export interface CertificateInfo {
  /** basicConstraints cA. */
  readonly isCa: boolean;
  /** basicConstraints pathLenConstraint, when set. */
  readonly pathLength: number | undefined;
  /** keyUsage bits (@peculiar/asn1-x509 KeyUsageFlags), or undefined when the extension is absent. */
  readonly keyUsage: number | undefined;
  readonly keyUsageCritical: boolean;
  /** extKeyUsage OIDs, or undefined when the extension is absent. */
  readonly extendedKeyUsage: readonly string[] | undefined;
  /** URI SANs, in order. */
  readonly uris: readonly string[];
  readonly dnsNames: readonly string[];
  /** Critical extensions Sigil does not process (RFC 5280 6.1.4 (o)). */
  readonly unrecognisedCritical: readonly string[];
}

const PROCESSED = new Set([
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_extKeyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_ce_authorityKeyIdentifier,
]);

// Bundle roots and intermediates are checked on every validation, and callers parse the bundle
// PEM afresh each time (new X509Certificate objects, same DER): parse each certificate once. Per
// object first, then by DER content in a small least-recently-used map, where the few CA
// certificates every validation touches stay while one-off leaves pass through (a full
// @peculiar/asn1-x509 parse was ~15% of the controller's CPU under renewal load).
const cache = new WeakMap<X509Certificate, CertificateInfo>();
const byContent = new Map<string, CertificateInfo>();
const CONTENT_CACHE_SIZE = 64;

/** Reads the extensions of a certificate (cached per X509Certificate object and by DER content). */
export function certificateInfo(certificate: X509Certificate): CertificateInfo {
  const cached = cache.get(certificate);
  if (cached) return cached;
  const key = certificate.raw.toString('latin1');
  const known = byContent.get(key);
  if (known) {
    byContent.delete(key);
    byContent.set(key, known);
    cache.set(certificate, known);
    return known;
  }
  const info = parseCertificateInfo(certificate);
  cache.set(certificate, info);
  byContent.set(key, info);
  if (byContent.size > CONTENT_CACHE_SIZE) byContent.delete(byContent.keys().next().value!);
  return info;
}

function parseCertificateInfo(certificate: X509Certificate): CertificateInfo {
  const asn = AsnConvert.parse(certificate.raw, Certificate);
  let isCa = false;
  let pathLength: number | undefined;
  let keyUsage: number | undefined;
  let keyUsageCritical = false;
  let extendedKeyUsage: string[] | undefined;
  const uris: string[] = [];
  const dnsNames: string[] = [];
  const unrecognisedCritical: string[] = [];
  for (const extension of asn.tbsCertificate.extensions ?? []) {
    const value = extension.extnValue.buffer;
    switch (extension.extnID) {
      case id_ce_basicConstraints: {
        const bc = AsnConvert.parse(value, BasicConstraints);
        isCa = bc.cA;
        pathLength = bc.pathLenConstraint;
        break;
      }
      case id_ce_keyUsage:
        keyUsage = AsnConvert.parse(value, KeyUsage).toNumber();
        keyUsageCritical = extension.critical;
        break;
      case id_ce_extKeyUsage:
        extendedKeyUsage = [...AsnConvert.parse(value, ExtendedKeyUsage)];
        break;
      case id_ce_subjectAltName:
        for (const name of AsnConvert.parse(value, SubjectAlternativeName)) {
          if (name.uniformResourceIdentifier !== undefined)
            uris.push(name.uniformResourceIdentifier);
          if (name.dNSName !== undefined) dnsNames.push(name.dNSName);
        }
        break;
      default:
        if (extension.critical && !PROCESSED.has(extension.extnID))
          unrecognisedCritical.push(extension.extnID);
    }
  }
  return {
    isCa,
    pathLength,
    keyUsage,
    keyUsageCritical,
    extendedKeyUsage,
    uris,
    dnsNames,
    unrecognisedCritical,
  };
}
