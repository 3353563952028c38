import type { X509Certificate } from 'node:crypto';
import {
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
} from '@peculiar/asn1-x509';
import type { Tlv } from './der';
import { decodeObjectIdentifier, expectTlv, readTlv, Tag } from './der';
import { RecentCache } from './recent-cache';

/** The extension facts Sigil's policy checks need. */
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
// @peculiar/asn1-x509 parse was ~15% of the controller's CPU under renewal load; it is now a
// slicing pass of the DER TLV reader, see readCertificateInfo).
const cache = new WeakMap<X509Certificate, CertificateInfo>();
const byContent = new RecentCache<string, CertificateInfo>(64);

/** Reads the extensions of a certificate (cached per X509Certificate object and by DER content). */
export function certificateInfo(certificate: X509Certificate): CertificateInfo {
  const cached = cache.get(certificate);
  if (cached) return cached;
  const key = certificate.raw.toString('latin1');
  let info = byContent.get(key);
  if (info === undefined) {
    info = readCertificateInfo(certificate.raw);
    byContent.set(key, info);
  }
  cache.set(certificate, info);
  return info;
}

/** ASN.1 BOOLEAN. */
const BOOLEAN = 0x01;
/** TBSCertificate [0] version (explicit). */
const VERSION = 0xa0;
/** The GeneralName forms of RFC 5280 4.2.1.6, in the encodings DER allows. */
const GENERAL_NAME_TAGS = new Set([
  0xa0,
  0x81,
  Tag.DNS_NAME,
  0xa3,
  0xa4,
  0xa5,
  Tag.URI,
  Tag.IP_ADDRESS,
  0x88,
]);

/**
 * Reads the extensions of a DER certificate (RFC 5280 4.1 and 4.2) with the TLV reader: it slices
 * the TBSCertificate down to the extensions and decodes only the six Sigil processes, each
 * required to fill exactly its container. Node's X509Certificate has already parsed the outer
 * structure; what it leaves unchecked (the contents of each extnValue) fails here with an `Error`
 * naming the part, as the full @peculiar/asn1-x509 parse did. Strings are IA5 bytes read one per
 * character (latin1), booleans true when any octet is set, key usage bits numbered from the
 * first (digitalSignature = 1), as @peculiar/asn1-x509 reads them.
 */
export function readCertificateInfo(der: Uint8Array): CertificateInfo {
  const certificate = expectTlv(der, 0, der.length, Tag.SEQUENCE, 'Certificate');
  const tbs = expectTlv(
    der,
    certificate.contentStart,
    certificate.end,
    Tag.SEQUENCE,
    'tbsCertificate',
  );
  let at = tbs.contentStart;
  const first = readTlv(der, at, tbs.end);
  if (first.tag === VERSION) at = first.end;
  at = expectTlv(der, at, tbs.end, Tag.INTEGER, 'serialNumber').end;
  for (const what of ['signature', 'issuer', 'validity', 'subject', 'subjectPublicKeyInfo'])
    at = expectTlv(der, at, tbs.end, Tag.SEQUENCE, what).end;
  let extensions: Tlv | undefined;
  while (at < tbs.end) {
    const field = readTlv(der, at, tbs.end);
    if (field.tag === Tag.EXTENSIONS) extensions = field;
    at = field.end;
  }
  const info = {
    isCa: false,
    pathLength: undefined as number | undefined,
    keyUsage: undefined as number | undefined,
    keyUsageCritical: false,
    extendedKeyUsage: undefined as string[] | undefined,
    uris: [] as string[],
    dnsNames: [] as string[],
    unrecognisedCritical: [] as string[],
  };
  if (extensions === undefined) return info;
  const list = expectTlv(der, extensions.contentStart, extensions.end, Tag.SEQUENCE, 'extensions');
  if (list.end !== extensions.end) throw new Error('extensions: unexpected data after the list');
  for (at = list.contentStart; at < list.end;) {
    const extension = expectTlv(der, at, list.end, Tag.SEQUENCE, 'extension');
    at = extension.end;
    const oid = expectTlv(
      der,
      extension.contentStart,
      extension.end,
      Tag.OBJECT_IDENTIFIER,
      'extnID',
    );
    const id = decodeObjectIdentifier(der.subarray(oid.contentStart, oid.end));
    let next = readTlv(der, oid.end, extension.end);
    let critical = false;
    if (next.tag === BOOLEAN) {
      critical = booleanOf(der, next);
      next = readTlv(der, next.end, extension.end);
    }
    if (next.tag !== Tag.OCTET_STRING || next.end !== extension.end)
      throw new Error(`extension ${id}: an extnValue OCTET STRING expected`);
    const value = der.subarray(next.contentStart, next.end);
    switch (id) {
      case id_ce_basicConstraints: {
        const constraints = whole(value, Tag.SEQUENCE, 'basicConstraints');
        let field = constraints.contentStart;
        if (field < constraints.end && value[field] === BOOLEAN) {
          const ca = readTlv(value, field, constraints.end);
          info.isCa = booleanOf(value, ca);
          field = ca.end;
        } else info.isCa = false;
        info.pathLength = undefined;
        if (field < constraints.end) {
          const length = expectTlv(value, field, constraints.end, Tag.INTEGER, 'pathLenConstraint');
          info.pathLength = integerOf(value, length);
          field = length.end;
        }
        if (field !== constraints.end) throw new Error('basicConstraints: unexpected data');
        break;
      }
      case id_ce_keyUsage:
        info.keyUsage = bitsOf(value, whole(value, Tag.BIT_STRING, 'keyUsage'));
        info.keyUsageCritical = critical;
        break;
      case id_ce_extKeyUsage: {
        const purposes = whole(value, Tag.SEQUENCE, 'extKeyUsage');
        info.extendedKeyUsage = [];
        for (let p = purposes.contentStart; p < purposes.end;) {
          const purpose = expectTlv(value, p, purposes.end, Tag.OBJECT_IDENTIFIER, 'KeyPurposeId');
          info.extendedKeyUsage.push(
            decodeObjectIdentifier(value.subarray(purpose.contentStart, purpose.end)),
          );
          p = purpose.end;
        }
        break;
      }
      case id_ce_subjectAltName: {
        const names = whole(value, Tag.SEQUENCE, 'subjectAltName');
        for (let n = names.contentStart; n < names.end;) {
          const name = readTlv(value, n, names.end);
          if (!GENERAL_NAME_TAGS.has(name.tag))
            throw new Error(`subjectAltName: no GeneralName has tag 0x${name.tag.toString(16)}`);
          const text = (): string =>
            Buffer.from(value.subarray(name.contentStart, name.end)).toString('latin1');
          if (name.tag === Tag.URI) info.uris.push(text());
          else if (name.tag === Tag.DNS_NAME) info.dnsNames.push(text());
          n = name.end;
        }
        break;
      }
      default:
        if (critical && !PROCESSED.has(id)) info.unrecognisedCritical.push(id);
    }
  }
  return info;
}

/** The one TLV of tag `tag` that fills `value` exactly. */
function whole(value: Uint8Array, tag: number, what: string): Tlv {
  const found = expectTlv(value, 0, value.length, tag, what);
  if (found.end !== value.length) throw new Error(`${what}: unexpected data after it`);
  return found;
}

function booleanOf(der: Uint8Array, boolean: Tlv): boolean {
  if (boolean.end === boolean.contentStart) throw new Error('an empty BOOLEAN');
  return der.subarray(boolean.contentStart, boolean.end).some((octet) => octet !== 0);
}

/** A non-negative INTEGER (a path length); larger than any safe number reads as the largest. */
function integerOf(der: Uint8Array, integer: Tlv): number {
  const bytes = der.subarray(integer.contentStart, integer.end);
  if (bytes.length === 0 || (bytes[0]! & 0x80) !== 0)
    throw new Error('pathLenConstraint: a non-negative INTEGER expected');
  let value = 0;
  for (const byte of bytes) value = value * 256 + byte;
  return Math.min(value, Number.MAX_SAFE_INTEGER);
}

/** A BIT STRING as a number: its first bit is 1, the next 2, and so on; unused bits do not count. */
function bitsOf(der: Uint8Array, bitString: Tlv): number {
  if (bitString.end === bitString.contentStart) throw new Error('keyUsage: an empty BIT STRING');
  const unused = der[bitString.contentStart]!;
  const octets = der.subarray(bitString.contentStart + 1, bitString.end);
  if (unused > 7 || (unused > 0 && octets.length === 0))
    throw new Error('keyUsage: a malformed BIT STRING');
  let value = 0;
  for (let bit = 0; bit < octets.length * 8 - unused; bit += 1)
    if (octets[bit >> 3]! & (0x80 >> (bit & 7))) value += 2 ** bit;
  return value;
}
