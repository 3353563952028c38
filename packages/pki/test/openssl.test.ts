// End-to-end: every certificate @sigil/pki writes must satisfy the real openssl binary.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertificateAuthority, IssuedCertificate, KeyType } from '@sigil/pki';
import {
  createCertificateAuthority,
  createCertificateSigningRequest,
  createIntermediateCertificateAuthority,
  crossSignCertificateAuthority,
  generateKeyPair,
  loadCertificateAuthority,
  validateX509Svid,
} from '@sigil/pki';
import { rsaTestKey } from './support/keys';
import { opensslSelfSigned } from './support/openssl';

let dir: string;
let counter = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-openssl-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(content: string): string {
  counter += 1;
  const path = join(dir, `f${counter}.pem`);
  writeFileSync(path, content);
  return path;
}

function openssl(args: string[]): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync('openssl', args, { stdio: 'pipe' }).toString() };
  } catch (err) {
    const e = err as { stdout: Buffer; stderr: Buffer };
    return { ok: false, out: e.stdout.toString() + e.stderr.toString() };
  }
}

/** openssl verify of the leaf against the bundle, with the chain's intermediates as untrusted. */
function verify(
  issued: IssuedCertificate,
  purpose?: 'sslserver' | 'sslclient',
): { ok: boolean; out: string } {
  const args = ['verify', '-CAfile', write(issued.caPem), '-untrusted', write(issued.chainPem)];
  if (purpose) args.push('-purpose', purpose);
  return openssl([...args, write(issued.certificatePem)]);
}

function text(pem: string): string {
  return openssl(['x509', '-in', write(pem), '-noout', '-text']).out;
}

describe('openssl accepts what @sigil/pki issues', () => {
  let root: CertificateAuthority;
  let mid: CertificateAuthority;
  beforeAll(async () => {
    root = await createCertificateAuthority({ trustDomain: 'example.org' });
    mid = await createIntermediateCertificateAuthority(root);
  });

  it('a root CA: self-signed, CA:TRUE pathlen:1, Certificate Sign and CRL Sign, the trust-domain URI', () => {
    expect(
      openssl(['verify', '-CAfile', write(root.certificatePem), write(root.certificatePem)]),
    ).toMatchObject({ ok: true });
    const out = text(root.certificatePem);
    expect(out).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:1/);
    expect(out).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
    expect(out).toMatch(/Subject Alternative Name: \s+URI:spiffe:\/\/example\.org\n/);
    expect(out).toContain('Signature Algorithm: ecdsa-with-SHA256');
  });

  it('an intermediate: verifies against the root, CA:TRUE pathlen:0', () => {
    expect(
      openssl(['verify', '-CAfile', write(root.bundlePem), write(mid.certificatePem)]),
    ).toMatchObject({ ok: true });
    expect(text(mid.certificatePem)).toMatch(/CA:TRUE, pathlen:0/);
  });

  it('an SVID through the intermediate: both TLS purposes, the URI SAN critical, digitalSignature only', async () => {
    const svid = await mid.issue({
      spiffeId: 'spiffe://example.org/ns/prod/sa/api',
      ttlSeconds: 3600,
    });
    expect(verify(svid, 'sslserver')).toMatchObject({ ok: true });
    expect(verify(svid, 'sslclient')).toMatchObject({ ok: true });
    const out = text(svid.certificatePem);
    expect(out).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(out).toMatch(/Key Usage: critical\s+Digital Signature\n/);
    expect(out).toMatch(
      /Extended Key Usage: \s+TLS Web Server Authentication, TLS Web Client Authentication/,
    );
    expect(out).toMatch(
      /Subject Alternative Name: critical\s+URI:spiffe:\/\/example\.org\/ns\/prod\/sa\/api\n/,
    );
    expect(out).toMatch(/Subject: \n/);
  });

  it('a server certificate: DNS and IP SANs, serverAuth only (openssl refuses it as a client)', async () => {
    const server = await mid.issue({
      dnsNames: ['api.example.org', 'localhost'],
      ipAddresses: ['127.0.0.1', '::1'],
      profile: 'server',
    });
    expect(verify(server, 'sslserver')).toMatchObject({ ok: true });
    expect(verify(server, 'sslclient')).toMatchObject({
      ok: false,
      out: expect.stringContaining('unsuitable certificate purpose'),
    });
    const out = text(server.certificatePem);
    expect(out).toContain('Subject: CN = api.example.org');
    expect(out).toMatch(
      /Subject Alternative Name: \s+DNS:api\.example\.org, DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1\n/,
    );
    expect(out).toMatch(/Extended Key Usage: \s+TLS Web Server Authentication\n/);
  });

  it('a client certificate: clientAuth only (openssl refuses it as a server)', async () => {
    const client = await mid.issue({ spiffeId: 'spiffe://example.org/cli', profile: 'client' });
    expect(verify(client, 'sslclient')).toMatchObject({ ok: true });
    expect(verify(client, 'sslserver')).toMatchObject({
      ok: false,
      out: expect.stringContaining('unsuitable certificate purpose'),
    });
    expect(text(client.certificatePem)).toMatch(
      /Extended Key Usage: \s+TLS Web Client Authentication\n/,
    );
  });

  it('a certificate signed from a CSR', async () => {
    const csr = await createCertificateSigningRequest(await generateKeyPair('ec-p256'), {
      spiffeId: 'spiffe://example.org/asked',
    });
    const issued = await mid.signCsr(csr, { spiffeId: 'spiffe://example.org/granted' });
    expect(verify(issued, 'sslclient')).toMatchObject({ ok: true });
    expect(text(issued.certificatePem)).toContain('URI:spiffe://example.org/granted');
  });

  it('an SVID valid past 2049 (GeneralizedTime)', async () => {
    const longRoot = await createCertificateAuthority({
      trustDomain: 'example.org',
      ttlSeconds: 40 * 365 * 86400,
    });
    const leaf = await longRoot.issue({
      spiffeId: 'spiffe://example.org/long',
      ttlSeconds: 35 * 365 * 86400,
    });
    expect(verify(leaf)).toMatchObject({ ok: true });
    expect(text(leaf.certificatePem)).toMatch(/Not After : \w+ +\d+ [\d:]+ 20[6-9]\d GMT/);
  });

  it.each<[KeyType, string]>([
    ['ec-p384', 'ecdsa-with-SHA384'],
    ['rsa-2048', 'sha256WithRSAEncryption'],
    ['rsa-3072', 'sha256WithRSAEncryption'],
    ['ed25519', 'ED25519'],
  ])('%s issuers: root, intermediate and leaves', async (keyType, algorithm) => {
    const otherRoot = await createCertificateAuthority({ trustDomain: 'example.org', keyType });
    const otherMid = await createIntermediateCertificateAuthority(otherRoot, { keyType });
    for (const ca of [otherRoot, otherMid]) {
      const leaf = await ca.issue({ spiffeId: 'spiffe://example.org/w', dnsNames: ['w.local'] });
      expect(verify(leaf, 'sslserver')).toMatchObject({ ok: true });
      expect(text(leaf.certificatePem)).toContain(`Signature Algorithm: ${algorithm}`);
      expect(text(ca.certificatePem)).toContain(`Signature Algorithm: ${algorithm}`);
    }
  });

  it('P-384, RSA and Ed25519 subject keys under a P-256 CA (RSA with keyEncipherment)', async () => {
    for (const keyType of ['ec-p384', 'rsa-2048', 'ed25519'] as const) {
      const publicKey =
        keyType === 'rsa-2048'
          ? rsaTestKey().publicKey
          : (await generateKeyPair(keyType)).publicKey;
      const leaf = await mid.issue({ spiffeId: 'spiffe://example.org/w', publicKey });
      expect(verify(leaf)).toMatchObject({ ok: true });
      if (keyType === 'rsa-2048')
        expect(text(leaf.certificatePem)).toMatch(
          /Key Usage: critical\s+Digital Signature, Key Encipherment/,
        );
    }
  });
});

describe('a CA made by openssl, loaded into @sigil/pki', () => {
  it('issues leaves that chain to it in openssl and in validateX509Svid', async () => {
    const key = join(dir, 'ossl-ca.key');
    const cert = join(dir, 'ossl-ca.crt');
    opensslSelfSigned(key, cert, [
      '-days',
      '30',
      '-subj',
      '/C=DE/O=Acme Corp/CN=Acme SPIFFE Root',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-addext',
      'subjectAltName=URI:spiffe://acme.example',
    ]);
    const ca = loadCertificateAuthority({
      certificatePem: readFileSync(cert, 'utf8'),
      privateKeyPem: readFileSync(key, 'utf8'),
      certificateSource: cert,
      keySource: key,
    });
    expect(ca.trustDomain).toBe('acme.example');
    const leaf = await ca.issue({ spiffeId: 'spiffe://acme.example/billing', ttlSeconds: 600 });
    expect(verify(leaf, 'sslserver')).toMatchObject({ ok: true });
    expect(validateX509Svid(leaf.chainPem, leaf.caPem).spiffeId).toBe(
      'spiffe://acme.example/billing',
    );
  });
});

describe('a cross-certificate', () => {
  it('lets a leaf of one root verify against another root, in openssl and in validateX509Svid', async () => {
    const runtime = await createCertificateAuthority({ trustDomain: 'example.org' });
    const other = await createCertificateAuthority({
      trustDomain: 'example.org',
      commonName: 'example.org other root',
    });
    const cross = await crossSignCertificateAuthority(other, runtime.certificate);
    const leaf = await runtime.issue({ spiffeId: 'spiffe://example.org/controller' });
    const strict = (caPem: string, untrusted?: string) =>
      openssl([
        'verify',
        '-x509_strict',
        '-purpose',
        'sslserver',
        '-CAfile',
        write(caPem),
        ...(untrusted === undefined ? [] : ['-untrusted', write(untrusted)]),
        write(leaf.certificatePem),
      ]);
    expect(strict(other.certificatePem, cross)).toMatchObject({ ok: true });
    expect(strict(runtime.certificatePem, cross)).toMatchObject({ ok: true });
    expect(strict(other.certificatePem).ok).toBe(false);
    // Same subject, key and key identifier as the cross-signed CA; pathlen 0 under the other root.
    const crossText = text(cross);
    expect(crossText).toContain(`Subject: CN = example.org root CA`);
    expect(crossText).toContain(`Issuer: CN = example.org other root`);
    expect(crossText).toMatch(/CA:TRUE, pathlen:0/);
    const keyId = (pem: string) => /Subject Key Identifier:\s*\n\s*(\S+)/.exec(text(pem))?.[1];
    expect(keyId(cross)).toBe(keyId(runtime.certificatePem));
    expect(validateX509Svid(leaf.certificatePem + cross, other.certificatePem).spiffeId).toBe(
      'spiffe://example.org/controller',
    );
  });
});
