import { X509Certificate } from 'node:crypto';
import { SigilError } from '@sigil/errors';
import { x509 } from './internal/x509-runtime';
import type { X509SvidVector } from '../test/support/conformance';
import { readConformance } from '../test/support/conformance';
import type { Forged } from '../test/support/forge';
import { forge, forgeKey } from '../test/support/forge';
import { createCertificateAuthority, createIntermediateCertificateAuthority } from './ca';
import * as pem from './pem';
import {
  createTrustBundleSet,
  spiffeIdOfCertificate,
  subjectAltNamesOf,
  validateX509Svid,
  workloadIdOfCertificate,
  X509_SVID_RULES as RULES,
} from './svid';

const vectors = readConformance<{ cases: X509SvidVector[] }>('x509-svid.json').cases;
const AT = new Date('2030-06-01T00:00:00Z');

function rejection(run: () => unknown): SigilError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(SigilError);
    expect((err as SigilError).code).toBe('ERR_SVID_INVALID');
    return err as SigilError;
  }
  throw new Error('expected the SVID to be rejected');
}

describe('X509-SVID conformance vectors (../shared/conformance/x509-svid.json)', () => {
  it('has vectors to run', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(20);
  });

  it.each(vectors.map((v) => [`${v.expect}s ${v.name} (${v.rule})`, v] as const))(
    '%s',
    (_name, vector) => {
      const run = () =>
        validateX509Svid(vector.chain.join(''), vector.bundle.join(''), {
          trustDomain: vector.trustDomain,
          at: new Date(vector.at),
        });
      if (vector.expect === 'accept') {
        const result = run();
        expect(result.spiffeId).toBe(vector.spiffeId);
        expect(result.trustDomain).toBe(vector.trustDomain);
        expect(result.path).toHaveLength(vector.chain.length + 1);
      } else {
        const rule = String(rejection(run).details.rule);
        // X509-SVID rules match the vector's text exactly; SPIFFE-ID parsing rules match its section.
        if (vector.rule.startsWith('X509-SVID')) expect(rule).toBe(vector.rule);
        else expect(rule.startsWith(vector.rule.slice(0, vector.rule.indexOf(':') + 1))).toBe(true);
      }
    },
  );

  it('also accepts the vectors given as certificate arrays and a TrustBundleSet', () => {
    const vector = vectors.find((v) => v.name === 'valid-leaf-via-intermediate')!;
    const chain = vector.chain.map((pem) => new X509Certificate(pem));
    const bundles = createTrustBundleSet({
      [vector.trustDomain]: vector.bundle.map((pem) => new X509Certificate(pem)),
    });
    expect(validateX509Svid(chain, bundles, { at: AT }).spiffeId).toBe(vector.spiffeId);
  });
});

describe('validateX509Svid with Sigil-issued certificates', () => {
  const now = new Date('2030-01-01T00:00:00Z');

  it('accepts a leaf issued by a root, reports its ID, validity and path', async () => {
    const root = await createCertificateAuthority({ trustDomain: 'example.org', now });
    const leaf = await root.issue({
      spiffeId: 'spiffe://example.org/svc/api',
      ttlSeconds: 3600,
      now,
    });
    const result = validateX509Svid(leaf.chainPem, leaf.caPem, { at: now });
    expect(result).toMatchObject({
      spiffeId: 'spiffe://example.org/svc/api',
      trustDomain: 'example.org',
    });
    expect(result.notBefore).toEqual(leaf.notBefore);
    expect(result.notAfter).toEqual(leaf.notAfter);
    expect(result.path.map((c) => c.subject ?? '')).toEqual(['', 'CN=example.org root CA']);
    expect(result.leaf.raw.equals(new X509Certificate(leaf.certificatePem).raw)).toBe(true);
  });

  it('parses a bundle PEM once for every validation against it, and a changed bundle afresh', async () => {
    const root = await createCertificateAuthority({ trustDomain: 'example.org', now });
    const other = await createCertificateAuthority({ trustDomain: 'example.org', now });
    const leaf = await root.issue({ spiffeId: 'spiffe://example.org/svc/api', now });
    const parse = jest.spyOn(pem, 'parseCertificatesPem');
    try {
      // A bundle text no earlier test used, so nothing is cached for it yet.
      const bundle = `${root.certificatePem}\n`;
      for (let i = 0; i < 3; i += 1) validateX509Svid(leaf.certificatePem, bundle, { at: now });
      expect(parse.mock.calls.filter(([input]) => input === bundle)).toHaveLength(1);
      const rotated = `${bundle}${other.certificatePem}`;
      validateX509Svid(leaf.certificatePem, rotated, { at: now });
      expect(parse.mock.calls.filter(([input]) => input === rotated)).toHaveLength(1);
      // A bundle without the signer is refused every time, cache or not.
      for (let i = 0; i < 2; i += 1)
        expect(
          rejection(() => validateX509Svid(leaf.certificatePem, other.certificatePem, { at: now }))
            .code,
        ).toBe('ERR_SVID_INVALID');
    } finally {
      parse.mockRestore();
    }
  });

  it('walks two intermediates and honours the root pathLen', async () => {
    const root = await createCertificateAuthority({
      trustDomain: 'example.org',
      now,
      pathLength: 2,
    });
    const policy = await createIntermediateCertificateAuthority(root, {
      now,
      pathLength: 1,
      commonName: 'policy CA',
    });
    const issuing = await createIntermediateCertificateAuthority(policy, {
      now,
      commonName: 'issuing CA',
    });
    const leaf = await issuing.issue({ spiffeId: 'spiffe://example.org/svc/deep', now });
    expect(
      validateX509Svid(leaf.chainPem, leaf.caPem, { at: now }).path.map((c) => c.subject ?? ''),
    ).toEqual(['', 'CN=issuing CA', 'CN=policy CA', 'CN=example.org root CA']);
  });

  it('takes intermediates from options when the chain holds the leaf only', async () => {
    const root = await createCertificateAuthority({ trustDomain: 'example.org', now });
    const issuing = await createIntermediateCertificateAuthority(root, { now });
    const leaf = await issuing.issue({ spiffeId: 'spiffe://example.org/svc/api', now });
    expect(() => validateX509Svid(leaf.certificatePem, leaf.caPem, { at: now })).toThrow(
      /neither in the trust bundle/,
    );
    expect(
      validateX509Svid(leaf.certificatePem, leaf.caPem, {
        at: now,
        intermediates: issuing.intermediatesPem,
      }).spiffeId,
    ).toBe('spiffe://example.org/svc/api');
  });

  it('accepts leaves of the old and the new root while a bundle holds both (rotation)', async () => {
    const oldRoot = await createCertificateAuthority({
      trustDomain: 'example.org',
      now,
      commonName: 'example.org root CA',
    });
    const newRoot = await createCertificateAuthority({
      trustDomain: 'example.org',
      now,
      commonName: 'example.org root CA',
    });
    const fromOld = await oldRoot.issue({ spiffeId: 'spiffe://example.org/a', now });
    const fromNew = await newRoot.issue({ spiffeId: 'spiffe://example.org/b', now });
    const both = oldRoot.bundlePem + newRoot.bundlePem;
    expect(validateX509Svid(fromOld.chainPem, both, { at: now }).spiffeId).toBe(
      'spiffe://example.org/a',
    );
    expect(validateX509Svid(fromNew.chainPem, both, { at: now }).spiffeId).toBe(
      'spiffe://example.org/b',
    );
    // After the old root leaves the bundle, its leaves fail: same issuer name, wrong key.
    expect(
      rejection(() => validateX509Svid(fromOld.chainPem, newRoot.bundlePem, { at: now })).details
        .rule,
    ).toBe(RULES.signature);
  });

  it('chooses the bundle by the leaf trust domain from a TrustBundleSet', async () => {
    const example = await createCertificateAuthority({ trustDomain: 'example.org', now });
    const partner = await createCertificateAuthority({ trustDomain: 'partner.io', now });
    const bundles = createTrustBundleSet([
      ['example.org', example.bundlePem],
      ['partner.io', partner.bundlePem],
    ]);
    const a = await example.issue({ spiffeId: 'spiffe://example.org/a', now });
    const b = await partner.issue({ spiffeId: 'spiffe://partner.io/b', now });
    expect(validateX509Svid(a.chainPem, bundles, { at: now }).trustDomain).toBe('example.org');
    expect(validateX509Svid(b.chainPem, bundles, { at: now }).trustDomain).toBe('partner.io');
    expect(
      rejection(() =>
        validateX509Svid(b.chainPem, bundles, { at: now, trustDomain: 'example.org' }),
      ).details.rule,
    ).toBe(RULES.bundle);
    const onlyExample = createTrustBundleSet({ 'example.org': example.bundlePem });
    const err = rejection(() => validateX509Svid(b.chainPem, onlyExample, { at: now }));
    expect(err.details.rule).toBe(RULES.bundle);
    expect(err.message).toContain('no trust bundle for trust domain partner.io');
  });

  it('does not let a partner root vouch for another trust domain', async () => {
    const partner = await createCertificateAuthority({ trustDomain: 'partner.io', now });
    // A (mis)configured partner CA signing an example.org ID: forged, since Sigil's CA refuses.
    const rogueRoot: Forged = await forge({
      subject: 'CN=partner root',
      ca: true,
      uris: ['spiffe://partner.io'],
    });
    const rogueLeaf = await forge({
      subject: 'CN=w',
      issuer: rogueRoot,
      uris: ['spiffe://example.org/admin'],
    });
    const bundles = createTrustBundleSet({
      'partner.io': [rogueRoot.certificate, partner.certificate],
    });
    const err = rejection(() => validateX509Svid([rogueLeaf.certificate], bundles, { at: now }));
    expect(err.details.rule).toBe(RULES.bundle);
  });

  it('rejects a leaf whose validity window excludes `at`, naming the dates', async () => {
    const root = await createCertificateAuthority({ trustDomain: 'example.org', now });
    const leaf = await root.issue({ spiffeId: 'spiffe://example.org/a', ttlSeconds: 600, now });
    const late = rejection(() =>
      validateX509Svid(leaf.chainPem, leaf.caPem, { at: new Date(now.getTime() + 601_000) }),
    );
    expect(late.details.rule).toBe(RULES.validity);
    expect(late.message).toContain('the leaf expired at 2030-01-01T00:10:00.000Z');
    const early = rejection(() =>
      validateX509Svid(leaf.chainPem, leaf.caPem, { at: new Date(now.getTime() - 301_000) }),
    );
    expect(early.message).toContain('is not valid before');
    // Inside the back-dating window (5 minutes) it is valid.
    expect(
      validateX509Svid(leaf.chainPem, leaf.caPem, { at: new Date(now.getTime() - 299_000) })
        .spiffeId,
    ).toBe('spiffe://example.org/a');
  });

  it('tolerates `clockSkewToleranceMs` of clock skew on the leaf, and nothing by default', async () => {
    const root = await createCertificateAuthority({ trustDomain: 'example.org', now });
    const issuedAt = new Date(now.getTime() + 3_600_000);
    const leaf = await root.issue({
      spiffeId: 'spiffe://example.org/a',
      ttlSeconds: 600,
      now: issuedAt,
      backdateSeconds: 0,
    });
    const behind = new Date(issuedAt.getTime() - 120_000);
    expect(
      rejection(() => validateX509Svid(leaf.chainPem, leaf.caPem, { at: behind })).message,
    ).toContain('is not valid before');
    const tolerant = { at: behind, clockSkewToleranceMs: 180_000 };
    expect(validateX509Svid(leaf.chainPem, leaf.caPem, tolerant).spiffeId).toBe(
      'spiffe://example.org/a',
    );
    const ahead = new Date(issuedAt.getTime() + 600_000 + 120_000);
    expect(
      validateX509Svid(leaf.chainPem, leaf.caPem, { at: ahead, clockSkewToleranceMs: 180_000 })
        .spiffeId,
    ).toBe('spiffe://example.org/a');
    expect(
      rejection(() =>
        validateX509Svid(leaf.chainPem, leaf.caPem, { at: behind, clockSkewToleranceMs: 60_000 }),
      ).details.rule,
    ).toBe(RULES.validity);
  });

  it('rejects an expired intermediate and an expired root', async () => {
    const root = await forge({
      subject: 'CN=root',
      ca: true,
      notAfter: new Date('2031-01-01T00:00:00Z'),
    });
    const mid = await forge({
      subject: 'CN=mid',
      issuer: root,
      ca: true,
      notAfter: new Date('2030-03-01T00:00:00Z'),
    });
    const leaf = await forge({ subject: 'CN=w', issuer: mid, uris: ['spiffe://example.org/w'] });
    const at = new Date('2030-06-01T00:00:00Z');
    const err = rejection(() =>
      validateX509Svid([leaf.certificate, mid.certificate], [root.certificate], { at }),
    );
    expect(err.details.rule).toBe(RULES.validity);
    expect(err.message).toContain('intermediate "CN=mid" expired');
    const direct = await forge({ subject: 'CN=w', issuer: root, uris: ['spiffe://example.org/w'] });
    const late = new Date('2032-01-01T00:00:00Z');
    expect(
      rejection(() => validateX509Svid([direct.certificate], [root.certificate], { at: late }))
        .message,
    ).toContain('root "CN=root" expired');
  });

  it('uses the valid root when an expired root with the same name is still in the bundle', async () => {
    const key = await forgeKey();
    const expired = await forge({
      subject: 'CN=root',
      key,
      ca: true,
      notAfter: new Date('2029-01-01T00:00:00Z'),
    });
    const renewed = await forge({
      subject: 'CN=root',
      key,
      ca: true,
      notAfter: new Date('2040-01-01T00:00:00Z'),
    });
    const leaf = await forge({
      subject: 'CN=w',
      issuer: renewed,
      uris: ['spiffe://example.org/w'],
    });
    expect(
      validateX509Svid([leaf.certificate], [expired.certificate, renewed.certificate], {
        at: AT,
      }).path[1]!.raw.equals(renewed.certificate.raw),
    ).toBe(true);
  });

  describe('leaf rules', () => {
    let root: Forged;
    beforeAll(async () => {
      root = await forge({ subject: 'CN=root', ca: true, uris: ['spiffe://example.org'] });
    });
    const check = async (options: Partial<Parameters<typeof forge>[0]>) => {
      const leaf = await forge({
        subject: 'CN=w',
        issuer: root,
        uris: ['spiffe://example.org/w'],
        ...options,
      });
      return Object.assign(
        () => validateX509Svid([leaf.certificate], [root.certificate], { at: AT }),
        { leaf: leaf.certificate },
      );
    };

    it('accepts the well-formed baseline', async () => {
      const run = await check({});
      expect(run().spiffeId).toBe('spiffe://example.org/w');
      expect(workloadIdOfCertificate(run.leaf)).toBe('spiffe://example.org/w');
    });

    it.each([
      ['no URI SAN', { uris: [], dnsNames: ['w.example.org'] }, RULES.uriSan],
      [
        'two URI SANs',
        { uris: ['spiffe://example.org/a', 'spiffe://example.org/b'] },
        RULES.uriSan,
      ],
      [
        'a spiffe and an https URI SAN',
        { uris: ['spiffe://example.org/a', 'https://example.org/'] },
        RULES.uriSan,
      ],
      ['the trust-domain ID as leaf ID', { uris: ['spiffe://example.org'] }, RULES.leafPath],
      ['cA=true', { ca: true, keyUsage: x509.KeyUsageFlags.digitalSignature }, RULES.leafCa],
      ['no key usage', { keyUsage: null }, RULES.keyUsageCritical],
      ['a non-critical key usage', { keyUsageCritical: false }, RULES.keyUsageCritical],
      [
        'keyCertSign',
        { keyUsage: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign },
        RULES.leafKeyCertSign,
      ],
      [
        'cRLSign',
        { keyUsage: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.cRLSign },
        RULES.leafCrlSign,
      ],
      [
        'keyEncipherment without digitalSignature',
        { keyUsage: x509.KeyUsageFlags.keyEncipherment },
        RULES.leafDigitalSignature,
      ],
      [
        'EKU serverAuth only',
        { extendedKeyUsage: [x509.ExtendedKeyUsage.serverAuth] },
        RULES.leafExtendedKeyUsage,
      ],
      [
        'EKU clientAuth only',
        { extendedKeyUsage: [x509.ExtendedKeyUsage.clientAuth] },
        RULES.leafExtendedKeyUsage,
      ],
      [
        'an unrecognised critical extension',
        { extensions: [new x509.Extension('1.2.3.4.5', true, new Uint8Array([5, 0]))] },
        RULES.criticalExtension,
      ],
    ])(
      'rejects a leaf with %s (workloadIdOfCertificate too, unless TLS checks it itself)',
      async (what, options, rule) => {
        const run = await check(options as Partial<Parameters<typeof forge>[0]>);
        expect(rejection(run).details.rule).toBe(rule);
        const leftToTls =
          rule === RULES.leafExtendedKeyUsage ||
          rule === RULES.criticalExtension ||
          what === 'a non-critical key usage';
        if (leftToTls) {
          expect(workloadIdOfCertificate(run.leaf)).toBe('spiffe://example.org/w');
        } else {
          const refused = rejection(() => workloadIdOfCertificate(run.leaf));
          expect(refused.details.rule).toBe(rule);
          expect(refused.message).toContain(run.leaf.serialNumber);
        }
      },
    );

    it('names the subject and serial of a certificate without exactly one URI SAN', async () => {
      const run = await check({ uris: [], dnsNames: ['w.example.org'] });
      expect(rejection(() => workloadIdOfCertificate(run.leaf)).message).toContain(
        `the leaf (subject "CN=w", serial ${run.leaf.serialNumber}) has 0 URI SANs; an X509-SVID has exactly one`,
      );
      expect(spiffeIdOfCertificate(run.leaf)).toBeUndefined();
    });

    it('leaves the CA rules to workloadIdOfCertificate and the lenient reading to spiffeIdOfCertificate', async () => {
      expect(spiffeIdOfCertificate(root.certificate)).toBe('spiffe://example.org');
      expect(rejection(() => workloadIdOfCertificate(root.certificate)).details.rule).toBe(
        RULES.leafPath,
      );
    });

    it('accepts a leaf without EKU, with keyEncipherment too, or with DNS SANs besides the URI', async () => {
      expect((await check({ extendedKeyUsage: null }))().spiffeId).toBe('spiffe://example.org/w');
      expect(
        (
          await check({
            keyUsage: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
          })
        )().spiffeId,
      ).toBe('spiffe://example.org/w');
      expect((await check({ dnsNames: ['a.example.org', 'b.example.org'] }))().spiffeId).toBe(
        'spiffe://example.org/w',
      );
    });

    it('passes SPIFFE-ID parsing rules through', async () => {
      const err = rejection(await check({ uris: ['spiffe://example.org/a/../b'] }));
      expect(err.details.rule).toBe(
        'SPIFFE-ID 2.2: the path must not contain "." or ".." segments',
      );
      expect(err.message).toContain('not a valid SPIFFE ID');
    });

    it('rejects the leaf itself presented as its own root', async () => {
      const self = await forge({ subject: 'CN=self', uris: ['spiffe://example.org/self'] });
      expect(
        rejection(() => validateX509Svid([self.certificate], [self.certificate], { at: AT }))
          .details.rule,
      ).toBe(RULES.signingCa);
    });
  });

  describe('signing certificate rules', () => {
    it.each([
      ['is not a CA', { ca: false, keyUsage: x509.KeyUsageFlags.keyCertSign }, RULES.signingCa],
      [
        'lacks keyCertSign',
        { ca: true, keyUsage: x509.KeyUsageFlags.cRLSign },
        RULES.signingKeyCertSign,
      ],
      ['has no key usage', { ca: true, keyUsage: null }, RULES.signingKeyCertSign],
      [
        'carries a SPIFFE ID with a path',
        { ca: true, uris: ['spiffe://example.org/ca'] },
        RULES.signingSpiffeIdPath,
      ],
      [
        'has an unrecognised critical extension',
        { ca: true, extensions: [new x509.Extension('1.2.3.4.6', true, new Uint8Array([5, 0]))] },
        RULES.criticalExtension,
      ],
    ])('rejects an intermediate that %s', async (_what, options, rule) => {
      const root = await forge({ subject: 'CN=root', ca: true });
      const mid = await forge({ subject: 'CN=mid', issuer: root, ...options });
      const leaf = await forge({ subject: 'CN=w', issuer: mid, uris: ['spiffe://example.org/w'] });
      expect(
        rejection(() =>
          validateX509Svid([leaf.certificate, mid.certificate], [root.certificate], { at: AT }),
        ).details.rule,
      ).toBe(rule);
    });

    it('rejects a root that is not a CA', async () => {
      const root = await forge({
        subject: 'CN=root',
        ca: false,
        keyUsage: x509.KeyUsageFlags.keyCertSign,
      });
      const leaf = await forge({ subject: 'CN=w', issuer: root, uris: ['spiffe://example.org/w'] });
      expect(
        rejection(() => validateX509Svid([leaf.certificate], [root.certificate], { at: AT }))
          .details.rule,
      ).toBe(RULES.signingCa);
    });

    it('enforces pathLenConstraint', async () => {
      const root = await forge({ subject: 'CN=root', ca: true, pathLength: 0 });
      const mid = await forge({ subject: 'CN=mid', issuer: root, ca: true });
      const leaf = await forge({ subject: 'CN=w', issuer: mid, uris: ['spiffe://example.org/w'] });
      const err = rejection(() =>
        validateX509Svid([leaf.certificate, mid.certificate], [root.certificate], { at: AT }),
      );
      expect(err.details.rule).toBe(RULES.pathLength);
      expect(err.message).toContain(
        'root "CN=root" allows 0 intermediate(s) below it, the path has 1',
      );
    });

    it('rejects a chain whose issuer name matches but whose signature does not verify', async () => {
      const root = await forge({ subject: 'CN=root', ca: true });
      const impostor = await forge({ subject: 'CN=root', ca: true });
      const leaf = await forge({
        subject: 'CN=w',
        issuer: impostor,
        uris: ['spiffe://example.org/w'],
      });
      expect(
        rejection(() => validateX509Svid([leaf.certificate], [root.certificate], { at: AT }))
          .details.rule,
      ).toBe(RULES.signature);
    });

    it('ignores unrelated certificates in the chain and the bundle', async () => {
      const root = await forge({ subject: 'CN=root', ca: true });
      const other = await forge({ subject: 'CN=other', ca: true });
      const leaf = await forge({ subject: 'CN=w', issuer: root, uris: ['spiffe://example.org/w'] });
      expect(
        validateX509Svid(
          [leaf.certificate, other.certificate],
          [other.certificate, root.certificate],
          { at: AT },
        ).path,
      ).toHaveLength(2);
    });

    it('refuses a path loop or an over-long path', async () => {
      const root = await forge({ subject: 'CN=root', ca: true });
      let issuer = root;
      const chain: X509Certificate[] = [];
      for (let i = 0; i < 10; i += 1) {
        issuer = await forge({ subject: `CN=mid${i}`, issuer, ca: true });
        chain.unshift(issuer.certificate);
      }
      const leaf = await forge({ subject: 'CN=w', issuer, uris: ['spiffe://example.org/w'] });
      expect(
        rejection(() =>
          validateX509Svid([leaf.certificate, ...chain], [root.certificate], { at: AT }),
        ).details.rule,
      ).toBe(RULES.pathLength);
    });
  });

  describe('input errors', () => {
    it('rejects an empty chain', () => {
      expect(rejection(() => validateX509Svid([], [])).message).toContain('the chain is empty');
    });

    it('rejects an empty bundle', async () => {
      const root = await createCertificateAuthority({ trustDomain: 'example.org', now });
      const leaf = await root.issue({ spiffeId: 'spiffe://example.org/a', now });
      expect(rejection(() => validateX509Svid(leaf.chainPem, [], { at: now })).details.rule).toBe(
        RULES.bundle,
      );
    });

    it('reports malformed PEM as ERR_PEM_MALFORMED naming the input', () => {
      expect(() => validateX509Svid('-----BEGIN CERTIFICATE-----\nAAAA', [])).toThrow(
        expect.objectContaining({
          code: 'ERR_PEM_MALFORMED',
          message: expect.stringContaining('X509-SVID'),
        }),
      );
    });

    it('validates the expected trust domain option', () => {
      expect(() => validateX509Svid([], [], { trustDomain: 'Bad' })).toThrow(
        expect.objectContaining({ code: 'ERR_TRUST_DOMAIN_INVALID' }),
      );
    });
  });
});

describe('createTrustBundleSet', () => {
  it('merges repeated trust domains and rejects bad names and bad PEM', async () => {
    const a = await createCertificateAuthority({ trustDomain: 'example.org' });
    const b = await createCertificateAuthority({ trustDomain: 'example.org' });
    const set = createTrustBundleSet([
      ['example.org', a.bundlePem],
      ['example.org', [b.certificate]],
    ]);
    expect(set.get('example.org')).toHaveLength(2);
    expect(() => createTrustBundleSet({ 'Example.org': a.bundlePem })).toThrow(
      expect.objectContaining({ code: 'ERR_TRUST_DOMAIN_INVALID' }),
    );
    expect(() => createTrustBundleSet({ 'example.org': 'nope' })).toThrow(
      expect.objectContaining({
        code: 'ERR_PEM_MALFORMED',
        message: expect.stringContaining('trust bundle for example.org'),
      }),
    );
  });
});

describe('spiffeIdOfCertificate', () => {
  it('returns the single SPIFFE URI SAN, or undefined when absent, ambiguous or invalid', async () => {
    const root = await forge({ subject: 'CN=root', ca: true, uris: ['spiffe://example.org'] });
    const of = async (uris: string[]) =>
      spiffeIdOfCertificate(
        (await forge({ subject: 'CN=w', issuer: root, uris, dnsNames: ['w.local'] })).certificate,
      );
    expect(await of(['spiffe://example.org/w'])).toBe('spiffe://example.org/w');
    expect(await of([])).toBeUndefined();
    expect(await of(['spiffe://example.org/a', 'spiffe://example.org/b'])).toBeUndefined();
    expect(await of(['https://example.org/w'])).toBeUndefined();
    expect(await of(['spiffe://Example.org/w'])).toBeUndefined();
    expect(spiffeIdOfCertificate(root.certificate)).toBe('spiffe://example.org');
  });
});

describe('subjectAltNamesOf', () => {
  it('reads DNS names and URIs from the DER, a URI holding ", URI:" staying one entry', async () => {
    const smuggling = 'spiffe://example.org/a, URI:spiffe://example.org/admin';
    const { certificate } = await forge({
      subject: 'CN=w',
      uris: [smuggling],
      dnsNames: ['a.example', 'b.example'],
    });
    expect(subjectAltNamesOf(certificate)).toEqual({
      dnsNames: ['a.example', 'b.example'],
      uris: [smuggling],
    });
  });

  it('gives empty lists for a certificate without the extension', async () => {
    const { certificate } = await forge({ subject: 'CN=plain', uris: [], dnsNames: [] });
    expect(subjectAltNamesOf(certificate)).toEqual({ dnsNames: [], uris: [] });
  });
});
