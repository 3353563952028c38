import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  KeyUsage,
  SubjectAlternativeName,
} from '@peculiar/asn1-x509';
import type { X509SvidVector } from '../../test/support/conformance';
import { readConformance } from '../../test/support/conformance';
import { opensslSelfSigned } from '../../test/support/openssl';
import { createCertificateAuthority } from '../ca';
import type { CertificateInfo } from './certificate-info';
import { certificateInfo, readCertificateInfo } from './certificate-info';

describe('certificateInfo', () => {
  it('reads a certificate once by content: a fresh X509Certificate of the same DER is not parsed again', async () => {
    const ca = await createCertificateAuthority({ trustDomain: 'example.org' });
    const first = certificateInfo(new X509Certificate(ca.certificatePem));
    expect(first).toMatchObject({ isCa: true, uris: ['spiffe://example.org'] });
    expect(certificateInfo(new X509Certificate(ca.certificatePem))).toBe(first);
  });

  it('keeps a bounded number of certificates by content, least recently used out first', async () => {
    const ca = await createCertificateAuthority({ trustDomain: 'example.org' });
    const leafPem = async (i: number) =>
      (await ca.issue({ spiffeId: `spiffe://example.org/w/${i}` })).certificatePem;
    const hot = certificateInfo(new X509Certificate(ca.certificatePem));
    const evicted = await leafPem(0);
    const cold = certificateInfo(new X509Certificate(evicted));
    for (let i = 1; i <= 64; i += 1) {
      certificateInfo(new X509Certificate(await leafPem(i)));
      // The CA certificate is used by every validation, so it stays.
      expect(certificateInfo(new X509Certificate(ca.certificatePem))).toBe(hot);
    }
    const reread = certificateInfo(new X509Certificate(evicted));
    expect(reread).not.toBe(cold);
    expect(reread).toEqual(cold);
  });
});

/** What the full @peculiar/asn1-x509 parse reads: the oracle readCertificateInfo must agree with. */
function oracle(der: Buffer): CertificateInfo {
  const asn = AsnConvert.parse(der, Certificate);
  const info = {
    isCa: false,
    pathLength: undefined as number | undefined,
    keyUsage: undefined as number | undefined,
    keyUsageCritical: false,
    extendedKeyUsage: undefined as string[] | undefined,
    uris: [] as string[],
    dnsNames: [] as string[],
    unrecognisedCritical: [] as string[],
  };
  const processed = [
    id_ce_basicConstraints,
    id_ce_keyUsage,
    id_ce_extKeyUsage,
    id_ce_subjectAltName,
    id_ce_subjectKeyIdentifier,
    id_ce_authorityKeyIdentifier,
  ];
  for (const extension of asn.tbsCertificate.extensions ?? []) {
    const value = extension.extnValue.buffer;
    if (extension.extnID === id_ce_basicConstraints) {
      const bc = AsnConvert.parse(value, BasicConstraints);
      info.isCa = bc.cA;
      info.pathLength = bc.pathLenConstraint;
    } else if (extension.extnID === id_ce_keyUsage) {
      info.keyUsage = AsnConvert.parse(value, KeyUsage).toNumber();
      info.keyUsageCritical = extension.critical;
    } else if (extension.extnID === id_ce_extKeyUsage) {
      info.extendedKeyUsage = [...AsnConvert.parse(value, ExtendedKeyUsage)];
    } else if (extension.extnID === id_ce_subjectAltName) {
      for (const name of AsnConvert.parse(value, SubjectAlternativeName)) {
        if (name.uniformResourceIdentifier !== undefined)
          info.uris.push(name.uniformResourceIdentifier);
        if (name.dNSName !== undefined) info.dnsNames.push(name.dNSName);
      }
    } else if (extension.critical && !processed.includes(extension.extnID)) {
      info.unrecognisedCritical.push(extension.extnID);
    }
  }
  return info;
}

/** A certificate made by the openssl CLI with `extensions` (an openssl.cnf section body). */
function opensslCertificate(dir: string, name: string, extensions: string): Buffer {
  const config = join(dir, `${name}.cnf`);
  writeFileSync(config, `[req]\ndistinguished_name = dn\n[dn]\n[ext]\n${extensions}\n`);
  opensslSelfSigned(join(dir, `${name}.key`), join(dir, `${name}.pem`), [
    '-subj',
    `/CN=${name}`,
    '-days',
    '1',
    '-config',
    config,
    '-extensions',
    'ext',
  ]);
  return new X509Certificate(readFileSync(join(dir, `${name}.pem`))).raw;
}

describe('readCertificateInfo (the DER slicing reader)', () => {
  it('reads what @peculiar/asn1-x509 reads from every certificate of the shared X509-SVID vectors', () => {
    const vectors = readConformance<{ cases: X509SvidVector[] }>('x509-svid.json').cases;
    const certificates = vectors.flatMap((v) => [...v.chain, ...v.bundle]);
    expect(certificates.length).toBeGreaterThan(20);
    for (const pem of certificates) {
      const der = new X509Certificate(pem).raw;
      expect(readCertificateInfo(der)).toEqual(oracle(der));
    }
  });

  it('reads what @peculiar/asn1-x509 reads from Sigil CA, SVID and server certificates', async () => {
    const ca = await createCertificateAuthority({ trustDomain: 'example.org' });
    const leaves = [
      await ca.issue({ spiffeId: 'spiffe://example.org/w/api', dnsNames: ['api.internal'] }),
      await ca.issue({ dnsNames: ['a.example', 'b.example'], ipAddresses: ['10.0.0.1'] }),
    ];
    for (const pem of [ca.certificatePem, ...leaves.map((l) => l.certificatePem)]) {
      const der = new X509Certificate(pem).raw;
      expect(readCertificateInfo(der)).toEqual(oracle(der));
    }
  });

  it('reads what @peculiar/asn1-x509 reads from openssl certificates with other extensions and name forms', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-certinfo-'));
    try {
      const cases = {
        'path-length':
          'basicConstraints = critical, CA:TRUE, pathlen:3\nkeyUsage = critical, keyCertSign, cRLSign, decipherOnly',
        'not-ca-explicit':
          'basicConstraints = CA:FALSE\nkeyUsage = digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth, clientAuth, codeSigning',
        'name-forms':
          'subjectAltName = critical, email:a@example.org, URI:spiffe://example.org/x, DNS:x.example, IP:::1, RID:1.2.3.4, dirName:dir, otherName:1.2.3.5;UTF8:other, URI:https://example.org/y\n[dir]\nCN = directory',
        'unknown-critical':
          'basicConstraints = critical, CA:FALSE\n1.2.3.4.5 = critical, DER:05:00\nnsComment = "not critical"',
        'no-extensions': '',
      };
      for (const [name, extensions] of Object.entries(cases)) {
        const der = opensslCertificate(dir, name, extensions);
        expect({ name, info: readCertificateInfo(der) }).toEqual({ name, info: oracle(der) });
      }
      expect(
        readCertificateInfo(opensslCertificate(dir, 'forms', cases['name-forms'])),
      ).toMatchObject({
        uris: ['spiffe://example.org/x', 'https://example.org/y'],
        dnsNames: ['x.example'],
      });
      expect(
        readCertificateInfo(opensslCertificate(dir, 'pl', cases['path-length'])),
      ).toMatchObject({
        isCa: true,
        pathLength: 3,
        keyUsage: 32 | 64 | 256,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses extension contents that do not fill their container or use no GeneralName form, naming the part', async () => {
    const ca = await createCertificateAuthority({ trustDomain: 'example.org' });
    const der = new X509Certificate(
      (await ca.issue({ spiffeId: 'spiffe://example.org/w/api' })).certificatePem,
    ).raw;
    const uri = der.indexOf(Buffer.from('spiffe://example.org/w/api', 'latin1'));
    // The URI's GeneralName tag [6] as a constructed [6], which no GeneralName is in DER.
    const badTag = Buffer.from(der);
    badTag[uri - 2] = 0xa6;
    expect(() => readCertificateInfo(badTag)).toThrow(
      /subjectAltName: no GeneralName has tag 0xa6/,
    );
    // The URI's length one past its SEQUENCE.
    const overrun = Buffer.from(der);
    overrun[uri - 1] = overrun[uri - 1]! + 1;
    expect(() => readCertificateInfo(overrun)).toThrow(/runs past its container/);
    // Truncated anywhere: an error, never a wrong answer.
    for (let end = 1; end < der.length; end += 7)
      expect(() => readCertificateInfo(der.subarray(0, end))).toThrow(Error);
  });
});
