import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  webcrypto,
  X509Certificate,
} from 'node:crypto';
import { SigilError } from '@sigil/errors';
import { x509 } from './internal/x509-runtime';
import type { CertificateAuthority } from './ca';
import {
  createCertificateAuthority,
  createIntermediateCertificateAuthority,
  DEFAULT_BACKDATE_SECONDS,
  loadCertificateAuthority,
} from './ca';
import { generateKeyPair } from './keys';
import { validateX509Svid } from './svid';
import { rsaTestKey } from '../test/support/keys';

const NOW = new Date('2030-01-01T00:00:00Z');
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

function parsed(pem: string) {
  const cert = new x509.X509Certificate(pem);
  return {
    cert,
    basic: cert.getExtension(x509.BasicConstraintsExtension)!,
    usage: cert.getExtension(x509.KeyUsagesExtension)!,
    eku: cert.getExtension(x509.ExtendedKeyUsageExtension),
    san: cert.getExtension(x509.SubjectAlternativeNameExtension)!,
    ski: cert.getExtension(x509.SubjectKeyIdentifierExtension)!,
    aki: cert.getExtension(x509.AuthorityKeyIdentifierExtension)!,
  };
}

async function codeOf(run: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(SigilError);
    return { code: (err as SigilError).code, message: (err as Error).message };
  }
  throw new Error('expected a SigilError');
}

describe('root CA', () => {
  let root: CertificateAuthority;
  beforeAll(async () => {
    root = await createCertificateAuthority({ trustDomain: 'example.org', now: NOW });
  });

  it('is a self-signed ECDSA P-256 CA with pathLen 1 and the trust-domain URI SAN', () => {
    const { cert, basic, usage, san, ski, aki } = parsed(root.certificatePem);
    expect(root.keyType).toBe('ec-p256');
    expect(root.certificate.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(cert.subject).toBe('CN=example.org root CA');
    expect(cert.issuer).toBe(cert.subject);
    expect(root.certificate.verify(root.certificate.publicKey)).toBe(true);
    expect(basic).toMatchObject({ ca: true, pathLength: 1, critical: true });
    expect(usage.critical).toBe(true);
    expect(usage.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    expect(san.names.items).toEqual([
      expect.objectContaining({ type: 'url', value: 'spiffe://example.org' }),
    ]);
    expect(aki.keyId).toBe(ski.keyId);
  });

  it('lives ten years by default, back-dated for clock skew', () => {
    expect(new Date(root.certificate.validFrom).getTime()).toBe(
      NOW.getTime() - DEFAULT_BACKDATE_SECONDS * 1000,
    );
    expect(new Date(root.certificate.validTo).getTime()).toBe(
      NOW.getTime() + 10 * 365 * 86400 * 1000,
    );
  });

  it('is its own trust bundle and has no intermediates', () => {
    expect(root.bundlePem).toBe(root.certificatePem);
    expect(root.intermediatesPem).toBe('');
  });

  it('draws a fresh 128-bit serial for every certificate', async () => {
    const serials = new Set<string>();
    for (let i = 0; i < 50; i += 1) {
      const leaf = await root.issue({ spiffeId: 'spiffe://example.org/a', now: NOW });
      expect(leaf.serialNumber).toMatch(/^(?!00)[0-9a-f]{32}$/);
      expect(new X509Certificate(leaf.certificatePem).serialNumber.toLowerCase()).toBe(
        leaf.serialNumber,
      );
      serials.add(leaf.serialNumber);
    }
    expect(serials.size).toBe(50);
    expect(root.certificate.serialNumber).toMatch(/^(?!00)[0-9A-F]{32}$/);
  });

  it.each([
    ['rsa-2048', 'rsa'],
    ['ed25519', 'ed25519'],
  ] as const)('can use %s keys', async (keyType, nodeType) => {
    const ca = await createCertificateAuthority({ trustDomain: 'example.org', keyType, now: NOW });
    expect(ca.certificate.publicKey.asymmetricKeyType).toBe(nodeType);
    const leaf = await ca.issue({ spiffeId: 'spiffe://example.org/a', now: NOW });
    expect(new X509Certificate(leaf.certificatePem).verify(ca.certificate.publicKey)).toBe(true);
    expect(validateX509Svid(leaf.chainPem, leaf.caPem, { at: NOW }).spiffeId).toBe(
      'spiffe://example.org/a',
    );
  });

  it('takes a common name, lifetime and pathLen', async () => {
    const ca = await createCertificateAuthority({
      trustDomain: 'example.org',
      commonName: 'Ops, Root "A"',
      ttlSeconds: 86400,
      pathLength: 3,
      now: NOW,
    });
    expect(parsed(ca.certificatePem).cert.subjectName.getField('CN')).toEqual(['Ops, Root "A"']);
    expect(parsed(ca.certificatePem).basic.pathLength).toBe(3);
    expect(new Date(ca.certificate.validTo).getTime()).toBe(NOW.getTime() + 86400_000);
  });

  it.each([
    [{ trustDomain: 'Example.org' }, 'ERR_TRUST_DOMAIN_INVALID'],
    [{ trustDomain: 'example.org', ttlSeconds: 0 }, 'ERR_TTL_INVALID'],
    [{ trustDomain: 'example.org', ttlSeconds: Number.NaN }, 'ERR_TTL_INVALID'],
    [{ trustDomain: 'example.org', pathLength: -1 }, 'ERR_CA_INVALID'],
    [{ trustDomain: 'example.org', pathLength: 1.5 }, 'ERR_CA_INVALID'],
    [{ trustDomain: 'example.org', commonName: '' }, 'ERR_SUBJECT_INVALID'],
    [{ trustDomain: 'example.org', keyType: 'ec-p521' as never }, 'ERR_KEY_UNSUPPORTED'],
  ])('refuses %j with %s', async (options, code) => {
    expect((await codeOf(() => createCertificateAuthority(options))).code).toBe(code);
  });
});

describe('intermediate CA', () => {
  let root: CertificateAuthority;
  beforeAll(async () => {
    root = await createCertificateAuthority({ trustDomain: 'example.org', now: NOW });
  });

  it('is signed by the root, pathLen 0, with the trust-domain SAN and matching key identifiers', async () => {
    const mid = await createIntermediateCertificateAuthority(root, { now: NOW });
    const { cert, basic, usage, san, aki } = parsed(mid.certificatePem);
    expect(cert.issuer).toBe('CN=example.org root CA');
    expect(cert.subject).toBe('CN=example.org intermediate CA');
    expect(mid.certificate.verify(root.certificate.publicKey)).toBe(true);
    expect(mid.certificate.checkIssued(root.certificate)).toBe(true);
    expect(basic).toMatchObject({ ca: true, pathLength: 0 });
    expect(usage.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    expect(san.names.items[0]).toMatchObject({ type: 'url', value: 'spiffe://example.org' });
    expect(aki.keyId).toBe(parsed(root.certificatePem).ski.keyId);
    expect(mid.intermediatesPem).toBe(mid.certificatePem);
    expect(mid.bundlePem).toBe(root.bundlePem);
  });

  it('never outlives its parent', async () => {
    const shortRoot = await createCertificateAuthority({
      trustDomain: 'example.org',
      ttlSeconds: 3600,
      now: NOW,
    });
    const mid = await createIntermediateCertificateAuthority(shortRoot, { now: NOW });
    expect(mid.certificate.validTo).toBe(shortRoot.certificate.validTo);
  });

  it('chains leaves through itself and through a second level', async () => {
    const deepRoot = await createCertificateAuthority({
      trustDomain: 'example.org',
      pathLength: 2,
      now: NOW,
    });
    const first = await createIntermediateCertificateAuthority(deepRoot, {
      pathLength: 1,
      now: NOW,
    });
    const second = await createIntermediateCertificateAuthority(first, { now: NOW });
    const leaf = await second.issue({ spiffeId: 'spiffe://example.org/deep', now: NOW });
    expect(leaf.chainPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
    expect(leaf.caPem).toBe(deepRoot.certificatePem);
    expect(validateX509Svid(leaf.chainPem, leaf.caPem, { at: NOW }).path).toHaveLength(4);
  });

  it('refuses what path lengths forbid, another trust domain, or an expired parent', async () => {
    const mid = await createIntermediateCertificateAuthority(root, { now: NOW });
    expect(
      await codeOf(() => createIntermediateCertificateAuthority(mid, { now: NOW })),
    ).toMatchObject({ code: 'ERR_CA_INVALID', message: expect.stringContaining('pathLen 0') });
    expect(
      (
        await codeOf(() =>
          createIntermediateCertificateAuthority(root, { pathLength: 1, now: NOW }),
        )
      ).code,
    ).toBe('ERR_CA_INVALID');
    expect(
      (
        await codeOf(() =>
          createIntermediateCertificateAuthority(root, { trustDomain: 'other.org', now: NOW }),
        )
      ).code,
    ).toBe('ERR_TRUST_DOMAIN_INVALID');
    expect(
      (
        await codeOf(() =>
          createIntermediateCertificateAuthority(root, { now: new Date('2045-01-01T00:00:00Z') }),
        )
      ).code,
    ).toBe('ERR_CA_EXPIRED');
  });
});

describe('leaf issuance', () => {
  let ca: CertificateAuthority;
  beforeAll(async () => {
    const root = await createCertificateAuthority({ trustDomain: 'example.org', now: NOW });
    ca = await createIntermediateCertificateAuthority(root, { now: NOW });
  });

  it.each([
    ['svid', [SERVER_AUTH, CLIENT_AUTH]],
    ['server', [SERVER_AUTH]],
    ['client', [CLIENT_AUTH]],
  ] as const)(
    'gives the %s profile its extended key usages, digitalSignature only, not a CA',
    async (profile, eku) => {
      const leaf = await ca.issue({
        spiffeId: 'spiffe://example.org/w',
        dnsNames: ['w.example.org'],
        profile,
        now: NOW,
      });
      const { basic, usage, eku: ext } = parsed(leaf.certificatePem);
      expect(basic).toMatchObject({ ca: false, critical: true });
      expect(usage).toMatchObject({ usages: x509.KeyUsageFlags.digitalSignature, critical: true });
      expect(ext?.usages).toEqual(eku);
    },
  );

  it('defaults to the svid profile with a SPIFFE ID and to server without', async () => {
    expect(
      parsed((await ca.issue({ spiffeId: 'spiffe://example.org/w', now: NOW })).certificatePem).eku
        ?.usages,
    ).toEqual([SERVER_AUTH, CLIENT_AUTH]);
    expect(
      parsed((await ca.issue({ dnsNames: ['w.local'], now: NOW })).certificatePem).eku?.usages,
    ).toEqual([SERVER_AUTH]);
  });

  it('writes the SPIFFE ID, DNS and IP SANs in order', async () => {
    const leaf = await ca.issue({
      spiffeId: 'spiffe://example.org/ns/prod/sa/api',
      dnsNames: ['api.prod.svc', '*.api.example.org', 'LOCALHOST'],
      ipAddresses: [
        '10.1.2.3',
        '::1',
        '2001:db8::8:800:200c:417a',
        '::ffff:192.0.2.128',
        'fe80::1',
      ],
      now: NOW,
    });
    expect(leaf.spiffeId).toBe('spiffe://example.org/ns/prod/sa/api');
    expect(new X509Certificate(leaf.certificatePem).subjectAltName).toBe(
      'URI:spiffe://example.org/ns/prod/sa/api, DNS:api.prod.svc, DNS:*.api.example.org, DNS:localhost, ' +
        'IP Address:10.1.2.3, IP Address:0:0:0:0:0:0:0:1, IP Address:2001:DB8:0:0:8:800:200C:417A, IP Address:0:0:0:0:0:FFFF:C000:280, IP Address:FE80:0:0:0:0:0:0:1',
    );
  });

  it('leaves the subject empty and marks the SAN critical for a bare SVID (RFC 5280 4.2.1.6)', async () => {
    const { cert, san } = parsed(
      (await ca.issue({ spiffeId: 'spiffe://example.org/w', now: NOW })).certificatePem,
    );
    expect(cert.subject).toBe('');
    expect(san.critical).toBe(true);
  });

  it('uses the first DNS name or the given common name as subject CN, with a non-critical SAN', async () => {
    const byDns = parsed(
      (await ca.issue({ dnsNames: ['a.local', 'b.local'], now: NOW })).certificatePem,
    );
    expect(byDns.cert.subject).toBe('CN=a.local');
    expect(byDns.san.critical).toBe(false);
    expect(
      parsed(
        (
          await ca.issue({
            spiffeId: 'spiffe://example.org/w',
            commonName: 'wörker, "1"',
            now: NOW,
          })
        ).certificatePem,
      ).cert.subjectName.getField('CN'),
    ).toEqual(['wörker, "1"']);
  });

  it('links SKI to the subject key and AKI to the CA', async () => {
    const leaf = await ca.issue({ spiffeId: 'spiffe://example.org/w', now: NOW });
    const { cert, ski, aki } = parsed(leaf.certificatePem);
    expect(ski.keyId).toBe(Buffer.from(await cert.publicKey.getKeyIdentifier()).toString('hex'));
    expect(aki.keyId).toBe(parsed(ca.certificatePem).ski.keyId);
  });

  it.each([
    ['five minutes', 300],
    ['a day', 86400],
    ['a year', 365 * 86400],
  ])('issues lifetimes of %s, back-dated by five minutes', async (_label, ttlSeconds) => {
    const leaf = await ca.issue({ spiffeId: 'spiffe://example.org/w', ttlSeconds, now: NOW });
    const cert = new X509Certificate(leaf.certificatePem);
    expect(new Date(cert.validFrom)).toEqual(new Date(NOW.getTime() - 300_000));
    expect(new Date(cert.validTo)).toEqual(new Date(NOW.getTime() + ttlSeconds * 1000));
    expect(leaf.notBefore).toEqual(new Date(cert.validFrom));
    expect(leaf.notAfter).toEqual(new Date(cert.validTo));
  });

  it('takes a custom back-dating, and truncates to whole seconds as the certificate does', async () => {
    const now = new Date('2030-01-01T00:00:00.750Z');
    const leaf = await ca.issue({
      spiffeId: 'spiffe://example.org/w',
      ttlSeconds: 600,
      backdateSeconds: 0,
      now,
    });
    expect(leaf.notBefore.toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(leaf.notAfter.toISOString()).toBe('2030-01-01T00:10:00.000Z');
  });

  it('caps the lifetime at the CA expiry', async () => {
    const leaf = await ca.issue({
      spiffeId: 'spiffe://example.org/w',
      ttlSeconds: 50 * 365 * 86400,
      now: NOW,
    });
    expect(leaf.notAfter).toEqual(new Date(ca.certificate.validTo));
  });

  it('encodes validity past 2049 as GeneralizedTime that parsers read back', async () => {
    const longRoot = await createCertificateAuthority({
      trustDomain: 'example.org',
      ttlSeconds: 40 * 365 * 86400,
      now: NOW,
    });
    const leaf = await longRoot.issue({
      spiffeId: 'spiffe://example.org/w',
      ttlSeconds: 30 * 365 * 86400,
      now: NOW,
    });
    expect(leaf.notAfter.getUTCFullYear()).toBe(2059);
    expect(new Date(new X509Certificate(leaf.certificatePem).validTo)).toEqual(leaf.notAfter);
    expect(parsed(leaf.certificatePem).cert.notAfter).toEqual(leaf.notAfter);
  });

  it('returns a generated PKCS#8 key that matches, or certifies a given public key', async () => {
    const generated = await ca.issue({ spiffeId: 'spiffe://example.org/w', now: NOW });
    expect(generated.privateKeyPem).toContain('BEGIN PRIVATE KEY');
    expect(
      new X509Certificate(generated.certificatePem).checkPrivateKey(
        createPrivateKey(generated.privateKeyPem!),
      ),
    ).toBe(true);
    const own = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const given = await ca.issue({
      spiffeId: 'spiffe://example.org/w',
      publicKey: own.publicKey,
      now: NOW,
    });
    expect(given.privateKeyPem).toBeUndefined();
    expect(new X509Certificate(given.certificatePem).publicKey.equals(own.publicKey)).toBe(true);
    const fromPem = await ca.issue({
      spiffeId: 'spiffe://example.org/w',
      publicKey: own.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      now: NOW,
    });
    expect(new X509Certificate(fromPem.certificatePem).publicKey.equals(own.publicKey)).toBe(true);
    const fromPrivate = await ca.issue({
      spiffeId: 'spiffe://example.org/w',
      publicKey: own.privateKey,
      now: NOW,
    });
    expect(new X509Certificate(fromPrivate.certificatePem).publicKey.equals(own.publicKey)).toBe(
      true,
    );
  });

  it.each(['rsa-2048', 'ed25519'] as const)(
    'certifies %s subject keys (RSA also gets keyEncipherment)',
    async (keyType) => {
      const key = keyType === 'rsa-2048' ? rsaTestKey() : await generateKeyPair(keyType);
      const leaf = await ca.issue({
        spiffeId: 'spiffe://example.org/w',
        publicKey: key.publicKey,
        now: NOW,
      });
      const cert = new X509Certificate(leaf.certificatePem);
      expect(cert.publicKey.equals(key.publicKey)).toBe(true);
      expect(cert.publicKey.export({ type: 'spki', format: 'der' })).toEqual(
        key.publicKey.export({ type: 'spki', format: 'der' }),
      );
      const expected =
        x509.KeyUsageFlags.digitalSignature |
        (keyType === 'rsa-2048' ? x509.KeyUsageFlags.keyEncipherment : 0);
      expect(parsed(leaf.certificatePem).usage.usages).toBe(expected);
      expect(validateX509Svid(leaf.chainPem, leaf.caPem, { at: NOW }).spiffeId).toBe(
        'spiffe://example.org/w',
      );
    },
  );

  it.each([
    [
      { spiffeId: 'spiffe://other.org/w' },
      'ERR_SPIFFE_ID_INVALID',
      "outside this CA's trust domain example.org",
    ],
    [{ spiffeId: 'spiffe://example.org' }, 'ERR_SPIFFE_ID_INVALID', 'has no path'],
    [{ spiffeId: 'spiffe://example.org/a/' }, 'ERR_SPIFFE_ID_INVALID', 'must not end with a slash'],
    [{}, 'ERR_SAN_INVALID', 'at least one identity'],
    [{ dnsNames: [] }, 'ERR_SAN_INVALID', 'at least one identity'],
    [{ dnsNames: ['bad name'] }, 'ERR_SAN_INVALID', '"bad name" is not a DNS name'],
    [{ dnsNames: ['-lead.example'] }, 'ERR_SAN_INVALID', 'is not a DNS name'],
    [{ dnsNames: ['a..b'] }, 'ERR_SAN_INVALID', 'is not a DNS name'],
    [{ dnsNames: ['é.example'] }, 'ERR_SAN_INVALID', 'is not a DNS name'],
    [{ dnsNames: ['a.*.example'] }, 'ERR_SAN_INVALID', 'is not a DNS name'],
    [{ ipAddresses: ['300.1.1.1'] }, 'ERR_SAN_INVALID', '"300.1.1.1" is not an IP address'],
    [{ ipAddresses: ['localhost'] }, 'ERR_SAN_INVALID', 'is not an IP address'],
    [
      { dnsNames: ['a.local'], profile: 'peer' },
      'ERR_PROFILE_INVALID',
      'unknown certificate profile "peer"',
    ],
    [{ dnsNames: ['a.local'], ttlSeconds: 0 }, 'ERR_TTL_INVALID', 'at least 1 second'],
    [{ dnsNames: ['a.local'], ttlSeconds: -5 }, 'ERR_TTL_INVALID', 'at least 1 second'],
    [{ dnsNames: ['a.local'], ttlSeconds: Infinity }, 'ERR_TTL_INVALID', 'at least 1 second'],
    [{ dnsNames: ['a.local'], backdateSeconds: -1 }, 'ERR_TTL_INVALID', 'backdateSeconds'],
    [
      { dnsNames: ['a.local'], commonName: 'x'.repeat(65) },
      'ERR_SUBJECT_INVALID',
      '1 to 64 characters',
    ],
    [{ dnsNames: ['a.local'], keyType: 'dsa' }, 'ERR_KEY_UNSUPPORTED', 'unsupported key type'],
    [{ dnsNames: ['a.local'], publicKey: 'not a key' }, 'ERR_PEM_MALFORMED', 'publicKey'],
    [
      { dnsNames: ['a.local'], now: new Date('2020-01-01T00:00:00Z') },
      'ERR_CA_EXPIRED',
      'is not valid at 2020-01-01T00:00:00.000Z',
    ],
    [
      { dnsNames: ['a.local'], now: new Date('2045-01-01T00:00:00Z') },
      'ERR_CA_EXPIRED',
      'intermediate CA',
    ],
  ])('refuses %j with %s', async (options, code, message) => {
    const err = await codeOf(() => ca.issue({ now: NOW, ...(options as object) }));
    expect(err.code).toBe(code);
    expect(err.message).toContain(message);
  });

  it('refuses weak or unsupported public keys', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    expect(
      await codeOf(() => ca.issue({ dnsNames: ['a.local'], publicKey: weak, now: NOW })),
    ).toMatchObject({ code: 'ERR_KEY_UNSUPPORTED', message: expect.stringContaining('RSA-1024') });
    const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey;
    expect(
      await codeOf(() => ca.issue({ dnsNames: ['a.local'], publicKey: p521, now: NOW })),
    ).toMatchObject({ code: 'ERR_KEY_UNSUPPORTED', message: expect.stringContaining('secp521r1') });
    const x25519 = createPublicKey(
      generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'pem' }),
    );
    expect(
      (await codeOf(() => ca.issue({ dnsNames: ['a.local'], publicKey: x25519, now: NOW }))).code,
    ).toBe('ERR_KEY_UNSUPPORTED');
  });
});

describe('loadCertificateAuthority', () => {
  let root: CertificateAuthority;
  let mid: CertificateAuthority;
  beforeAll(async () => {
    root = await createCertificateAuthority({ trustDomain: 'example.org', now: NOW });
    mid = await createIntermediateCertificateAuthority(root, { now: NOW });
  });

  it('reloads a root and issues leaves that chain to it', async () => {
    const loaded = loadCertificateAuthority({
      certificatePem: root.certificatePem,
      privateKeyPem: root.privateKeyPem,
    });
    expect(loaded.trustDomain).toBe('example.org');
    expect(loaded.bundlePem).toBe(root.bundlePem);
    const leaf = await loaded.issue({ spiffeId: 'spiffe://example.org/w', now: NOW });
    expect(validateX509Svid(leaf.chainPem, root.bundlePem, { at: NOW }).spiffeId).toBe(
      'spiffe://example.org/w',
    );
  });

  it('reloads an intermediate with its root appended, or with a separate bundle', async () => {
    const appended = loadCertificateAuthority({
      certificatePem: mid.certificatePem + root.certificatePem,
      privateKeyPem: mid.privateKeyPem,
    });
    expect(appended.bundlePem).toBe(root.certificatePem);
    expect(appended.intermediatesPem).toBe(mid.certificatePem);
    const separate = loadCertificateAuthority({
      certificatePem: mid.certificatePem,
      privateKeyPem: mid.privateKeyPem,
      bundlePem: root.bundlePem,
    });
    const both = loadCertificateAuthority({
      certificatePem: mid.certificatePem + root.certificatePem,
      privateKeyPem: mid.privateKeyPem,
      bundlePem: root.bundlePem,
    });
    expect(both.intermediatesPem).toBe(mid.certificatePem);
    const leaf = await separate.issue({ spiffeId: 'spiffe://example.org/w', now: NOW });
    expect(validateX509Svid(leaf.chainPem, leaf.caPem, { at: NOW }).path).toHaveLength(3);
  });

  it('hands out every root of a rotation bundle as caPem', async () => {
    const next = await createCertificateAuthority({ trustDomain: 'example.org', now: NOW });
    const rotating = loadCertificateAuthority({
      certificatePem: next.certificatePem,
      privateKeyPem: next.privateKeyPem,
      bundlePem: root.bundlePem + next.bundlePem,
    });
    const leaf = await rotating.issue({ spiffeId: 'spiffe://example.org/w', now: NOW });
    expect(leaf.caPem).toBe(root.certificatePem + next.certificatePem);
    expect(leaf.chainPem).toBe(leaf.certificatePem);
    expect(
      validateX509Svid(leaf.chainPem, leaf.caPem, { at: NOW }).path[1]!.raw.equals(
        next.certificate.raw,
      ),
    ).toBe(true);
  });

  it('names the files when the key does not match, the certificate is not a CA or lacks the SPIFFE SAN', async () => {
    const sources = { certificateSource: 'ca/ca.crt', keySource: 'ca/ca.key' };
    const mismatch = await codeOf(() =>
      loadCertificateAuthority({
        certificatePem: root.certificatePem,
        privateKeyPem: mid.privateKeyPem,
        ...sources,
      }),
    );
    expect(mismatch).toEqual({
      code: 'ERR_KEY_MISMATCH',
      message: expect.stringMatching(/ca\/ca\.key .*ca\/ca\.crt/),
    });
    const leaf = await root.issue({ spiffeId: 'spiffe://example.org/w', now: NOW });
    const notCa = await codeOf(() =>
      loadCertificateAuthority({
        certificatePem: leaf.certificatePem,
        privateKeyPem: leaf.privateKeyPem!,
        ...sources,
      }),
    );
    expect(notCa).toEqual({
      code: 'ERR_CA_INVALID',
      message: expect.stringContaining('ca/ca.crt: the certificate is not a CA'),
    });
    const needsRoot = await codeOf(() =>
      loadCertificateAuthority({
        certificatePem: mid.certificatePem,
        privateKeyPem: mid.privateKeyPem,
        ...sources,
      }),
    );
    expect(needsRoot).toEqual({
      code: 'ERR_CA_INVALID',
      message: expect.stringContaining('needs its root'),
    });
    expect(
      (
        await codeOf(() =>
          loadCertificateAuthority({
            certificatePem: 'garbage',
            privateKeyPem: root.privateKeyPem,
            ...sources,
          }),
        )
      ).code,
    ).toBe('ERR_PEM_MALFORMED');
  });

  it('refuses a CA without a SPIFFE trust-domain ID', async () => {
    const key = await generateKeyPair('ec-p256');
    const keys = {
      privateKey: await webcrypto.subtle.importKey(
        'pkcs8',
        key.privateKey.export({ type: 'pkcs8', format: 'der' }),
        { name: 'ECDSA', namedCurve: 'P-256' },
        false,
        ['sign'],
      ),
      publicKey: await webcrypto.subtle.importKey(
        'spki',
        key.publicKey.export({ type: 'spki', format: 'der' }),
        { name: 'ECDSA', namedCurve: 'P-256' },
        true,
        ['verify'],
      ),
    };
    const build = async (names: { type: 'url'; value: string }[]) =>
      (
        await x509.X509CertificateGenerator.createSelfSigned({
          name: 'CN=plain CA',
          keys,
          signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
          extensions: [
            new x509.BasicConstraintsExtension(true, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
            ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
          ],
        })
      ).toString('pem');
    const noSan = await build([]);
    const withPath = await build([{ type: 'url', value: 'spiffe://example.org/ca' }]);
    expect(
      await codeOf(() =>
        loadCertificateAuthority({ certificatePem: noSan, privateKeyPem: key.privateKeyPem }),
      ),
    ).toMatchObject({
      code: 'ERR_CA_INVALID',
      message: expect.stringContaining('no spiffe://<trust-domain> URI SAN'),
    });
    expect(
      await codeOf(() =>
        loadCertificateAuthority({ certificatePem: withPath, privateKeyPem: key.privateKeyPem }),
      ),
    ).toMatchObject({
      code: 'ERR_CA_INVALID',
      message: expect.stringContaining('has a path'),
    });
    const loaded = loadCertificateAuthority({
      certificatePem: await build([{ type: 'url', value: 'spiffe://plain.example' }]),
      privateKeyPem: key.privateKeyPem,
    });
    expect(loaded.trustDomain).toBe('plain.example');
  });
});
