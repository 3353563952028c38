import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import {
  createCertificateAuthority,
  createCertificateSigningRequest,
  generateKeyPair,
} from '@sigil/pki';
import { SignJWT, exportJWK } from 'jose';
import { derCertificatesToPem, pkcs8DerToPem } from './der';
import { validateJwtSvid } from './jwt-svid';
import { createWorkloadIdentities } from './workload-identities';

const entry = {
  id: 'e1',
  spiffeId: 'spiffe://example.org/billing',
  selectors: ['unix:uid:1000'],
  x509TtlSeconds: 60,
  jwtTtlSeconds: 300,
};

describe('createWorkloadIdentities', () => {
  it('issues an SVID per entry from a CSR and renews it at half its remaining lifetime', async () => {
    const ca = await createCertificateAuthority({ trustDomain: 'example.org' });
    let signed = 0;
    const identities = createWorkloadIdentities({
      trustDomain: 'example.org',
      trustBundlePem: () => ca.bundlePem,
      signCsr: async (_id, csrPem) => {
        signed += 1;
        // Back-dated by 5 minutes, as the controller does for skewed clocks.
        const issued = await ca.signCsr(csrPem, {
          spiffeId: entry.spiffeId,
          ttlSeconds: 60,
          profile: 'svid',
          backdateSeconds: 300,
        });
        return { certificateChainPem: issued.chainPem };
      },
      mintJwtSvid: async () => ({ spiffeId: entry.spiffeId, token: 't', expiresAt: 0 }),
    });
    const changes: number[] = [];
    identities.onChange(() => changes.push(signed));
    identities.setEntries([entry]);
    await identities.ready([entry.id]);
    const svid = identities.svid(entry.id)!;
    expect(svid.spiffeId).toBe(entry.spiffeId);
    expect(derCertificatesToPem(svid.chainDer, 'chain')).toContain('BEGIN CERTIFICATE');
    expect(pkcs8DerToPem(svid.keyDer, 'key')).toContain('BEGIN PRIVATE KEY');
    expect(derCertificatesToPem(identities.x509Bundle(), 'bundle').trim()).toBe(
      ca.bundlePem.trim(),
    );
    // Not re-issued at once although notBefore + lifetime/2 is already past (back-dating).
    await new Promise((resolve) => setImmediate(resolve));
    expect(signed).toBe(1);
    await identities.rotate();
    expect(signed).toBe(2);
    expect(identities.svid(entry.id)!.chainDer.equals(svid.chainDer)).toBe(false);
    identities.setEntries([]);
    expect(identities.svid(entry.id)).toBeUndefined();
    identities.close();
  });

  it('re-signs at once an SVID of the previous CA once the agent holds a certificate of the new one', async () => {
    const oldCa = await createCertificateAuthority({ trustDomain: 'example.org' });
    const newCa = await createCertificateAuthority({ trustDomain: 'example.org' });
    let signer = oldCa;
    let bundlePem = oldCa.bundlePem;
    const agentCertOf = async (ca: typeof oldCa): Promise<string> =>
      (
        await ca.signCsr(await createCertificateSigningRequest(await generateKeyPair('ec-p256')), {
          spiffeId: 'spiffe://example.org/connector/edge-1',
          ttlSeconds: 60,
          profile: 'svid',
        })
      ).chainPem;
    let agentPem = await agentCertOf(oldCa);
    let signed = 0;
    const identities = createWorkloadIdentities({
      trustDomain: 'example.org',
      trustBundlePem: () => bundlePem,
      agentCertificatePem: () => agentPem,
      signCsr: async (_id, csrPem) => {
        signed += 1;
        const issued = await signer.signCsr(csrPem, {
          spiffeId: entry.spiffeId,
          ttlSeconds: 3600,
          profile: 'svid',
        });
        return { certificateChainPem: issued.chainPem };
      },
      mintJwtSvid: async () => ({ spiffeId: entry.spiffeId, token: 't', expiresAt: 0 }),
    });
    identities.setEntries([entry]);
    await identities.ready([entry.id]);
    const pushed = (): Promise<void> =>
      new Promise((resolve) => {
        const stop = identities.onChange(() => {
          if (signed === 2) {
            stop();
            resolve();
          }
        });
      });
    // Prepare: the bundle holds both roots; the agent's certificate is still of the old CA.
    bundlePem = `${oldCa.bundlePem}${newCa.bundlePem}`;
    identities.bundleChanged();
    await new Promise((resolve) => setImmediate(resolve));
    expect(signed).toBe(1);
    // Activate: the agent renewed under the new CA, the controller signs with it.
    signer = newCa;
    agentPem = await agentCertOf(newCa);
    const resigned = pushed();
    identities.bundleChanged();
    await resigned;
    expect(
      new X509Certificate(
        derCertificatesToPem(identities.svid(entry.id)!.chainDer, 'chain'),
      ).verify(new X509Certificate(newCa.certificatePem).publicKey),
    ).toBe(true);
    identities.bundleChanged();
    await new Promise((resolve) => setImmediate(resolve));
    expect(signed).toBe(2);
    identities.close();
  });
});

describe('validateJwtSvid', () => {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const bundle = async () => ({
    keys: [{ ...(await exportJWK(key)), d: undefined, kid: 'k1', use: 'jwt-svid' }],
  });
  const token = (claims: { sub?: string; aud?: string[]; exp?: number }, kid = 'k1') => {
    let jwt = new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' });
    if (claims.sub) jwt = jwt.setSubject(claims.sub);
    if (claims.aud) jwt = jwt.setAudience(claims.aud);
    if (claims.exp) jwt = jwt.setExpirationTime(claims.exp);
    return jwt.sign(key);
  };
  const exp = () => Math.floor(Date.now() / 1000) + 60;

  it('accepts a JWT-SVID signed by a jwt-svid key of the bundle, for its audience', async () => {
    const jwks = await bundle();
    const svid = await validateJwtSvid(
      await token({ sub: 'spiffe://example.org/web', aud: ['billing'], exp: exp() }),
      { audience: 'billing', bundle: (td) => (td === 'example.org' ? jwks : undefined) },
    );
    expect(svid).toMatchObject({ spiffeId: 'spiffe://example.org/web', audience: ['billing'] });
  });

  it.each([
    ['another audience', { sub: 'spiffe://example.org/web', aud: ['other'] }, 'k1', /aud/],
    ['no exp', { sub: 'spiffe://example.org/web', aud: ['billing'], exp: 0 }, 'k1', /no exp/],
    ['a sub that is no SPIFFE ID', { sub: 'web', aud: ['billing'] }, 'k1', /not a SPIFFE ID/],
    ['an unknown kid', { sub: 'spiffe://example.org/web', aud: ['billing'] }, 'k2', /k2/],
    [
      'a foreign trust domain',
      { sub: 'spiffe://other.org/web', aud: ['billing'] },
      'k1',
      /no JWT bundle for trust domain other.org/,
    ],
  ])('refuses %s', async (_name, claims, kid, message) => {
    const jwks = await bundle();
    const withExp = { exp: exp(), ...claims };
    await expect(
      validateJwtSvid(await token(withExp, kid), {
        audience: 'billing',
        bundle: (td) => (td === 'example.org' ? jwks : undefined),
      }),
    ).rejects.toMatchObject({ code: 'ERR_JWT_SVID_INVALID', message });
  });

  it('refuses an expired one', async () => {
    const jwks = await bundle();
    const jwt = await token({ sub: 'spiffe://example.org/web', aud: ['billing'], exp: exp() });
    await expect(
      validateJwtSvid(jwt, {
        audience: 'billing',
        bundle: () => jwks,
        now: new Date(Date.now() + 3600_000),
      }),
    ).rejects.toMatchObject({ code: 'ERR_JWT_SVID_INVALID' });
  });
});
