import {
  createCertificateAuthority,
  createPossessionProof,
  createStreamNonce,
  generateKeyPair,
  type CertificateAuthority,
} from '@sigil/pki';
import { verifyReauthentication, type ReauthenticationRequest } from './reauthentication';

const SPIFFE_ID = 'spiffe://sigil.local/tunneler/laptop-1';

describe('verifyReauthentication (real certificates)', () => {
  let ca: CertificateAuthority;
  let foreign: CertificateAuthority;
  beforeAll(async () => {
    ca = await createCertificateAuthority({ trustDomain: 'sigil.local', commonName: 'Runtime CA' });
    foreign = await createCertificateAuthority({
      trustDomain: 'sigil.local',
      commonName: 'Impostor',
    });
  });

  async function renewed(authority = ca, spiffeId = SPIFFE_ID, ttlSeconds = 600) {
    const key = await generateKeyPair('ec-p256');
    const issued = await authority.issue({ spiffeId, publicKey: key.publicKey, ttlSeconds });
    return {
      chainPem: issued.chainPem,
      privateKeyPem: key.privateKeyPem,
      notAfter: issued.notAfter,
    };
  }

  function request(
    chainPem: string,
    nonce: Buffer,
    signature: Buffer,
    expectedNonce: Buffer | undefined = nonce,
  ): ReauthenticationRequest {
    return {
      reauthenticate: { certificateChainPem: chainPem, nonce, signature },
      expectedNonce,
      spiffeId: SPIFFE_ID,
      trustDomain: 'sigil.local',
      bundlePem: ca.bundlePem,
      at: new Date(),
    };
  }

  it('accepts the renewed chain with a proof by its key over the current nonce, until its notAfter', async () => {
    const next = await renewed();
    const nonce = createStreamNonce();
    expect(
      verifyReauthentication(
        request(next.chainPem, nonce, createPossessionProof(next.privateKeyPem, nonce)),
      ),
    ).toEqual({ accepted: true, notAfter: next.notAfter });
  });

  it('refuses a proof made with another key (a copied certificate without its key)', async () => {
    const next = await renewed();
    const thief = await generateKeyPair('ec-p256');
    const nonce = createStreamNonce();
    expect(
      verifyReauthentication(
        request(next.chainPem, nonce, createPossessionProof(thief.privateKeyPem, nonce)),
      ),
    ).toMatchObject({ accepted: false, reason: 'proof_invalid' });
  });

  it('refuses a proof over another nonce, a spent nonce, and a nonce it never issued', async () => {
    const next = await renewed();
    const nonce = createStreamNonce();
    const other = createStreamNonce();
    const signature = createPossessionProof(next.privateKeyPem, other);
    expect(verifyReauthentication(request(next.chainPem, other, signature, nonce))).toMatchObject({
      accepted: false,
      reason: 'nonce_mismatch',
    });
    expect(
      verifyReauthentication({
        ...request(next.chainPem, nonce, signature),
        expectedNonce: undefined,
      }),
    ).toMatchObject({
      accepted: false,
      reason: 'nonce_mismatch',
    });
    // A valid proof over the right nonce, but claiming a different one.
    const honest = createPossessionProof(next.privateKeyPem, nonce);
    expect(verifyReauthentication(request(next.chainPem, other, honest, nonce))).toMatchObject({
      accepted: false,
      reason: 'nonce_mismatch',
    });
  });

  it("refuses another tunneler's certificate, even with its own key's proof", async () => {
    const other = await renewed(ca, 'spiffe://sigil.local/tunneler/laptop-2');
    const nonce = createStreamNonce();
    expect(
      verifyReauthentication(
        request(other.chainPem, nonce, createPossessionProof(other.privateKeyPem, nonce)),
      ),
    ).toMatchObject({
      accepted: false,
      reason: 'identity_mismatch',
      message:
        'the certificate names spiffe://sigil.local/tunneler/laptop-2, but the stream belongs to spiffe://sigil.local/tunneler/laptop-1',
    });
  });

  it('refuses a chain that does not verify against the runtime bundle, or has expired', async () => {
    const forged = await renewed(foreign);
    const nonce = createStreamNonce();
    expect(
      verifyReauthentication(
        request(forged.chainPem, nonce, createPossessionProof(forged.privateKeyPem, nonce)),
      ),
    ).toMatchObject({ accepted: false, reason: 'chain_invalid' });
    const next = await renewed(ca, SPIFFE_ID, 600);
    const later = {
      ...request(next.chainPem, nonce, createPossessionProof(next.privateKeyPem, nonce)),
      at: new Date(next.notAfter.getTime() + 1_000),
    };
    expect(verifyReauthentication(later)).toMatchObject({
      accepted: false,
      reason: 'chain_invalid',
    });
  });
});
