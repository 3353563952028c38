import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey, webcrypto, X509Certificate } from 'node:crypto';
import { SigilError } from '@sigil/errors';
import { x509 } from './internal/x509-runtime';
import type { CertificateAuthority } from './ca';
import { createCertificateAuthority } from './ca';
import { createCertificateSigningRequest } from './csr';
import { generateKeyPair } from './keys';
import { validateX509Svid } from './svid';
import { rsaTestKey } from '../test/support/keys';

const NOW = new Date('2030-01-01T00:00:00Z');
let ca: CertificateAuthority;
let dir: string;

beforeAll(async () => {
  ca = await createCertificateAuthority({ trustDomain: 'example.org', now: NOW });
  dir = mkdtempSync(join(tmpdir(), 'sigil-csr-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function opensslCsr(name: string, keyArgs: string[], signArgs: string[] = []): string {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  execFileSync('openssl', ['genpkey', ...keyArgs, '-out', key], { stdio: 'pipe' });
  execFileSync(
    'openssl',
    ['req', '-new', '-key', key, '-subj', `/CN=${name}`, ...signArgs, '-out', csr],
    { stdio: 'pipe' },
  );
  return readFileSync(csr, 'utf8');
}

async function rejection(run: () => Promise<unknown>): Promise<SigilError> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(SigilError);
    return err as SigilError;
  }
  throw new Error('expected a rejection');
}

describe('createCertificateSigningRequest', () => {
  it('writes a PKCS#10 request that openssl verifies, with the requested names', async () => {
    const key = await generateKeyPair('ec-p256');
    const pem = await createCertificateSigningRequest(key, {
      spiffeId: 'spiffe://example.org/svc/api',
      dnsNames: ['api.local'],
      ipAddresses: ['10.0.0.1'],
      commonName: 'api, "primary"',
    });
    expect(pem).toMatch(
      /^-----BEGIN CERTIFICATE REQUEST-----\n[\s\S]+-----END CERTIFICATE REQUEST-----\n$/,
    );
    const file = join(dir, 'ours.csr');
    writeFileSync(file, pem);
    const text = execFileSync('openssl', ['req', '-in', file, '-verify', '-noout', '-text'], {
      stdio: 'pipe',
    }).toString();
    expect(text).toContain('URI:spiffe://example.org/svc/api, DNS:api.local, IP Address:10.0.0.1');
    const csr = new x509.Pkcs10CertificateRequest(pem);
    expect(csr.subjectName.getField('CN')).toEqual(['api, "primary"']);
    expect(
      Buffer.from(csr.publicKey.rawData).equals(
        key.publicKey.export({ type: 'spki', format: 'der' }),
      ),
    ).toBe(true);
  });

  it.each(['rsa-2048', 'ed25519'] as const)('signs with %s keys', async (keyType) => {
    const key = keyType === 'rsa-2048' ? rsaTestKey() : await generateKeyPair(keyType);
    const pem = await createCertificateSigningRequest(key);
    expect(await new x509.Pkcs10CertificateRequest(pem).verify()).toBe(true);
  });

  it('validates what it is asked to request', async () => {
    const key = await generateKeyPair('ec-p256');
    expect(
      (
        await rejection(() =>
          createCertificateSigningRequest(key, { spiffeId: 'spiffe://example.org/' }),
        )
      ).code,
    ).toBe('ERR_SPIFFE_ID_INVALID');
    expect(
      (await rejection(() => createCertificateSigningRequest(key, { ipAddresses: ['nope'] }))).code,
    ).toBe('ERR_SAN_INVALID');
  });
});

describe('CertificateAuthority.signCsr', () => {
  it('certifies the CSR key with the identity, lifetime and usages of the policy, not of the CSR', async () => {
    const key = await generateKeyPair('ec-p256');
    const csr = await createCertificateSigningRequest(key, {
      spiffeId: 'spiffe://example.org/admin',
      dnsNames: ['evil.example.com'],
      commonName: 'admin',
    });
    const issued = await ca.signCsr(csr, {
      spiffeId: 'spiffe://example.org/svc/api',
      ttlSeconds: 900,
      now: NOW,
    });
    const cert = new X509Certificate(issued.certificatePem);
    expect(cert.subjectAltName).toBe('URI:spiffe://example.org/svc/api');
    expect(cert.subject).toBeUndefined();
    expect(cert.publicKey.equals(key.publicKey)).toBe(true);
    expect(issued.privateKeyPem).toBeUndefined();
    expect(issued.notAfter).toEqual(new Date(NOW.getTime() + 900_000));
    expect(issued.spiffeId).toBe('spiffe://example.org/svc/api');
    expect(validateX509Svid(issued.chainPem, issued.caPem, { at: NOW }).spiffeId).toBe(
      'spiffe://example.org/svc/api',
    );
  });

  it('ignores CA and key-usage extensions requested in the CSR', async () => {
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=wannabe CA',
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [
        new x509.BasicConstraintsExtension(true, 5, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
          true,
        ),
      ],
    });
    const issued = await ca.signCsr(csr.toString('pem'), {
      spiffeId: 'spiffe://example.org/w',
      profile: 'client',
      now: NOW,
    });
    const cert = new x509.X509Certificate(issued.certificatePem);
    expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
    expect(cert.getExtension(x509.KeyUsagesExtension)?.usages).toBe(
      x509.KeyUsageFlags.digitalSignature,
    );
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([
      x509.ExtendedKeyUsage.clientAuth,
    ]);
  });

  it.each([
    ['ECDSA P-256', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']],
    ['RSA-2048', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']],
    ['Ed25519', ['-algorithm', 'ED25519']],
  ])('accepts an openssl-made %s CSR', async (name, args) => {
    const issued = await ca.signCsr(opensslCsr(name.replace(/\W/g, ''), args), {
      spiffeId: 'spiffe://example.org/w',
      now: NOW,
    });
    expect(validateX509Svid(issued.chainPem, issued.caPem, { at: NOW }).spiffeId).toBe(
      'spiffe://example.org/w',
    );
  });

  it.each([
    [
      'ECDSA P-256 signed with SHA-384',
      ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      ['-sha384'],
    ],
    [
      'RSA-2048 signed with RSASSA-PSS',
      ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
      ['-sha256', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32'],
    ],
  ])('accepts an openssl-made %s CSR', async (name, args, signArgs) => {
    const issued = await ca.signCsr(opensslCsr(name.replace(/\W/g, ''), args, signArgs), {
      spiffeId: 'spiffe://example.org/w',
      now: NOW,
    });
    expect(validateX509Svid(issued.chainPem, issued.caPem, { at: NOW }).spiffeId).toBe(
      'spiffe://example.org/w',
    );
  });

  it('refuses a CSR signed with SHA-1 as an unsupported signature algorithm', async () => {
    const err = await rejection(() =>
      ca.signCsr(
        opensslCsr('sha1', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], ['-sha1']),
        { spiffeId: 'spiffe://example.org/w', now: NOW },
      ),
    );
    expect(err).toMatchObject({
      code: 'ERR_CSR_INVALID',
      details: expect.objectContaining({ reason: 'bad-signature' }),
    });
    expect(err.message).toContain('unsupported algorithm (1.2.840.10045.4.1)');
  });

  it.each([
    ['RSA-1024', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024'], 'RSA-1024'],
    ['secp256k1', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:secp256k1'], 'secp256k1'],
    ['Ed448', ['-algorithm', 'ED448'], 'ed448'],
  ])('refuses a %s CSR as a weak or unsupported key', async (name, args, named) => {
    const err = await rejection(() =>
      ca.signCsr(opensslCsr(name.replace(/\W/g, ''), args), {
        spiffeId: 'spiffe://example.org/w',
        now: NOW,
      }),
    );
    expect(err.code).toBe('ERR_CSR_INVALID');
    expect(err.details.reason).toBe('weak-key');
    expect(err.message).toContain(named);
  });

  it.each([
    ['P-384', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'], ['-sha384']],
    ['RSA-3072', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072'], []],
    ['Ed25519', ['-algorithm', 'ED25519'], []],
  ])('certifies an openssl %s CSR key', async (name, keyArgs, signArgs) => {
    const file = `ok${name.replace(/\W/g, '')}`;
    const csrPem = opensslCsr(file, keyArgs, signArgs);
    const issued = await ca.signCsr(csrPem, { spiffeId: 'spiffe://example.org/w', now: NOW });
    const key = createPublicKey(readFileSync(join(dir, `${file}.key`)));
    expect(new X509Certificate(issued.certificatePem).publicKey.equals(key)).toBe(true);
    expect(validateX509Svid(issued.chainPem, issued.caPem, { at: NOW }).spiffeId).toBe(
      'spiffe://example.org/w',
    );
  });

  it.each(['ec-p384', 'rsa-3072', 'ed25519'] as const)(
    'signs a CSR of its own %s key (createCertificateSigningRequest)',
    async (keyType) => {
      const key = await generateKeyPair(keyType);
      const issued = await ca.signCsr(await createCertificateSigningRequest(key), {
        spiffeId: 'spiffe://example.org/w',
        now: NOW,
      });
      expect(new X509Certificate(issued.certificatePem).publicKey.equals(key.publicKey)).toBe(true);
    },
  );

  it('refuses a CSR whose self-signature does not verify', async () => {
    const key = await generateKeyPair('ec-p256');
    const pem = await createCertificateSigningRequest(key, { commonName: 'genuine' });
    const der = Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    const at = der.indexOf('genuine');
    der.write('tampere', at, 'latin1');
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    const err = await rejection(() =>
      ca.signCsr(tampered, { spiffeId: 'spiffe://example.org/w', now: NOW }),
    );
    expect(err).toMatchObject({
      code: 'ERR_CSR_INVALID',
      details: expect.objectContaining({ reason: 'bad-signature' }),
    });
    expect(err.message).toContain('self-signature does not verify');
  });

  it('refuses a CSR signed by another key than the one it carries', async () => {
    const carried = await generateKeyPair('ec-p256');
    const signer = await generateKeyPair('ec-p256');
    const signerKeys = {
      privateKey: await webcrypto.subtle.importKey(
        'pkcs8',
        signer.privateKey.export({ type: 'pkcs8', format: 'der' }),
        { name: 'ECDSA', namedCurve: 'P-256' },
        false,
        ['sign'],
      ),
      publicKey: await webcrypto.subtle.importKey(
        'spki',
        carried.publicKey.export({ type: 'spki', format: 'der' }),
        { name: 'ECDSA', namedCurve: 'P-256' },
        true,
        ['verify'],
      ),
    };
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=x',
      keys: signerKeys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    expect(
      (
        await rejection(() =>
          ca.signCsr(csr.toString('pem'), { spiffeId: 'spiffe://example.org/w', now: NOW }),
        )
      ).details.reason,
    ).toBe('bad-signature');
  });

  it.each([
    ['plain text', 'hello'],
    ['a certificate', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'],
    [
      'a truncated request',
      '-----BEGIN CERTIFICATE REQUEST-----\nMIIBAjCBqAIBADA=\n-----END CERTIFICATE REQUEST-----\n',
    ],
  ])('refuses %s as malformed', async (_what, pem) => {
    const err = await rejection(() =>
      ca.signCsr(pem, { spiffeId: 'spiffe://example.org/w', now: NOW }),
    );
    expect(err).toMatchObject({
      code: 'ERR_CSR_INVALID',
      details: expect.objectContaining({ reason: 'malformed' }),
    });
  });

  describe('hostile DER', () => {
    const pemOf = (der: Buffer) =>
      `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    let genuine: Buffer;
    beforeAll(async () => {
      const pem = await createCertificateSigningRequest(await generateKeyPair('ec-p256'));
      genuine = Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    });

    it.each([
      ['trailing bytes after the request', () => Buffer.concat([genuine, Buffer.from([0, 0])])],
      [
        'an indefinite length',
        () => Buffer.concat([Buffer.from([0x30, 0x80]), genuine.subarray(2)]),
      ],
      [
        'a length larger than the input',
        () =>
          Buffer.concat([Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]), genuine.subarray(3)]),
      ],
      ['a five-byte length', () => Buffer.from([0x30, 0x85, 0, 0, 0, 0, 1, 0])],
      ['a multi-byte tag', () => Buffer.from([0x3f, 0x81, 0x01, 0x00])],
      [
        'a SET where the request SEQUENCE belongs',
        () => Buffer.concat([Buffer.from([0x31]), genuine.subarray(1)]),
      ],
    ])('refuses %s as malformed', async (_what, make) => {
      const err = await rejection(() =>
        ca.signCsr(pemOf(make()), { spiffeId: 'spiffe://example.org/w', now: NOW }),
      );
      expect(err).toMatchObject({
        code: 'ERR_CSR_INVALID',
        details: expect.objectContaining({ reason: 'malformed' }),
      });
      expect(err.message).toContain('not a readable PKCS#10 request');
    });

    it('answers every truncation and every single-byte change with ERR_CSR_INVALID', async () => {
      const variants: Buffer[] = [];
      for (let length = 0; length < genuine.length; length += 1)
        variants.push(genuine.subarray(0, length));
      for (let at = 0; at < genuine.length; at += 1) {
        for (const flip of [0x01, 0x80, 0xff]) {
          const changed = Buffer.from(genuine);
          changed[at]! ^= flip;
          variants.push(changed);
        }
      }
      for (const der of variants) {
        const err = await rejection(() =>
          ca.signCsr(pemOf(der), { spiffeId: 'spiffe://example.org/w', now: NOW }),
        ).catch((thrown: unknown) => thrown);
        // A change inside the subject or an attribute can still parse, then fails the signature.
        expect(err).toMatchObject({ code: 'ERR_CSR_INVALID' });
      }
    });
  });

  it('accepts the legacy NEW CERTIFICATE REQUEST label', async () => {
    const pem = (await createCertificateSigningRequest(await generateKeyPair('ec-p256'))).replace(
      /CERTIFICATE REQUEST/g,
      'NEW CERTIFICATE REQUEST',
    );
    expect((await ca.signCsr(pem, { dnsNames: ['a.local'], now: NOW })).certificatePem).toContain(
      'BEGIN CERTIFICATE',
    );
  });

  it('applies the issuance rules to the policy', async () => {
    const csr = await createCertificateSigningRequest(await generateKeyPair('ec-p256'));
    expect(
      (await rejection(() => ca.signCsr(csr, { spiffeId: 'spiffe://other.org/w', now: NOW }))).code,
    ).toBe('ERR_SPIFFE_ID_INVALID');
    expect((await rejection(() => ca.signCsr(csr, { now: NOW }))).code).toBe('ERR_SAN_INVALID');
  });
});
