// A minimal DER writer for the per-certificate parts of the issuance fast path, and a minimal
// TLV reader for the one structure the renewal hot path reads (a PKCS#10 request, see
// csr-verification.ts). The writer only ever encodes values Sigil itself produces;
// @peculiar/asn1-schema builds the fixed parts once per CA (see leaf-template.ts); encoding the
// handful of changing fields here is what makes issuance ~30x faster than a full asn1-schema
// serialisation per certificate. The reader only slices: it never allocates per element, never
// recurses and refuses anything whose length does not fit inside its parent, so hostile bytes
// cost one pass at most.

/** DER tag bytes used by the leaf builder. */
export const Tag = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OBJECT_IDENTIFIER: 0x06,
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
  /** CertificationRequestInfo [0] attributes (implicit SET OF). */
  CSR_ATTRIBUTES: 0xa0,
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

/** One TLV found by {@link readTlv}: its tag and where its header, contents and end are in the input. */
export interface Tlv {
  readonly tag: number;
  /** Offset of the tag byte. */
  readonly start: number;
  /** Offset of the first contents byte. */
  readonly contentStart: number;
  /** Offset just past the last contents byte. */
  readonly end: number;
}

/**
 * Reads the TLV at `offset` of `der`, which must end at or before `limit`. Single-byte tags and
 * definite lengths of up to 4 bytes only (DER); throws an `Error` naming the offset otherwise.
 */
export function readTlv(der: Uint8Array, offset: number, limit = der.length): Tlv {
  if (offset + 2 > limit) throw new Error(`truncated DER at byte ${offset}`);
  const tag = der[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new Error(`unsupported multi-byte DER tag at byte ${offset}`);
  let length = der[offset + 1]!;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new Error(`unsupported DER length form at byte ${offset}`);
    if (contentStart + count > limit) throw new Error(`truncated DER at byte ${offset}`);
    length = 0;
    for (let i = 0; i < count; i += 1) length = length * 256 + der[contentStart + i]!;
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > limit) throw new Error(`DER length at byte ${offset} runs past its container`);
  return { tag, start: offset, contentStart, end };
}

/** {@link readTlv}, then checks the tag is `tag`; `what` names the field in the error. */
export function expectTlv(
  der: Uint8Array,
  offset: number,
  limit: number,
  tag: number,
  what: string,
): Tlv {
  const found = readTlv(der, offset, limit);
  if (found.tag !== tag) {
    throw new Error(
      `${what}: expected DER tag 0x${tag.toString(16)} at byte ${offset}, found 0x${found.tag.toString(16)}`,
    );
  }
  return found;
}

/** The dotted form of OBJECT IDENTIFIER contents (X.690 8.19); throws on a malformed encoding. */
export function decodeObjectIdentifier(contents: Uint8Array): string {
  if (contents.length === 0 || contents.length > 64) throw new Error('malformed OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < contents.length; i += 1) {
    const byte = contents[i]!;
    if (value === 0 && byte === 0x80) throw new Error('malformed OBJECT IDENTIFIER');
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER) throw new Error('OBJECT IDENTIFIER arc too large');
    if ((byte & 0x80) === 0) {
      if (arcs.length === 0)
        arcs.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else arcs.push(value);
      value = 0;
    } else if (i === contents.length - 1) {
      throw new Error('malformed OBJECT IDENTIFIER');
    }
  }
  return arcs.join('.');
}
