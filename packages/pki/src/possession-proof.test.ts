import { createCertificateAuthority } from './ca';
import { createCertificateSigningRequest } from './csr';
import { generateKeyPair } from './keys';
import type { KeyType } from './keys';
import {
  createPossessionProof,
  createStreamNonce,
  verifyPossessionProof,
} from './possession-proof';

describe('possession proofs over a stream nonce', () => {
  it.each<KeyType>(['ec-p256', 'rsa-2048', 'ed25519'])(
    'verifies a %s proof against the certified key, and nothing else',
    async (keyType) => {
      const ca = await createCertificateAuthority({ trustDomain: 'example.org' });
      const key = await generateKeyPair(keyType);
      const other = await generateKeyPair(keyType);
      const issued = await ca.signCsr(await createCertificateSigningRequest(key), {
        spiffeId: 'spiffe://example.org/connector/c1',
        ttlSeconds: 600,
        profile: 'svid',
      });
      const nonce = createStreamNonce();
      expect(nonce).toHaveLength(32);
      const proof = createPossessionProof(key.privateKeyPem, nonce);
      expect(verifyPossessionProof(issued.certificatePem, nonce, proof)).toBe(true);
      expect(verifyPossessionProof(issued.certificatePem, createStreamNonce(), proof)).toBe(false);
      const forged = createPossessionProof(other.privateKeyPem, nonce);
      expect(verifyPossessionProof(issued.certificatePem, nonce, forged)).toBe(false);
      expect(verifyPossessionProof('not a certificate', nonce, proof)).toBe(false);
    },
  );
});
