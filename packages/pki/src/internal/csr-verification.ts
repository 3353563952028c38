import type { KeyObject } from 'node:crypto';
import { createPublicKey, verify } from 'node:crypto';
import {
  id_ecdsaWithSHA256,
  id_ecdsaWithSHA384,
  id_ecdsaWithSHA512,
  id_ecPublicKey,
  id_secp256r1,
} from '@peculiar/asn1-ecc';
import {
  id_rsaEncryption,
  id_RSASSA_PSS,
  id_sha256WithRSAEncryption,
  id_sha384WithRSAEncryption,
  id_sha512WithRSAEncryption,
} from '@peculiar/asn1-rsa';
import { SigilError } from '@sigil/errors';
import type { KeyType } from '../keys';
import { keyTypeOf } from '../keys';
import type { Tlv } from './der';
import { decodeObjectIdentifier, expectTlv, readTlv, Tag } from './der';
import { x509 } from './x509-runtime';

const ID_ED25519 = '1.3.101.112';

/**
 * The verified public key of a CSR.
 *
 * @example
 * ```ts
 * const { keyType }: VerifiedCsr = await verifyCertificateSigningRequest(csrPem);
 * ```
 */
export interface VerifiedCsr {
  readonly publicKey: KeyObject;
  readonly keyType: KeyType;
}

/** Hash for node:crypto verify() per CSR signature algorithm; RSASSA-PSS goes through @peculiar/x509. */
const SIGNATURE_HASHES = new Map<string, string | null>([
  [id_ecdsaWithSHA256, 'sha256'],
  [id_ecdsaWithSHA384, 'sha384'],
  [id_ecdsaWithSHA512, 'sha512'],
  [id_sha256WithRSAEncryption, 'sha256'],
  [id_sha384WithRSAEncryption, 'sha384'],
  [id_sha512WithRSAEncryption, 'sha512'],
  [ID_ED25519, null],
]);

/**
 * Reads a PEM CSR in one pass (a DER TLV reader slices the signed info, the key and the signature),
 * refuses weak or unsupported keys (RSA below 2048 bits, EC curves other than P-256 and P-384,
 * DSA...) and checks the self-signature with one node:crypto verify (the renewal hot path of the
 * controller; @peculiar/x509 only for RSASSA-PSS). Malformed DER costs one bounded pass, never a
 * crash. Every failure is
 * `ERR_CSR_INVALID` with `details.reason` one of `malformed`, `weak-key`, `bad-signature`.
 * `ca.signCsr` runs it too; call it alone to judge a CSR before anything else about the request
 * (the controller does, so a malformed CSR is refused the same way whatever token comes with it).
 *
 * @example
 * ```ts
 * await verifyCertificateSigningRequest(request.csrPem); // throws ERR_CSR_INVALID
 * ```
 */
export async function verifyCertificateSigningRequest(
  csrPem: string,
  source = 'CSR',
): Promise<VerifiedCsr> {
  const fail = (
    reason: 'malformed' | 'weak-key' | 'bad-signature',
    message: string,
    cause?: unknown,
  ): never => {
    throw new SigilError('ERR_CSR_INVALID', `${source}: ${message}`, {
      cause,
      details: { file: source, reason },
    });
  };
  if (typeof csrPem !== 'string' || !/-----BEGIN (NEW )?CERTIFICATE REQUEST-----/.test(csrPem)) {
    fail(
      'malformed',
      'no PEM certificate request found (expected "-----BEGIN CERTIFICATE REQUEST-----")',
    );
  }
  let der: Buffer;
  let request: ParsedRequest;
  let publicKey: KeyObject;
  try {
    der = Buffer.from(
      x509.PemConverter.decodeFirst(
        csrPem.replace(/NEW CERTIFICATE REQUEST/g, 'CERTIFICATE REQUEST'),
      ),
    );
    request = parseCertificationRequest(der);
    publicKey = publicKeyOf(der, request.subjectPublicKeyInfo);
  } catch (cause) {
    return fail(
      'malformed',
      `not a readable PKCS#10 request, truncated or corrupt (${(cause as Error).message})`,
      cause,
    );
  }
  let keyType: KeyType;
  try {
    keyType = keyTypeOf(publicKey, source);
  } catch (cause) {
    return fail(
      'weak-key',
      `refused: ${(cause as Error).message.replace(`${source}: `, '')}`,
      cause,
    );
  }
  const algorithm = request.signatureAlgorithm;
  let verified: boolean;
  try {
    const hash = SIGNATURE_HASHES.get(algorithm);
    if (hash !== undefined) {
      verified = verify(
        hash,
        request.certificationRequestInfo,
        { key: publicKey, dsaEncoding: 'der' },
        request.signature,
      );
    } else if (algorithm === id_RSASSA_PSS) {
      verified = await new x509.Pkcs10CertificateRequest(der).verify();
    } else {
      return fail(
        'bad-signature',
        `the self-signature uses an unsupported algorithm (${algorithm}); use ECDSA with SHA-256, RSA PKCS#1 v1.5 or PSS with SHA-256 or better, or Ed25519`,
      );
    }
  } catch (cause) {
    return fail(
      'bad-signature',
      `the self-signature cannot be checked (${(cause as Error).message})`,
      cause,
    );
  }
  if (!verified)
    fail(
      'bad-signature',
      'the self-signature does not verify: the request was altered or not signed by its key',
    );
  return { publicKey, keyType };
}

/** The parts of a PKCS#10 request the verification needs, as slices of its DER. */
interface ParsedRequest {
  /** The DER CertificationRequestInfo, header included: the signed bytes. */
  readonly certificationRequestInfo: Buffer;
  readonly subjectPublicKeyInfo: ParsedSubjectPublicKeyInfo;
  /** Dotted OID of the self-signature algorithm. */
  readonly signatureAlgorithm: string;
  readonly signature: Buffer;
}

interface ParsedSubjectPublicKeyInfo {
  /** The whole SubjectPublicKeyInfo TLV. */
  readonly tlv: Tlv;
  /** Dotted OID of the key algorithm. */
  readonly algorithm: string;
  /** The algorithm parameters TLV, if any. */
  readonly parameters: Tlv | undefined;
  /** The subjectPublicKey BIT STRING contents after the unused-bits byte. */
  readonly bits: Buffer;
}

/**
 * RFC 2986 section 4, read once with the DER TLV reader: the request is sliced, not decoded into
 * objects (what @peculiar/asn1-schema did cost as much as the signature check itself).
 *
 *   CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature BIT STRING }
 *   CertificationRequestInfo ::= SEQUENCE { version INTEGER, subject Name, subjectPKInfo, attributes [0] }
 */
function parseCertificationRequest(der: Buffer): ParsedRequest {
  const request = expectTlv(der, 0, der.length, Tag.SEQUENCE, 'CertificationRequest');
  if (request.end !== der.length) {
    throw new Error(`${der.length - request.end} bytes after the CertificationRequest`);
  }
  const info = expectTlv(
    der,
    request.contentStart,
    request.end,
    Tag.SEQUENCE,
    'certificationRequestInfo',
  );
  const version = expectTlv(der, info.contentStart, info.end, Tag.INTEGER, 'version');
  const subject = expectTlv(der, version.end, info.end, Tag.SEQUENCE, 'subject');
  const spki = expectTlv(der, subject.end, info.end, Tag.SEQUENCE, 'subjectPKInfo');
  if (spki.end < info.end) {
    const attributes = expectTlv(der, spki.end, info.end, Tag.CSR_ATTRIBUTES, 'attributes');
    if (attributes.end !== info.end) throw new Error('unexpected data after the attributes');
  }
  const spkiAlgorithm = readAlgorithmIdentifier(der, spki.contentStart, spki.end, 'subjectPKInfo');
  const bits = readBitString(der, spkiAlgorithm.end, spki.end, 'subjectPublicKey');
  if (bits.end !== spki.end) throw new Error('unexpected data after the subjectPublicKey');
  const signatureAlgorithm = readAlgorithmIdentifier(
    der,
    info.end,
    request.end,
    'signatureAlgorithm',
  );
  const signature = readBitString(der, signatureAlgorithm.end, request.end, 'signature');
  if (signature.end !== request.end) throw new Error('unexpected data after the signature');
  return {
    certificationRequestInfo: der.subarray(info.start, info.end),
    subjectPublicKeyInfo: {
      tlv: spki,
      algorithm: spkiAlgorithm.algorithm,
      parameters: spkiAlgorithm.parameters,
      bits: bits.bytes,
    },
    signatureAlgorithm: signatureAlgorithm.algorithm,
    signature: signature.bytes,
  };
}

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL } */
function readAlgorithmIdentifier(
  der: Buffer,
  offset: number,
  limit: number,
  what: string,
): { algorithm: string; parameters: Tlv | undefined; end: number } {
  const sequence = expectTlv(der, offset, limit, Tag.SEQUENCE, `${what} algorithm`);
  const oid = expectTlv(
    der,
    sequence.contentStart,
    sequence.end,
    Tag.OBJECT_IDENTIFIER,
    `${what} algorithm`,
  );
  const algorithm = decodeObjectIdentifier(der.subarray(oid.contentStart, oid.end));
  const parameters = oid.end < sequence.end ? readTlv(der, oid.end, sequence.end) : undefined;
  if ((parameters?.end ?? oid.end) !== sequence.end) {
    throw new Error(`${what} algorithm: unexpected data after the parameters`);
  }
  return { algorithm, parameters, end: sequence.end };
}

/** A BIT STRING with no unused bits (keys and signatures are whole bytes). */
function readBitString(
  der: Buffer,
  offset: number,
  limit: number,
  what: string,
): { bytes: Buffer; end: number } {
  const bitString = expectTlv(der, offset, limit, Tag.BIT_STRING, what);
  if (bitString.end === bitString.contentStart || der[bitString.contentStart] !== 0) {
    throw new Error(`${what}: a BIT STRING of whole bytes expected`);
  }
  return { bytes: der.subarray(bitString.contentStart + 1, bitString.end), end: bitString.end };
}

/**
 * The request's public key as a KeyObject. P-256, Ed25519 and RSA keys are imported from their
 * JWK form (about twice as fast as a DER SPKI import through the OpenSSL 3 decoders); anything
 * else from its DER SubjectPublicKeyInfo, so that keyTypeOf() can name it in its refusal.
 */
function publicKeyOf(der: Buffer, spki: ParsedSubjectPublicKeyInfo): KeyObject {
  const { bits, parameters } = spki;
  switch (spki.algorithm) {
    case id_ecPublicKey: {
      const curve =
        parameters?.tag === Tag.OBJECT_IDENTIFIER
          ? decodeObjectIdentifier(der.subarray(parameters.contentStart, parameters.end))
          : undefined;
      if (curve === id_secp256r1 && bits.length === 65 && bits[0] === 0x04) {
        const x = bits.subarray(1, 33).toString('base64url');
        const y = bits.subarray(33).toString('base64url');
        return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x, y }, format: 'jwk' });
      }
      break;
    }
    case ID_ED25519:
      return createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: bits.toString('base64url') },
        format: 'jwk',
      });
    case id_rsaEncryption: {
      // RFC 8017 A.1.1 RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
      const sequence = expectTlv(bits, 0, bits.length, Tag.SEQUENCE, 'RSAPublicKey');
      const modulus = expectTlv(bits, sequence.contentStart, sequence.end, Tag.INTEGER, 'modulus');
      const exponent = expectTlv(bits, modulus.end, sequence.end, Tag.INTEGER, 'publicExponent');
      const n = integerMagnitude(bits, modulus).toString('base64url');
      const e = integerMagnitude(bits, exponent).toString('base64url');
      return createPublicKey({ key: { kty: 'RSA', n, e }, format: 'jwk' });
    }
  }
  return createPublicKey({
    key: der.subarray(spki.tlv.start, spki.tlv.end),
    format: 'der',
    type: 'spki',
  });
}

/** An INTEGER's contents without leading zero bytes. */
function integerMagnitude(der: Buffer, integer: Tlv): Buffer {
  let i = integer.contentStart;
  while (i < integer.end - 1 && der[i] === 0) i += 1;
  return der.subarray(i, integer.end);
}
