import type { KeyObject } from 'node:crypto';
import { createPublicKey, verify } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest } from '@peculiar/asn1-csr';
import {
  ECParameters,
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
  RSAPublicKey,
} from '@peculiar/asn1-rsa';
import type { SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { SigilError } from '@sigil/errors';
import type { KeyType } from '../keys';
import { keyTypeOf } from '../keys';
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
 * Parses a PEM CSR with @peculiar/asn1-csr, refuses weak or unsupported keys (RSA below 2048
 * bits, EC curves other than P-256 and P-384, DSA...) and checks the self-signature with node:crypto (the
 * signing hot path of the controller; @peculiar/x509 only for RSASSA-PSS). Every failure is
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
  let request: CertificationRequest;
  let publicKey: KeyObject;
  try {
    der = Buffer.from(
      x509.PemConverter.decodeFirst(
        csrPem.replace(/NEW CERTIFICATE REQUEST/g, 'CERTIFICATE REQUEST'),
      ),
    );
    request = AsnConvert.parse(der, CertificationRequest);
    publicKey = publicKeyOf(request.certificationRequestInfo.subjectPKInfo);
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
  const algorithm = request.signatureAlgorithm.algorithm;
  let verified: boolean;
  try {
    const hash = SIGNATURE_HASHES.get(algorithm);
    if (hash !== undefined) {
      verified = verify(
        hash,
        Buffer.from(request.certificationRequestInfoRaw!),
        { key: publicKey, dsaEncoding: 'der' },
        Buffer.from(request.signature),
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

/**
 * The request's public key as a KeyObject. P-256, Ed25519 and RSA keys are imported from their
 * JWK form (about twice as fast as a DER SPKI import through the OpenSSL 3 decoders); anything
 * else from DER, so that keyTypeOf() can name it in its refusal.
 */
function publicKeyOf(spki: SubjectPublicKeyInfo): KeyObject {
  const bits = Buffer.from(spki.subjectPublicKey);
  switch (spki.algorithm.algorithm) {
    case id_ecPublicKey: {
      const curve = spki.algorithm.parameters
        ? AsnConvert.parse(spki.algorithm.parameters, ECParameters).namedCurve
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
      const rsa = AsnConvert.parse(bits, RSAPublicKey);
      const n = stripLeadingZeros(Buffer.from(rsa.modulus)).toString('base64url');
      const e = stripLeadingZeros(Buffer.from(rsa.publicExponent)).toString('base64url');
      return createPublicKey({ key: { kty: 'RSA', n, e }, format: 'jwk' });
    }
  }
  return createPublicKey({
    key: Buffer.from(AsnConvert.serialize(spki)),
    format: 'der',
    type: 'spki',
  });
}

function stripLeadingZeros(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i += 1;
  return bytes.subarray(i);
}
