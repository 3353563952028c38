import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { SigilError } from '@sigil/errors';
import type { CertificateAuthority, IssuedCertificate } from './ca';
import { createCertificateAuthority, createIntermediateCertificateAuthority } from './ca';
import { readCertificateChainFile, readPrivateKeyFile, readTrustBundleFile } from './files';
import { assertKeyMatchesCertificate } from './keys';
import { fingerprint, parseCertificatesPem, toPem } from './pem';
import { rsaTestKey } from '../test/support/keys';

let dir: string;
let root: CertificateAuthority;
let mid: CertificateAuthority;
let leaf: IssuedCertificate;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-files-'));
  root = await createCertificateAuthority({ trustDomain: 'example.org' });
  mid = await createIntermediateCertificateAuthority(root);
  leaf = await mid.issue({ spiffeId: 'spiffe://example.org/w', dnsNames: ['w.local'] });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function failure(run: () => unknown): SigilError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(SigilError);
    return err as SigilError;
  }
  throw new Error('expected a SigilError');
}

describe('readCertificateChainFile', () => {
  it('reads a chain leaf first', () => {
    const chain = readCertificateChainFile(file('tls.crt', leaf.chainPem));
    expect(chain).toHaveLength(2);
    expect(chain[1]!.raw.equals(mid.certificate.raw)).toBe(true);
  });

  it('reads CRLF line endings and text around the blocks', () => {
    const decorated = 'subject=leaf\r\n' + leaf.chainPem.replace(/\n/g, '\r\n') + '\r\n# end\r\n';
    expect(readCertificateChainFile(file('crlf.crt', decorated))).toHaveLength(2);
  });

  it('reads a single DER certificate', () => {
    const [cert] = readCertificateChainFile(
      file('leaf.der', new X509Certificate(leaf.certificatePem).raw),
    );
    expect(cert!.subjectAltName).toContain('spiffe://example.org/w');
  });

  it.each([
    ['a missing file', () => join(dir, 'missing.crt'), 'ERR_FILE_UNREADABLE', 'no such file'],
    [
      'a directory',
      () => (mkdirSync(join(dir, 'adir'), { recursive: true }), join(dir, 'adir')),
      'ERR_FILE_UNREADABLE',
      'is a directory',
    ],
    ['an empty file', () => file('empty.crt', ''), 'ERR_PEM_MALFORMED', 'no PEM certificate found'],
    [
      'a private key',
      () => file('key-as-cert.crt', leaf.privateKeyPem!),
      'ERR_PEM_MALFORMED',
      'found "PRIVATE KEY"',
    ],
    [
      'a truncated PEM',
      () => file('cut.crt', leaf.chainPem.slice(0, leaf.chainPem.length - 40)),
      'ERR_PEM_MALFORMED',
      'truncated PEM',
    ],
    [
      'a block with corrupt base64 content',
      () =>
        file(
          'corrupt.crt',
          leaf.certificatePem.replace(/\n[A-Za-z0-9+/]{20}/, '\nAAAAAAAAAAAAAAAAAAAA'),
        ),
      'ERR_PEM_MALFORMED',
      'certificate #1 is not valid DER',
    ],
    [
      'a block with characters outside base64',
      () =>
        file(
          'junk.crt',
          '-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n',
        ),
      'ERR_PEM_MALFORMED',
      'malformed PEM',
    ],
    [
      'binary that is not DER',
      () => file('random.der', Buffer.from([0x30, 0x03, 0x01, 0x02])),
      'ERR_PEM_MALFORMED',
      'neither PEM nor a DER certificate',
    ],
  ])('raises a SigilError naming the file for %s', (_what, make, code, message) => {
    const path = make();
    const err = failure(() => readCertificateChainFile(path));
    expect(err.code).toBe(code);
    expect(err.message).toContain(path);
    expect(err.message).toContain(message);
    expect(err.details.file).toBe(path);
  });

  // root reads any file whatever its mode, so this one only runs as an ordinary user.
  (process.getuid?.() === 0 ? it.skip : it)(
    'reports an unreadable file (permission denied)',
    () => {
      const path = file('secret.crt', leaf.certificatePem);
      chmodSync(path, 0o000);
      try {
        expect(failure(() => readCertificateChainFile(path)).message).toContain(
          'permission denied',
        );
      } finally {
        chmodSync(path, 0o600);
      }
    },
  );
});

describe('readTrustBundleFile', () => {
  it('reads several roots (rotation) and refuses a non-CA in a bundle', async () => {
    const other = await createCertificateAuthority({ trustDomain: 'example.org' });
    expect(readTrustBundleFile(file('ca.crt', root.bundlePem + other.bundlePem))).toHaveLength(2);
    const err = failure(() =>
      readTrustBundleFile(file('bad-ca.crt', root.bundlePem + leaf.certificatePem)),
    );
    expect(err.code).toBe('ERR_BUNDLE_INVALID');
    expect(err.message).toContain('certificate #2');
  });
});

describe('readPrivateKeyFile', () => {
  it.each([
    ['PKCS#8', (pem: string) => pem],
    [
      'SEC1',
      () =>
        generateKeyPairSync('ec', { namedCurve: 'P-256' })
          .privateKey.export({ type: 'sec1', format: 'pem' })
          .toString(),
    ],
    ['PKCS#1', () => rsaTestKey().privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()],
  ])('reads a %s key', (_label, make) => {
    const key = readPrivateKeyFile(file('k.pem', make(leaf.privateKeyPem!)));
    expect(['ec-p256', 'rsa-2048']).toContain(key.keyType);
    expect(key.privateKeyPem).toContain('BEGIN PRIVATE KEY');
  });

  it.each([
    ['a missing file', () => join(dir, 'nope.key'), 'ERR_FILE_UNREADABLE', 'no such file'],
    [
      'a certificate',
      () => file('cert-as-key.key', leaf.certificatePem),
      'ERR_PEM_MALFORMED',
      'found "CERTIFICATE" instead',
    ],
    [
      'a truncated key',
      () => file('cut.key', leaf.privateKeyPem!.slice(0, 80) + '\n-----END PRIVATE KEY-----\n'),
      'ERR_PEM_MALFORMED',
      'truncated or corrupt',
    ],
    [
      'an encrypted key',
      () =>
        file(
          'enc.key',
          generateKeyPairSync('ec', { namedCurve: 'P-256' })
            .privateKey.export({
              type: 'pkcs8',
              format: 'pem',
              cipher: 'aes-256-cbc',
              passphrase: 'x',
            })
            .toString(),
        ),
      'ERR_KEY_UNSUPPORTED',
      'encrypted',
    ],
    [
      'a P-521 key',
      () =>
        file(
          'p521.key',
          generateKeyPairSync('ec', { namedCurve: 'P-521' })
            .privateKey.export({ type: 'pkcs8', format: 'pem' })
            .toString(),
        ),
      'ERR_KEY_UNSUPPORTED',
      'EC curve secp521r1',
    ],
    [
      'an RSA-1024 key',
      () =>
        file(
          'rsa1024.key',
          generateKeyPairSync('rsa', { modulusLength: 1024 })
            .privateKey.export({ type: 'pkcs8', format: 'pem' })
            .toString(),
        ),
      'ERR_KEY_UNSUPPORTED',
      'RSA-1024',
    ],
    [
      'an Ed448 key',
      () =>
        file(
          'ed448.key',
          generateKeyPairSync('ed448')
            .privateKey.export({ type: 'pkcs8', format: 'pem' })
            .toString(),
        ),
      'ERR_KEY_UNSUPPORTED',
      'ed448',
    ],
  ])('raises a SigilError naming the file for %s', (_what, make, code, message) => {
    const path = make();
    const err = failure(() => readPrivateKeyFile(path));
    expect(err.code).toBe(code);
    expect(err.message).toContain(path);
    expect(err.message).toContain(message);
  });
});

describe('assertKeyMatchesCertificate', () => {
  it('passes for the key of the certificate, private or public', () => {
    const cert = new X509Certificate(leaf.certificatePem);
    const key = readPrivateKeyFile(file('tls.key', leaf.privateKeyPem!));
    expect(() => assertKeyMatchesCertificate(key, cert)).not.toThrow();
    expect(() => assertKeyMatchesCertificate(key.publicKey, cert)).not.toThrow();
  });

  it('names both files when the key belongs to another certificate', () => {
    const cert = new X509Certificate(leaf.certificatePem);
    const other = readPrivateKeyFile(
      file(
        'other.key',
        generateKeyPairSync('ec', { namedCurve: 'P-256' })
          .privateKey.export({ type: 'pkcs8', format: 'pem' })
          .toString(),
      ),
    );
    const err = failure(() =>
      assertKeyMatchesCertificate(other, cert, {
        keySource: '/etc/tls/tls.key',
        certificateSource: '/etc/tls/tls.crt',
      }),
    );
    expect(err.code).toBe('ERR_KEY_MISMATCH');
    expect(err.message).toBe(
      '/etc/tls/tls.key is not the key of the certificate in /etc/tls/tls.crt (subject "CN=w.local")',
    );
    expect(failure(() => assertKeyMatchesCertificate(other.publicKey, cert)).code).toBe(
      'ERR_KEY_MISMATCH',
    );
  });
});

describe('PEM helpers', () => {
  it('round-trips certificates through toPem and parseCertificatesPem', () => {
    const certs = parseCertificatesPem(leaf.chainPem, 'chain');
    expect(toPem(certs)).toBe(leaf.chainPem);
    expect(toPem([leaf.certificatePem.trim(), certs[1]!])).toBe(leaf.chainPem);
  });

  it('computes the SHA-256 fingerprint that openssl prints', () => {
    const path = file('fp.crt', leaf.certificatePem);
    const openssl = execFileSync('openssl', [
      'x509',
      '-in',
      path,
      '-noout',
      '-fingerprint',
      '-sha256',
    ])
      .toString()
      .trim()
      .split('=')[1]!;
    expect(fingerprint(new X509Certificate(leaf.certificatePem))).toBe(openssl.toLowerCase());
  });

  it('rejects non-string input', () => {
    expect(failure(() => parseCertificatesPem(undefined as unknown as string, 'x')).code).toBe(
      'ERR_PEM_MALFORMED',
    );
  });
});

describe('readPrivateKeyFile with ownerOnly', () => {
  it.each([
    ['0644', 'readable by its group and every user'],
    ['0640', 'readable by its group'],
    ['0660', 'readable by its group'],
    ['0604', 'readable by every user'],
    ['0620', 'open to other users'],
  ])('refuses mode %s with the chmod that fixes it', (octal, readers) => {
    const path = file(`open-${octal}.key`, leaf.privateKeyPem!);
    chmodSync(path, parseInt(octal, 8));
    const error = failure(() => readPrivateKeyFile(path, { ownerOnly: true }));
    expect(error.code).toBe('ERR_KEY_PERMISSIONS');
    expect(error.message).toBe(
      `${path} is a private key with mode ${octal}, ${readers}: a private key must be accessible to its owner only; run: chmod 600 ${path} (for a Kubernetes Secret volume, set defaultMode: 0400, or 0440 with fsGroup)`,
    );
    expect(error.details).toMatchObject({ file: path });
    expect(readPrivateKeyFile(path).keyType).toBe('ec-p256');
  });

  it.each(['0600', '0400'])('reads mode %s', (octal) => {
    const path = file(`private-${octal}.key`, leaf.privateKeyPem!);
    chmodSync(path, parseInt(octal, 8));
    expect(readPrivateKeyFile(path, { ownerOnly: true }).keyType).toBe('ec-p256');
  });

  it('reads a key of another user that this process reads through its own group only (Secret volume with fsGroup)', () => {
    if (process.getuid?.() !== 0) return; // chown needs root
    const path = file('fsgroup.key', leaf.privateKeyPem!);
    chownSync(path, 10001, process.getgid!());
    chmodSync(path, 0o440);
    expect(readPrivateKeyFile(path, { ownerOnly: true }).keyType).toBe('ec-p256');
    chmodSync(path, 0o460);
    expect(failure(() => readPrivateKeyFile(path, { ownerOnly: true })).code).toBe(
      'ERR_KEY_PERMISSIONS',
    );
    chmodSync(path, 0o444);
    expect(failure(() => readPrivateKeyFile(path, { ownerOnly: true })).code).toBe(
      'ERR_KEY_PERMISSIONS',
    );
    chownSync(path, process.getuid!(), process.getgid!());
    chmodSync(path, 0o440);
    expect(failure(() => readPrivateKeyFile(path, { ownerOnly: true })).code).toBe(
      'ERR_KEY_PERMISSIONS',
    );
  });

  it('leaves a missing file to the read, which names it', () => {
    const missing = join(dir, 'missing.key');
    expect(failure(() => readPrivateKeyFile(missing, { ownerOnly: true })).code).toBe(
      'ERR_FILE_UNREADABLE',
    );
  });
});
