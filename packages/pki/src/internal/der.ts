// A minimal DER *writer* for the per-certificate parts of the issuance fast path. It only ever
// encodes values Sigil itself produces; every DER Sigil reads is parsed by node:crypto or
// @peculiar/asn1-schema. @peculiar/asn1-schema builds the fixed parts once per CA
// (see leaf-template.ts); encoding the handful of changing fields here is what makes issuance
// ~30x faster than a full asn1-schema serialisation per certificate.

/** DER tag bytes used by the leaf builder. */
export const Tag = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  UTF8_STRING: 0x0c,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
  /** GeneralName [2] dNSName (IA5String, implicit). */
  DNS_NAME: 0x82,
  /** GeneralName [6] uniformResourceIdentifier (IA5String, implicit). */
  URI: 0x86,
  /** GeneralName [7] iPAddress (OCTET STRING, implicit). */
  IP_ADDRESS: 0x87,
  /** TBSCertificate [3] extensions (explicit). */
  EXTENSIONS: 0xa3,
} as const;

/** Encodes one TLV: `tag`, the DER length, then the concatenated contents. */
export function tlv(tag: number, ...contents: readonly Uint8Array[]): Buffer {
  let length = 0;
  for (const c of contents) length += c.length;
  const header = lengthHeader(tag, length);
  const out = Buffer.allocUnsafe(header.length + length);
  header.copy(out, 0);
  let offset = header.length;
  for (const c of contents) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

function lengthHeader(tag: number, length: number): Buffer {
  if (length < 0x80) return Buffer.from([tag, length]);
  if (length < 0x100) return Buffer.from([tag, 0x81, length]);
  if (length < 0x10000) return Buffer.from([tag, 0x82, length >> 8, length & 0xff]);
  return Buffer.from([tag, 0x83, length >> 16, (length >> 8) & 0xff, length & 0xff]);
}

/** A positive INTEGER from an unsigned big-endian magnitude (leading zero bytes stripped, sign byte added). */
export function unsignedInteger(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start += 1;
  const body = magnitude.subarray(start);
  return (body[0] ?? 0) & 0x80 ? tlv(Tag.INTEGER, ZERO, body) : tlv(Tag.INTEGER, body);
}

const ZERO = Buffer.from([0]);

/** A BIT STRING with no unused bits. */
export function bitString(bytes: Uint8Array): Buffer {
  return tlv(Tag.BIT_STRING, ZERO, bytes);
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, always in seconds and `Z`. */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const year = date.getUTCFullYear();
  const digits =
    iso.slice(0, 4) +
    iso.slice(5, 7) +
    iso.slice(8, 10) +
    iso.slice(11, 13) +
    iso.slice(14, 16) +
    iso.slice(17, 19) +
    'Z';
  if (year >= 1950 && year < 2050) return tlv(Tag.UTC_TIME, Buffer.from(digits.slice(2), 'latin1'));
  return tlv(Tag.GENERALIZED_TIME, Buffer.from(digits, 'latin1'));
}
