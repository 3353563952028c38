import type { KeyObject, X509Certificate } from 'node:crypto';
import { createHash, randomBytes, randomFillSync, sign } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate } from '@peculiar/asn1-x509';
import {
  ecdsaWithSHA256,
  ecdsaWithSHA384,
  ECParameters,
  id_ecPublicKey,
  id_secp256r1,
  id_secp384r1,
} from '@peculiar/asn1-ecc';
import { id_rsaEncryption, id_sha256WithRSAEncryption } from '@peculiar/asn1-rsa';
import type { KeyPair, KeyType } from '../keys';
import { x509 } from './x509-runtime';
import { bitString, Tag, time, tlv, unsignedInteger } from './der';

// Leaf issuance without a per-certificate ASN.1 object model. Every leaf a CA issues shares its
// version, signature algorithm, issuer Name, authority key identifier, basic constraints, key
// usage and extended key usage bytes; those are serialised once per CA with @peculiar/asn1-schema
// / @peculiar/x509. Per certificate only the serial, validity, subject, SubjectPublicKeyInfo,
// subjectAltName and subjectKeyIdentifier change; they are encoded with the small DER writer in
// der.ts and the TBSCertificate is signed with node:crypto sign() (no WebCrypto import per call).

/** OBJECT IDENTIFIER TLVs of the per-certificate parts (RFC 5280 4.2.1.2, 4.2.1.6, X.520). */
const OID_SUBJECT_KEY_IDENTIFIER = Buffer.from('0603551d0e', 'hex'); // 2.5.29.14
const OID_SUBJECT_ALT_NAME = Buffer.from('0603551d11', 'hex'); // 2.5.29.17
const OID_COMMON_NAME = Buffer.from('0603550403', 'hex'); // 2.5.4.3
const CRITICAL = Buffer.from('0101ff', 'hex'); // BOOLEAN TRUE
const EMPTY_NAME = Buffer.from('3000', 'hex');
const VERSION_3 = Buffer.from('a003020102', 'hex'); // [0] EXPLICIT INTEGER 2
const ID_ED25519 = '1.3.101.112';

/** Which extended key usages a leaf gets. */
export type LeafProfile = 'server' | 'client' | 'svid';

/** A subject public key in the two encodings a certificate needs. */
export interface SubjectPublicKey {
  readonly keyType: KeyType;
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Buffer;
  /** The subjectPublicKey BIT STRING contents, hashed for the key identifiers (RFC 5280 4.2.1.2 method 1). */
  readonly bits: Buffer;
}

/** Everything that differs between two leaves of one CA. Values are already validated. */
export interface LeafFields {
  readonly subjectPublicKey: SubjectPublicKey;
  readonly profile: LeafProfile;
  readonly spiffeId?: string;
  readonly dnsNames: readonly string[];
  /** IP SANs as 4- or 16-byte buffers. */
  readonly ipAddresses: readonly Buffer[];
  readonly commonName?: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** A signed leaf. */
export interface SignedLeaf {
  readonly der: Buffer;
  /** Lowercase hex, as node:crypto's X509Certificate.serialNumber prints it (lowercased). */
  readonly serialNumber: string;
}

/** Signs leaves for one CA certificate and key. Build it once per CA and reuse it. */
export interface LeafTemplate {
  sign(fields: LeafFields): SignedLeaf;
}

const rsaSpkiAlgorithm = der(
  new AlgorithmIdentifier({ algorithm: id_rsaEncryption, parameters: null }),
);
const spkiAlgorithms: Record<KeyType, Buffer> = {
  'ec-p256': ecSpkiAlgorithm(id_secp256r1),
  'ec-p384': ecSpkiAlgorithm(id_secp384r1),
  'rsa-2048': rsaSpkiAlgorithm,
  'rsa-3072': rsaSpkiAlgorithm,
  ed25519: der(new AlgorithmIdentifier({ algorithm: ID_ED25519 })),
};

// Not asn1-rsa's `sha256WithRSAEncryption` constant: in 2.11.1 it carries the sha512-256 OID.
const rsaSignatureAlgorithm = der(
  new AlgorithmIdentifier({ algorithm: id_sha256WithRSAEncryption, parameters: null }),
);
const signatureAlgorithms: Record<KeyType, Buffer> = {
  'ec-p256': der(ecdsaWithSHA256),
  'ec-p384': der(ecdsaWithSHA384),
  'rsa-2048': rsaSignatureAlgorithm,
  'rsa-3072': rsaSignatureAlgorithm,
  ed25519: der(new AlgorithmIdentifier({ algorithm: ID_ED25519 })),
};

/** The hash node:crypto sign() uses with a CA key of this type (RFC 5480 4: SHA-384 for P-384). */
const signatureDigests: Record<KeyType, string | null> = {
  'ec-p256': 'sha256',
  'ec-p384': 'sha384',
  'rsa-2048': 'sha256',
  'rsa-3072': 'sha256',
  ed25519: null,
};

const basicConstraintsLeaf = Buffer.from(
  new x509.BasicConstraintsExtension(false, undefined, true).rawData,
);
const signatureKeyUsage = Buffer.from(
  new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true).rawData,
);
// RSA leaves also get keyEncipherment, which TLS 1.2 RSA key exchange needs.
const rsaKeyUsage = Buffer.from(
  new x509.KeyUsagesExtension(
    x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
    true,
  ).rawData,
);
const keyUsage: Record<KeyType, Buffer> = {
  'ec-p256': signatureKeyUsage,
  'ec-p384': signatureKeyUsage,
  'rsa-2048': rsaKeyUsage,
  'rsa-3072': rsaKeyUsage,
  ed25519: signatureKeyUsage,
};
const extendedKeyUsage: Record<LeafProfile, Buffer> = {
  server: Buffer.from(
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false).rawData,
  ),
  client: Buffer.from(
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false).rawData,
  ),
  svid: Buffer.from(
    new x509.ExtendedKeyUsageExtension(
      [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
      false,
    ).rawData,
  ),
};

/**
 * Prepares the bytes every leaf of this CA shares. The issuer Name is the CA's subject exactly as
 * encoded in its certificate, and the authority key identifier is the CA's own subject key
 * identifier when it has one, so chains also build for CAs made by other tools.
 */
export function createLeafTemplate(caCertificate: X509Certificate, caKey: KeyPair): LeafTemplate {
  const caAsn = AsnConvert.parse(caCertificate.raw, Certificate);
  const issuer = der(caAsn.tbsCertificate.subject);
  const caSki = new x509.X509Certificate(caCertificate.raw).getExtension(
    x509.SubjectKeyIdentifierExtension,
  )?.keyId;
  const authorityKeyId = Buffer.from(
    new x509.AuthorityKeyIdentifierExtension(
      caSki ??
        keyIdentifier(subjectPublicKeyOf(caKey.publicKey, caKey.keyType).bits).toString('hex'),
    ).rawData,
  );
  const signatureAlgorithm = signatureAlgorithms[caKey.keyType];
  const digest = signatureDigests[caKey.keyType];
  const signingKey = { key: caKey.privateKey, dsaEncoding: 'der' as const };

  return {
    sign(fields: LeafFields): SignedLeaf {
      const serial = randomSerial();
      const names: Buffer[] = [];
      if (fields.spiffeId !== undefined)
        names.push(tlv(Tag.URI, Buffer.from(fields.spiffeId, 'latin1')));
      for (const dns of fields.dnsNames) names.push(tlv(Tag.DNS_NAME, Buffer.from(dns, 'latin1')));
      for (const ip of fields.ipAddresses) names.push(tlv(Tag.IP_ADDRESS, ip));
      const subject =
        fields.commonName === undefined
          ? EMPTY_NAME
          : tlv(
              Tag.SEQUENCE,
              tlv(
                Tag.SET,
                tlv(
                  Tag.SEQUENCE,
                  OID_COMMON_NAME,
                  tlv(Tag.UTF8_STRING, Buffer.from(fields.commonName, 'utf8')),
                ),
              ),
            );
      // RFC 5280 4.2.1.6: with an empty subject the subjectAltName extension is critical.
      const subjectAltName =
        fields.commonName === undefined
          ? tlv(
              Tag.SEQUENCE,
              OID_SUBJECT_ALT_NAME,
              CRITICAL,
              tlv(Tag.OCTET_STRING, tlv(Tag.SEQUENCE, ...names)),
            )
          : tlv(
              Tag.SEQUENCE,
              OID_SUBJECT_ALT_NAME,
              tlv(Tag.OCTET_STRING, tlv(Tag.SEQUENCE, ...names)),
            );
      const subjectKeyId = tlv(
        Tag.SEQUENCE,
        OID_SUBJECT_KEY_IDENTIFIER,
        tlv(Tag.OCTET_STRING, tlv(Tag.OCTET_STRING, keyIdentifier(fields.subjectPublicKey.bits))),
      );
      const tbs = tlv(
        Tag.SEQUENCE,
        VERSION_3,
        unsignedInteger(serial),
        signatureAlgorithm,
        issuer,
        tlv(Tag.SEQUENCE, time(fields.notBefore), time(fields.notAfter)),
        subject,
        fields.subjectPublicKey.spki,
        tlv(
          Tag.EXTENSIONS,
          tlv(
            Tag.SEQUENCE,
            basicConstraintsLeaf,
            keyUsage[fields.subjectPublicKey.keyType],
            extendedKeyUsage[fields.profile],
            subjectAltName,
            subjectKeyId,
            authorityKeyId,
          ),
        ),
      );
      const signature = sign(digest, tbs, signingKey);
      return {
        der: tlv(Tag.SEQUENCE, tbs, signatureAlgorithm, bitString(signature)),
        serialNumber: serial.toString('hex'),
      };
    },
  };
}

/**
 * The SubjectPublicKeyInfo and key bits of a Node public key, built from its JWK form (a JWK
 * export is ~30x cheaper than a DER SPKI export through the OpenSSL 3 encoders).
 */
export function subjectPublicKeyOf(key: KeyObject, keyType: KeyType): SubjectPublicKey {
  const jwk = key.export({ format: 'jwk' });
  let bits: Buffer;
  switch (keyType) {
    case 'ec-p256':
    case 'ec-p384':
      bits = Buffer.concat([
        UNCOMPRESSED_POINT,
        Buffer.from(jwk.x!, 'base64url'),
        Buffer.from(jwk.y!, 'base64url'),
      ]);
      break;
    case 'rsa-2048':
    case 'rsa-3072':
      // RFC 8017 A.1.1 RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
      bits = tlv(
        Tag.SEQUENCE,
        unsignedInteger(Buffer.from(jwk.n!, 'base64url')),
        unsignedInteger(Buffer.from(jwk.e!, 'base64url')),
      );
      break;
    case 'ed25519':
      bits = Buffer.from(jwk.x!, 'base64url');
      break;
  }
  return { keyType, bits, spki: tlv(Tag.SEQUENCE, spkiAlgorithms[keyType], bitString(bits)) };
}

const UNCOMPRESSED_POINT = Buffer.from([0x04]);

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(bits: Buffer): Buffer {
  return createHash('sha1').update(bits).digest();
}

// Serials come from a pool refilled 256 serials at a time: one randomFillSync() call instead of
// one per certificate (a measurable share of the issuance time).
const SERIAL_POOL = Buffer.allocUnsafe(16 * 256);
let serialOffset = SERIAL_POOL.length;

/** 128 random bits; the first byte is never zero so the serial always has 16 significant bytes. */
export function randomSerial(): Buffer {
  if (serialOffset === SERIAL_POOL.length) {
    randomFillSync(SERIAL_POOL);
    serialOffset = 0;
  }
  const serial = Buffer.from(SERIAL_POOL.subarray(serialOffset, serialOffset + 16));
  serialOffset += 16;
  while (serial[0] === 0) serial[0] = randomBytes(1)[0]!;
  return serial;
}

function ecSpkiAlgorithm(namedCurve: string): Buffer {
  return der(
    new AlgorithmIdentifier({
      algorithm: id_ecPublicKey,
      parameters: AsnConvert.serialize(new ECParameters({ namedCurve })),
    }),
  );
}

function der(value: object): Buffer {
  return Buffer.from(AsnConvert.serialize(value));
}
