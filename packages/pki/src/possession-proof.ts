import { createPublicKey, randomBytes, sign, verify, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** The context string every stream re-authentication signs, so the signature means nothing elsewhere. */
const CONTEXT = Buffer.from('sigil-stream-reauth-v1\0', 'latin1');

/**
 * Bytes of a {@link createStreamNonce}.
 *
 * @example
 * ```ts
 * if (challenge.nonce.length !== STREAM_NONCE_BYTES) refuse('malformed challenge');
 * ```
 */
export const STREAM_NONCE_BYTES = 32;

/**
 * A fresh single-use nonce for a stream challenge (32 random bytes).
 *
 * @example
 * ```ts
 * session.write({ body: { $case: 'challenge', challenge: { nonce: createStreamNonce() } } });
 * ```
 */
export function createStreamNonce(): Buffer {
  return randomBytes(STREAM_NONCE_BYTES);
}

/** SHA-256 for ECDSA and RSA keys; Ed25519 signs the message itself. */
function digestOf(key: KeyObject): string | null {
  return key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
}

/**
 * Signs a stream challenge with a (renewed) private key: the proof that the sender holds the key of
 * the certificate it presents in-band (`Reauthenticate.signature`). The signed message is
 * `"sigil-stream-reauth-v1" || 0x00 || nonce`.
 *
 * @example
 * ```ts
 * const signature = createPossessionProof(identity.privateKeyPem, challenge.nonce);
 * ```
 */
export function createPossessionProof(privateKeyPem: string, nonce: Uint8Array): Buffer {
  const message = Buffer.concat([CONTEXT, nonce]);
  const key = createPublicKey(privateKeyPem);
  return sign(digestOf(key), message, privateKeyPem);
}

/**
 * Checks a {@link createPossessionProof} signature against the public key of `leaf` (a PEM or an
 * `X509Certificate`). False for a wrong key, nonce or signature, never a throw.
 *
 * @example
 * ```ts
 * if (!verifyPossessionProof(svid.leaf, expectedNonce, message.signature)) closeStream('proof of possession failed');
 * ```
 */
export function verifyPossessionProof(
  leaf: X509Certificate | string,
  nonce: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    const certificate = typeof leaf === 'string' ? new X509Certificate(leaf) : leaf;
    const key = certificate.publicKey;
    return verify(digestOf(key), Buffer.concat([CONTEXT, nonce]), key, signature);
  } catch {
    return false;
  }
}
