import { timingSafeEqual } from 'node:crypto';
import { validateX509Svid, verifyPossessionProof } from '@sigil/pki';
import type { controlplaneV1 } from '@sigil/proto';

/**
 * The connector's decision on a tunneler's in-band Reauthenticate.
 *
 * @example
 * ```ts
 * const verdict: ReauthenticationVerdict = verifyReauthentication(request);
 * if (!verdict.accepted) logger.warn({ event: 'tunnel.reauthentication_refused', reason: verdict.reason }, verdict.message);
 * ```
 */
export type ReauthenticationVerdict =
  | { accepted: true; notAfter: Date }
  | {
      accepted: false;
      reason: 'nonce_mismatch' | 'chain_invalid' | 'identity_mismatch' | 'proof_invalid';
      message: string;
    };

/**
 * What {@link verifyReauthentication} decides on.
 *
 * @example
 * ```ts
 * const request: ReauthenticationRequest = {
 *   reauthenticate: message.body.reauthenticate, expectedNonce: stream.nonce, spiffeId: stream.spiffeId,
 *   trustDomain: 'sigil.local', bundlePem: session.identity.bundlePem, at: new Date(),
 * };
 * ```
 */
export interface ReauthenticationRequest {
  reauthenticate: controlplaneV1.Reauthenticate;
  /** The stream's unused nonce (undefined once spent). */
  expectedNonce: Uint8Array | undefined;
  /** The SPIFFE ID the stream was opened with. */
  spiffeId: string;
  trustDomain: string;
  /** The connector's current runtime trust bundle. */
  bundlePem: string;
  at: Date;
}

/**
 * Accepts a Reauthenticate only when it answers the stream's current nonce, its chain is a valid
 * X509-SVID against the runtime bundle at `at`, it names the stream's own SPIFFE ID, and its
 * signature over the nonce verifies with the new leaf's key (a copied certificate without its
 * key, or a replayed proof, is refused). On success the stream lives until the new `notAfter`.
 *
 * @example
 * ```ts
 * const verdict = verifyReauthentication({ reauthenticate, expectedNonce: nonce, spiffeId, trustDomain, bundlePem, at: new Date() });
 * if (verdict.accepted) extendUntil(verdict.notAfter);
 * ```
 */
export function verifyReauthentication(request: ReauthenticationRequest): ReauthenticationVerdict {
  const { reauthenticate, expectedNonce } = request;
  const nonce = Buffer.from(reauthenticate.nonce);
  if (
    expectedNonce === undefined ||
    nonce.length !== expectedNonce.length ||
    !timingSafeEqual(nonce, expectedNonce)
  ) {
    return {
      accepted: false,
      reason: 'nonce_mismatch',
      message: 'the nonce is not the one this stream issued last (or it was already used)',
    };
  }
  let svid;
  try {
    svid = validateX509Svid(reauthenticate.certificateChainPem, request.bundlePem, {
      trustDomain: request.trustDomain,
      at: request.at,
    });
  } catch (err) {
    return {
      accepted: false,
      reason: 'chain_invalid',
      message: `the certificate is not a valid X509-SVID of spiffe://${request.trustDomain}: ${(err as Error).message}`,
    };
  }
  if (svid.spiffeId !== request.spiffeId) {
    return {
      accepted: false,
      reason: 'identity_mismatch',
      message: `the certificate names ${svid.spiffeId}, but the stream belongs to ${request.spiffeId}`,
    };
  }
  if (!verifyPossessionProof(svid.leaf, nonce, reauthenticate.signature)) {
    return {
      accepted: false,
      reason: 'proof_invalid',
      message: "the signature over the nonce does not verify with the certificate's key",
    };
  }
  return { accepted: true, notAfter: svid.notAfter };
}
