import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificateSigningRequest, generateKeyPair } from '@sigil/pki';
import {
  certificateText,
  fileMode,
  openssl,
  opensslVerify,
  sigil,
  temporaryDirectory,
} from '../../test/support';
import { signCsrFile } from './csr-sign';

const NOW = new Date('2025-06-01T12:00:00Z');

describe('sigil csr sign', () => {
  const tmp = temporaryDirectory('csr-sign');
  const file = (name: string) => join(tmp.dir, name);
  const ca = file('ca');
  const sign = (args: string[]) => sigil(['csr', 'sign', '--ca', ca, ...args], { now: NOW });

  beforeAll(async () => {
    expect(
      (
        await sigil(['ca', 'init', '--out', ca, '--trust-domain', 'example.org'], {
          now: new Date('2025-01-01T00:00:00Z'),
        })
      ).code,
    ).toBe(0);
    openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file('ec.key'));
    openssl(
      'req',
      '-new',
      '-key',
      file('ec.key'),
      '-subj',
      '/CN=evil',
      '-addext',
      'subjectAltName=DNS:evil.example.com',
      '-out',
      file('ec.csr'),
    );
    openssl('genrsa', '-out', file('weak.key'), '1024');
    openssl('req', '-new', '-key', file('weak.key'), '-subj', '/CN=weak', '-out', file('weak.csr'));
  });
  afterAll(() => tmp.remove());

  it('prints a chain openssl verifies, certifying the CSR key with the identity the CA chose', async () => {
    const run = await sign([
      '--csr',
      file('ec.csr'),
      '--spiffe-id',
      'spiffe://example.org/svc/api',
      '--ttl',
      '2h',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
    expect(run.stderr).toContain(`Signed ${file('ec.csr')} for spiffe://example.org/svc/api`);
    expect(run.stderr).toContain('expires      2025-06-01T14:00:00.000Z');
    writeFileSync(file('signed.crt'), run.stdout);
    expect(opensslVerify(join(ca, 'ca.crt'), file('signed.crt'), { at: NOW })).toContain(': OK');
    const text = certificateText(file('signed.crt'));
    expect(text).toMatch(
      /Subject Alternative Name: critical\s+URI:spiffe:\/\/example\.org\/svc\/api\n/,
    );
    expect(text).not.toContain('evil');
    expect(text).toMatch(
      /Extended Key Usage:\s+TLS Web Server Authentication, TLS Web Client Authentication/,
    );
    expect(text).toContain('Not After : Jun  1 14:00:00 2025 GMT');
    expect(openssl('x509', '-in', file('signed.crt'), '-noout', '-pubkey')).toBe(
      openssl('req', '-in', file('ec.csr'), '-noout', '-pubkey'),
    );
  });

  it('writes the chain to --out, with extra SANs and usage chosen by the CA', async () => {
    const out = file('out/tls.crt');
    const run = await sign([
      '--csr',
      file('ec.csr'),
      '--spiffe-id',
      'spiffe://example.org/svc/api',
      '--dns',
      'api.internal',
      '--ip',
      '10.1.2.3',
      '--out',
      out,
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`  wrote        ${out}`);
    expect(run.stderr).toBe('');
    expect(fileMode(out)).toBe(0o644);
    expect(certificateText(out)).toContain(
      'URI:spiffe://example.org/svc/api, DNS:api.internal, IP Address:10.1.2.3',
    );
    expect(opensslVerify(join(ca, 'ca.crt'), out, { at: NOW })).toContain(': OK');
  });

  it('signs a CSR made by @sigil/pki and reports everything with --json', async () => {
    const key = await generateKeyPair('rsa-2048');
    writeFileSync(
      file('rsa.csr'),
      await createCertificateSigningRequest(key, {
        spiffeId: 'spiffe://example.org/svc/asked-for',
      }),
    );
    const run = await sign([
      '--csr',
      file('rsa.csr'),
      '--spiffe-id',
      'spiffe://example.org/svc/granted',
      '--server',
      '--json',
    ]);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({
      spiffeId: 'spiffe://example.org/svc/granted',
      profile: 'server',
      notAfter: '2025-06-02T12:00:00.000Z',
      caPem: readFileSync(join(ca, 'ca.crt'), 'utf8'),
    });
    expect(result).not.toHaveProperty('file');
    writeFileSync(file('rsa.crt'), result.chainPem);
    expect(certificateText(file('rsa.crt'))).not.toContain('asked-for');
    expect(
      opensslVerify(join(ca, 'ca.crt'), file('rsa.crt'), { at: NOW, purpose: 'sslserver' }),
    ).toContain(': OK');
  });

  it('refuses a weak key, a bad self-signature and a file that is not a CSR, naming the file', async () => {
    const weak = await sign([
      '--csr',
      file('weak.csr'),
      '--spiffe-id',
      'spiffe://example.org/svc/api',
    ]);
    expect(weak.code).toBe(2);
    expect(weak.stderr).toMatch(
      new RegExp(
        `^error: --csr ${file('weak.csr')}: refused: .*RSA-1024.* \\(ERR_CSR_INVALID\\)\\n$`,
      ),
    );

    const der = Buffer.from(
      openssl('req', '-in', file('ec.csr'), '-outform', 'PEM').replace(/-----[A-Z ]+-----|\s/g, ''),
      'base64',
    );
    der[der.length - 1]! ^= 0x01; // last byte of the signature
    writeFileSync(
      file('tampered.csr'),
      `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE REQUEST-----\n`,
    );
    const tampered = await sign([
      '--csr',
      file('tampered.csr'),
      '--spiffe-id',
      'spiffe://example.org/svc/api',
      '--json',
    ]);
    expect(tampered.code).toBe(2);
    expect(JSON.parse(tampered.stdout).error).toMatchObject({
      code: 'ERR_CSR_INVALID',
      message: expect.stringContaining(`--csr ${file('tampered.csr')}: `),
    });

    const notCsr = await sign([
      '--csr',
      file('ec.key'),
      '--spiffe-id',
      'spiffe://example.org/svc/api',
    ]);
    expect(notCsr.code).toBe(2);
    expect(notCsr.stderr).toContain(
      `error: --csr ${file('ec.key')}: no PEM certificate request found`,
    );

    const missing = await sign([
      '--csr',
      file('missing.csr'),
      '--spiffe-id',
      'spiffe://example.org/svc/api',
    ]);
    expect(missing).toMatchObject({
      code: 2,
      stderr: `error: --csr ${file('missing.csr')}: cannot read (no such file) (ERR_FILE_UNREADABLE)\n`,
    });
  });

  it('requires a SPIFFE ID inside the trust domain', async () => {
    const none = await sign(['--csr', file('ec.csr')]);
    expect(none).toMatchObject({
      code: 64,
      stderr: "error: required option '--spiffe-id <id>' not specified (ERR_USAGE)\n",
    });
    const outside = await sign([
      '--csr',
      file('ec.csr'),
      '--spiffe-id',
      'spiffe://other.org/svc/api',
    ]);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain(
      "outside this CA's trust domain example.org (ERR_SPIFFE_ID_INVALID)",
    );
  });

  it('works as a function', async () => {
    const result = await signCsrFile({
      ca,
      csr: file('ec.csr'),
      spiffeId: 'spiffe://example.org/svc/fn',
      now: NOW,
      ttlSeconds: 60,
    });
    expect(result).toMatchObject({
      spiffeId: 'spiffe://example.org/svc/fn',
      profile: 'svid',
      notAfter: new Date('2025-06-01T12:01:00Z'),
    });
  });
});
