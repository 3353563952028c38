import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, type CertificateAuthority } from '@sigil/pki';
import { createMemoryLogger, waitFor } from '@sigil/testing';
import { decideAdminTransport, readAdminTlsFiles, watchAdminTlsFiles } from './admin-tls';
import type { HttpEndpointTls } from '@sigil/runtime';

describe('decideAdminTransport', () => {
  it.each([
    ['auto', '127.0.0.1', { tls: false, exposed: false }],
    ['auto', 'localhost', { tls: false, exposed: false }],
    ['auto', '0.0.0.0', { tls: true, certificate: 'controller' }],
    ['auto', '10.0.0.5', { tls: true, certificate: 'controller' }],
    ['on', '127.0.0.1', { tls: true, certificate: 'controller' }],
    ['off', '127.0.0.1', { tls: false, exposed: false }],
    ['off', '0.0.0.0', { tls: false, exposed: true }],
  ] as const)('ADMIN_TLS=%s on %s', (mode, host, expected) => {
    expect(decideAdminTransport({ mode, host })).toEqual(expected);
  });

  it("serves the operator's files whenever both are set, even on loopback", () => {
    expect(
      decideAdminTransport({ mode: 'auto', host: '127.0.0.1', certFile: 'a', keyFile: 'b' }),
    ).toEqual({ tls: true, certificate: 'files' });
  });

  it('refuses one file without the other, and files with ADMIN_TLS=off, naming the variables', () => {
    expect(() => decideAdminTransport({ mode: 'auto', host: '0.0.0.0', certFile: 'a' })).toThrow(
      'ADMIN_TLS_CERT_FILE is set without ADMIN_TLS_KEY_FILE',
    );
    expect(() => decideAdminTransport({ mode: 'on', host: '0.0.0.0', keyFile: 'b' })).toThrow(
      'ADMIN_TLS_KEY_FILE is set without ADMIN_TLS_CERT_FILE',
    );
    expect(() =>
      decideAdminTransport({ mode: 'off', host: '0.0.0.0', certFile: 'a', keyFile: 'b' }),
    ).toThrow(/ADMIN_TLS=off but ADMIN_TLS_CERT_FILE and ADMIN_TLS_KEY_FILE are set/);
  });
});

describe('readAdminTlsFiles and watchAdminTlsFiles', () => {
  let dir: string;
  let ca: CertificateAuthority;
  const certFile = () => join(dir, 'admin.crt');
  const keyFile = () => join(dir, 'admin.key');

  async function writePair(): Promise<string> {
    const issued = await ca.issue({
      spiffeId: 'spiffe://example.org/admin',
      dnsNames: ['admin.example.org'],
      profile: 'server',
      ttlSeconds: 3600,
    });
    writeFileSync(certFile(), issued.chainPem);
    writeFileSync(keyFile(), issued.privateKeyPem!, { mode: 0o600 });
    chmodSync(keyFile(), 0o600);
    return issued.chainPem;
  }

  beforeAll(async () => {
    ca = await createCertificateAuthority({ trustDomain: 'example.org', commonName: 'Ops' });
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'admin-tls-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a matching pair', async () => {
    const chain = await writePair();
    expect(readAdminTlsFiles(certFile(), keyFile()).certificateChainPem).toBe(chain);
  });

  it('names the variable and the file for a missing certificate, a bad key mode and a foreign key', async () => {
    expect(() => readAdminTlsFiles(join(dir, 'nope.crt'), keyFile())).toThrow(
      /^ADMIN_TLS_CERT_FILE .*nope\.crt: cannot read/,
    );
    await writePair();
    chmodSync(keyFile(), 0o644);
    expect(() => readAdminTlsFiles(certFile(), keyFile())).toThrow(
      /^ADMIN_TLS_KEY_FILE .*admin\.key: /,
    );
    const other = await ca.issue({
      spiffeId: 'spiffe://example.org/x',
      profile: 'server',
      ttlSeconds: 60,
    });
    writeFileSync(keyFile(), other.privateKeyPem!, { mode: 0o600 });
    chmodSync(keyFile(), 0o600);
    expect(() => readAdminTlsFiles(certFile(), keyFile())).toThrow(
      /is not the key of the first certificate in ADMIN_TLS_CERT_FILE/,
    );
  });

  it('hands a replaced pair to onChange, and keeps the old one while the new pair is invalid', async () => {
    await writePair();
    const logs = createMemoryLogger();
    const seen: HttpEndpointTls[] = [];
    const stop = watchAdminTlsFiles({
      certFile: certFile(),
      keyFile: keyFile(),
      intervalMs: 20,
      logger: logs.logger,
      onChange: (tls) => seen.push(tls),
    });
    try {
      writeFileSync(certFile(), 'not a certificate');
      await logs.next('controller.admin_tls_reload_failed');
      expect(seen).toEqual([]);
      const chain = await writePair();
      await waitFor('the new pair', () => seen.length === 1);
      expect(seen[0]!.certificateChainPem).toBe(chain);
    } finally {
      stop();
    }
  });
});
