import { webcrypto, X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { createCertificateAuthority } from '../ca';
import type { KeyPair, KeyType } from '../keys';
import { generateKeyPair, importPrivateKeyPem } from '../keys';
import { toWebCryptoPublicKey } from './webcrypto-keys';
import { bitString, time, unsignedInteger } from './der';
import type { LeafFields, LeafProfile } from './leaf-template';
import { createLeafTemplate, keyIdentifier, subjectPublicKeyOf } from './leaf-template';
import { rsaTestKey } from '../../test/support/keys';
import { commonNameOnly } from './names';
import { x509 } from './x509-runtime';

// The fast path must produce exactly the TBSCertificate @peculiar/x509's generator produces for
// the same fields: same bytes, only the (randomised) ECDSA signature differs.
async function generatorTbs(
  caCertificate: X509Certificate,
  caKey: KeyPair,
  subject: KeyPair,
  fields: LeafFields,
  serialNumber: string,
): Promise<Buffer> {
  const signingKey = await webcrypto.subtle.importKey(
    'pkcs8',
    caKey.privateKey.export({ type: 'pkcs8', format: 'der' }),
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['sign'],
  );
  const publicKey = await toWebCryptoPublicKey(subject.publicKey, subject.keyType);
  const eku = {
    server: [x509.ExtendedKeyUsage.serverAuth],
    client: [x509.ExtendedKeyUsage.clientAuth],
    svid: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
  }[fields.profile];
  const names: x509.JsonGeneralName[] = [
    ...(fields.spiffeId ? [{ type: 'url' as const, value: fields.spiffeId }] : []),
    ...fields.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...fields.ipAddresses.map((bytes) => ({ type: 'ip' as const, value: ipText(bytes) })),
  ];
  const usage =
    x509.KeyUsageFlags.digitalSignature |
    (subject.keyType === 'rsa-2048' ? x509.KeyUsageFlags.keyEncipherment : 0);
  const ca = new x509.X509Certificate(caCertificate.raw);
  const generated = await x509.X509CertificateGenerator.create({
    serialNumber,
    // Sigil writes the CN as UTF8String (RFC 5280 4.1.2.4); x509's string form would pick PrintableString.
    subject: fields.commonName === undefined ? '' : commonNameOnly(fields.commonName),
    issuer: ca.subjectName,
    notBefore: fields.notBefore,
    notAfter: fields.notAfter,
    publicKey,
    signingKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usage, true),
      new x509.ExtendedKeyUsageExtension(eku, false),
      new x509.SubjectAlternativeNameExtension(names, fields.commonName === undefined),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      new x509.AuthorityKeyIdentifierExtension(
        ca.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId,
      ),
    ],
  });
  return tbsOf(Buffer.from(generated.rawData));
}

function tbsOf(der: Buffer): Buffer {
  return Buffer.from(AsnConvert.serialize(AsnConvert.parse(der, Certificate).tbsCertificate));
}

function ipText(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(':');
}

describe('leaf template fast path', () => {
  it.each<[string, KeyType, LeafProfile, Partial<LeafFields>]>([
    ['a bare P-256 SVID', 'ec-p256', 'svid', {}],
    [
      'a P-256 server certificate with CN, DNS and IP SANs',
      'ec-p256',
      'server',
      {
        commonName: 'api.local',
        dnsNames: ['api.local', '*.api.local'],
        ipAddresses: [Buffer.from([10, 0, 0, 1]), Buffer.alloc(16, 0xfe)],
      },
    ],
    ['an RSA-2048 client certificate', 'rsa-2048', 'client', { commonName: 'client' }],
    [
      'an Ed25519 SVID valid past 2049',
      'ed25519',
      'svid',
      { notAfter: new Date('2061-02-03T04:05:06Z') },
    ],
  ])(
    'encodes %s byte for byte as @peculiar/x509 does',
    async (_label, keyType, profile, overrides) => {
      const ca = await createCertificateAuthority({
        trustDomain: 'example.org',
        ttlSeconds: 50 * 365 * 86400,
      });
      const caPair = importPrivateKeyPem(ca.privateKeyPem);
      const subject = keyType === 'rsa-2048' ? rsaTestKey() : await generateKeyPair(keyType);
      const fields: LeafFields = {
        subjectPublicKey: subjectPublicKeyOf(subject.publicKey, keyType),
        profile,
        spiffeId: 'spiffe://example.org/ns/prod/sa/api',
        dnsNames: [],
        ipAddresses: [],
        notBefore: new Date('2026-01-01T00:00:00Z'),
        notAfter: new Date('2026-01-02T00:00:00Z'),
        ...overrides,
      };
      const signed = createLeafTemplate(ca.certificate, caPair).sign(fields);
      const cert = new X509Certificate(signed.der);
      expect(cert.verify(ca.certificate.publicKey)).toBe(true);
      expect(cert.serialNumber.toLowerCase()).toBe(signed.serialNumber);
      expect(
        tbsOf(signed.der).equals(
          await generatorTbs(ca.certificate, caPair, subject, fields, signed.serialNumber),
        ),
      ).toBe(true);
    },
  );

  it('builds the SubjectPublicKeyInfo node:crypto exports, for every key type', async () => {
    for (const keyType of ['ec-p256', 'rsa-2048', 'ed25519'] as const) {
      const key = keyType === 'rsa-2048' ? rsaTestKey() : await generateKeyPair(keyType);
      const spk = subjectPublicKeyOf(key.publicKey, keyType);
      expect(spk.spki.equals(key.publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
    }
  });

  it('derives the RFC 5280 method-1 key identifier @peculiar/x509 derives', async () => {
    const key = await generateKeyPair('ec-p256');
    const publicKey = await toWebCryptoPublicKey(key.publicKey, key.keyType);
    const expected = (await x509.SubjectKeyIdentifierExtension.create(publicKey)).keyId;
    expect(keyIdentifier(subjectPublicKeyOf(key.publicKey, 'ec-p256').bits).toString('hex')).toBe(
      expected,
    );
  });
});

describe('DER writer', () => {
  it('encodes times as UTCTime through 2049 and GeneralizedTime from 2050 (RFC 5280 4.1.2.5)', () => {
    expect(time(new Date('2049-12-31T23:59:59.999Z')).toString('latin1')).toBe(
      '\x17\x0d491231235959Z',
    );
    expect(time(new Date('2050-01-01T00:00:00Z')).toString('latin1')).toBe(
      '\x18\x0f20500101000000Z',
    );
    expect(time(new Date('1999-06-01T12:00:00Z')).toString('latin1')).toBe('\x17\x0d990601120000Z');
  });

  it('encodes positive INTEGERs minimally', () => {
    expect(unsignedInteger(Buffer.from([0x00, 0x00, 0x7f])).toString('hex')).toBe('02017f');
    expect(unsignedInteger(Buffer.from([0x80])).toString('hex')).toBe('02020080');
    expect(unsignedInteger(Buffer.from([0x00])).toString('hex')).toBe('020100');
  });

  it('uses long-form lengths above 127 bytes', () => {
    expect(bitString(Buffer.alloc(200)).subarray(0, 3).toString('hex')).toBe('0381c9');
    expect(bitString(Buffer.alloc(300)).subarray(0, 4).toString('hex')).toBe('0382012d');
  });
});
