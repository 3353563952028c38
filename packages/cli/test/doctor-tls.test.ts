// `sigil doctor tls` over real files: certificates from @sigil/pki written the way cert-manager
// and `sigil certs issue` write them, one deliberately broken setup per failure.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificateAuthority } from '@sigil/pki';
import type { CertificateAuthority } from '@sigil/pki';
import { forgeCaCertificateWithSpiffeId } from '@sigil/testing';
import { runDoctor } from './doctor-support';
import { sigil, temporaryDirectory } from './support';

const DAY = 86_400;
const NOW = new Date('2026-06-01T12:00:00Z');
const at = (days: number) => new Date(NOW.getTime() + days * DAY * 1000);

describe('sigil doctor tls', () => {
  const tmp = temporaryDirectory('doctor-tls');
  let ca: CertificateAuthority;
  let otherCa: CertificateAuthority;
  let dirs = 0;

  /** A cert-manager style directory (tls.crt, tls.key 0600, ca.crt) with `overrides` written over it. */
  const secretDir = async (
    overrides: { crt?: string; key?: string; ca?: string; issuedAt?: Date; ttlDays?: number } = {},
  ): Promise<string> => {
    const dir = join(tmp.dir, `secret-${(dirs += 1)}`);
    mkdirSync(dir);
    const leaf = await ca.issue({
      spiffeId: 'spiffe://example.org/svc/api',
      dnsNames: ['api.internal', 'localhost'],
      ttlSeconds: (overrides.ttlDays ?? 30) * DAY,
      now: overrides.issuedAt ?? at(-1),
    });
    writeFileSync(join(dir, 'tls.crt'), overrides.crt ?? leaf.chainPem);
    writeFileSync(join(dir, 'tls.key'), overrides.key ?? leaf.privateKeyPem!, { mode: 0o600 });
    writeFileSync(join(dir, 'ca.crt'), overrides.ca ?? ca.certificatePem);
    return dir;
  };

  const doctor = (env: Record<string, string>, args: string[] = [], now = NOW) =>
    runDoctor(['tls', ...args], { env, now });

  beforeAll(async () => {
    ca = await createCertificateAuthority({ trustDomain: 'example.org', now: at(-400) });
    otherCa = await createCertificateAuthority({ trustDomain: 'example.org', now: at(-400) });
  });
  afterAll(() => tmp.remove());

  it('passes every check of a good GRPC_TLS_DIR, with --target among the SANs, and exits 0', async () => {
    const dir = await secretDir();
    const run = await sigil(['doctor', 'tls', '--target', 'api.internal:8443'], {
      env: { GRPC_TLS_DIR: dir },
      now: NOW,
    });
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^pass {2}tls-settings {13}server settings from GRPC_TLS_DIR, mode file, client certificates: require$/,
    );
    expect(run.stdout).toContain(
      `pass  x509-svid                GRPC_TLS_DIR (${dir}/tls.crt): a valid X509-SVID for spiffe://example.org/svc/api`,
    );
    expect(run.stdout).toContain(
      'target-name              api.internal:8443: api.internal is a SAN',
    );
    expect(run.stdout).not.toContain('fix:');
    expect(lines.at(-1)).toBe('17 checks: 17 pass, 0 warn, 0 fail');
  });

  it('fails a private key readable by others, naming the chmod that fixes it', async () => {
    const dir = await secretDir();
    chmodSync(join(dir, 'tls.key'), 0o644);
    const { run, notPassing } = await doctor({ GRPC_TLS_DIR: dir });
    expect(run.code).toBe(2);
    expect(notPassing).toEqual([
      expect.objectContaining({
        check: 'file-mode',
        status: 'fail',
        subject: `GRPC_TLS_DIR (${dir}/tls.key)`,
        fix: expect.stringMatching(new RegExp(`^chmod 600 ${dir}/tls.key`)),
      }),
    ]);
    // The human form puts the fix on the line below.
    const human = await sigil(['doctor', 'tls'], { env: { GRPC_TLS_DIR: dir }, now: NOW });
    expect(human.stdout).toMatch(/\n {31}fix: chmod 600 /);
  });

  it('warns about a certificate others can overwrite', async () => {
    const dir = await secretDir();
    chmodSync(join(dir, 'ca.crt'), 0o666);
    const { run, notPassing } = await doctor({ GRPC_TLS_DIR: dir });
    expect(run.code).toBe(1);
    expect(notPassing).toEqual([
      expect.objectContaining({
        check: 'file-mode',
        status: 'warn',
        fix: `chmod 644 ${dir}/ca.crt`,
      }),
    ]);
  });

  it('fails a file that is not there, naming the variable that points at it', async () => {
    const dir = await secretDir();
    const { run, notPassing } = await doctor({
      GRPC_SERVER_CERT_PATH: join(dir, 'missing.crt'),
      GRPC_SERVER_KEY_PATH: join(dir, 'tls.key'),
      GRPC_CLIENT_CA_CERT_PATH: join(dir, 'ca.crt'),
    });
    expect(run.code).toBe(2);
    expect(notPassing).toEqual([
      expect.objectContaining({
        check: 'file-readable',
        status: 'fail',
        subject: `GRPC_SERVER_CERT_PATH (${dir}/missing.crt)`,
        message: `${dir}/missing.crt: cannot read (no such file)`,
      }),
    ]);
  });

  it('fails malformed PEM', async () => {
    const good = await ca.issue({ spiffeId: 'spiffe://example.org/svc/api', now: at(-1) });
    const truncated = good.certificatePem.slice(0, 200);
    const dir = await secretDir({ crt: truncated });
    const { run, notPassing } = await doctor({ GRPC_TLS_DIR: dir });
    expect(run.code).toBe(2);
    expect(notPassing).toEqual([
      expect.objectContaining({
        check: 'pem-well-formed',
        status: 'fail',
        fix: expect.stringContaining('-----BEGIN CERTIFICATE-----'),
      }),
    ]);
  });

  it('fails a key that is not the certificate’s', async () => {
    const stranger = await ca.issue({ spiffeId: 'spiffe://example.org/svc/other', now: at(-1) });
    const dir = await secretDir({ key: stranger.privateKeyPem });
    const { run, notPassing } = await doctor({ GRPC_TLS_DIR: dir });
    expect(run.code).toBe(2);
    expect(notPassing).toEqual([
      expect.objectContaining({
        check: 'key-matches-certificate',
        status: 'fail',
        message: expect.stringContaining('is not the key of the certificate'),
      }),
    ]);
  });

  it('fails a certificate from another CA than the bundle', async () => {
    const dir = await secretDir({ ca: otherCa.certificatePem });
    const { run, notPassing } = await doctor({ GRPC_TLS_DIR: dir });
    expect(run.code).toBe(2);
    expect(notPassing).toEqual([
      expect.objectContaining({
        check: 'chain-to-bundle',
        status: 'fail',
        fix: `put the CA that issued the certificate in GRPC_TLS_DIR (${dir}/ca.crt), or install a certificate issued by that CA`,
      }),
    ]);
  });

  it('fails a CA:TRUE certificate with a SPIFFE ID as no X509-SVID', async () => {
    const forged = forgeCaCertificateWithSpiffeId(ca, 'spiffe://example.org/svc/api');
    const dir = await secretDir({ crt: forged.chainPem, key: forged.privateKeyPem });
    // openssl forges it on the real clock.
    const { run, notPassing } = await doctor({ GRPC_TLS_DIR: dir }, [], new Date());
    expect(run.code).toBe(2);
    expect(notPassing).toEqual([
      expect.objectContaining({
        check: 'x509-svid',
        status: 'fail',
        message: expect.stringContaining('is a CA certificate (basicConstraints cA=true)'),
        fix: expect.stringContaining('CA:FALSE'),
      }),
    ]);
  });

  it('warns about a certificate without a SPIFFE ID (not an X509-SVID) and exits 1', async () => {
    const classic = await ca.issue({
      dnsNames: ['api.internal'],
      now: at(-1),
      ttlSeconds: 30 * DAY,
    });
    const dir = await secretDir({ crt: classic.chainPem, key: classic.privateKeyPem });
    const { run, notPassing, of } = await doctor({ GRPC_TLS_DIR: dir });
    expect(run.code).toBe(1);
    expect(notPassing).toEqual([
      expect.objectContaining({
        check: 'x509-svid',
        status: 'warn',
        message: expect.stringContaining('not an X509-SVID'),
      }),
    ]);
    expect(of('chain-to-bundle')).toEqual([expect.objectContaining({ status: 'pass' })]);
  });

  it('fails an expired certificate and warns about one inside the warning window', async () => {
    const expired = await secretDir({ issuedAt: at(-40), ttlDays: 30 });
    const failed = await doctor({ GRPC_TLS_DIR: expired });
    expect(failed.run.code).toBe(2);
    expect(failed.notPassing).toEqual([
      expect.objectContaining({
        check: 'certificate-expiry',
        status: 'fail',
        message:
          'certificate spiffe://example.org/svc/api expired at 2026-05-22T12:00:00.000Z (10d ago)',
        fix: expect.stringMatching(/now$/),
      }),
    ]);
    // 90 days issued 80 days ago: 10 days left, inside the default 30-day window (SIGIL_TLS_WARN_DAYS).
    const expiring = await secretDir({ issuedAt: at(-80), ttlDays: 90 });
    const warned = await doctor({ GRPC_TLS_DIR: expiring });
    expect(warned.run.code).toBe(1);
    expect(warned.notPassing).toEqual([
      expect.objectContaining({
        check: 'certificate-expiry',
        status: 'warn',
        message: expect.stringContaining('(in 10d, within the 30-day warning window)'),
        fix: expect.stringContaining('before 2026-06-11T12:00:00.000Z'),
      }),
    ]);
    // The service's own window counts: 8 of 30 days left is in the last third and the default
    // 30-day window (warn), but not yet in a 7-day window (SIGIL_TLS_CERT_WARN_DAYS), the later moment.
    const halfway = await secretDir({ issuedAt: at(-22), ttlDays: 30 });
    expect((await doctor({ GRPC_TLS_DIR: halfway })).run.code).toBe(1);
    const relaxed = await doctor({ GRPC_TLS_DIR: halfway, SIGIL_TLS_CERT_WARN_DAYS: '7' });
    expect(relaxed.notPassing).toEqual([]);
  });

  it('fails a --target whose host is not among the SANs', async () => {
    const dir = await secretDir();
    const { run, notPassing } = await doctor({ GRPC_TLS_DIR: dir }, ['--target', '10.0.0.7:8443']);
    expect(run.code).toBe(2);
    expect(notPassing).toEqual([
      {
        check: 'target-name',
        status: 'fail',
        subject: '10.0.0.7:8443',
        message:
          "10.0.0.7 is not among the certificate's names (DNS:api.internal, DNS:localhost): clients dialling 10.0.0.7:8443 refuse it",
        fix: "reissue the certificate with --ip 10.0.0.7, or dial a name it has (or set the client's server name: GRPC_SERVER_DOMAIN)",
      },
    ]);
  });

  it('fails settings that grpc-tls refuses, with its message', async () => {
    const { run, report } = await doctor({});
    expect(run.code).toBe(2);
    expect(report.checks).toEqual([
      expect.objectContaining({
        check: 'tls-settings',
        status: 'fail',
        message: expect.stringContaining('GRPC_SERVER_CERT_PATH'),
      }),
    ]);
    const human = await sigil(['doctor', 'tls'], { env: {}, now: NOW });
    expect(human.stdout.trim().split('\n').at(-1)).toBe('1 check: 0 pass, 0 warn, 1 fail');
  });

  it('reads the prefixed conventions of a client (SIGIL_TLS_PREFIX) exactly as grpc-tls does', async () => {
    const dir = await secretDir();
    const { run, report } = await doctor(
      {
        SIGIL_TLS_PREFIX: 'MIGLET_CONTROLLER_',
        MIGLET_CONTROLLER_TLS_CA_CERT_PATH: join(dir, 'ca.crt'),
        MIGLET_CONTROLLER_TLS_CLIENT_CERT_PATH: join(dir, 'tls.crt'),
        MIGLET_CONTROLLER_TLS_CLIENT_KEY_PATH: join(dir, 'tls.key'),
      },
      ['--client'],
    );
    expect(run.code).toBe(0);
    expect(report.checks[0]).toEqual(
      expect.objectContaining({
        message: 'client settings from the MIGLET_CONTROLLER_TLS_* variables, mode file',
      }),
    );
    expect(report.checks).toContainEqual(
      expect.objectContaining({
        check: 'key-matches-certificate',
        subject: `MIGLET_CONTROLLER_TLS_CLIENT_KEY_PATH (${dir}/tls.key)`,
      }),
    );
  });

  it("warns about metald's TLS_MODE=disabled (plaintext asked for by name)", async () => {
    const { run, notPassing } = await doctor({
      SIGIL_TLS_PREFIX: 'UNKEY_METALD_',
      UNKEY_METALD_TLS_MODE: 'disabled',
    });
    expect(run.code).toBe(1);
    expect(notPassing.map((c) => [c.check, c.status])).toEqual([
      ['tls-settings', 'warn'],
      ['tls-mode', 'warn'],
    ]);
    expect(notPassing[0]!.message).toContain('TLS is DISABLED (UNKEY_METALD_TLS_MODE=disabled)');
  });

  it('refuses a --target that is not HOST:PORT with a usage error', async () => {
    const run = await sigil(['doctor', 'tls', '--target', 'api.internal'], { env: {} });
    expect(run.code).toBe(64);
    expect(run.stderr).toContain("--target: 'api.internal' is not HOST:PORT");
  });
});
