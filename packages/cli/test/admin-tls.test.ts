// The admin API over TLS (ADMIN_TLS), as operators reach it: the built `sigil` executable with
// SIGIL_ADMIN_CA, and openssl s_client as an independent TLS client, against a real controller.
import { execFile } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { ADMIN_TOKEN, startAdminFixture, type AdminFixture } from './admin-support';
import { OPENSSL, newP256Key, openssl, sigilProcess, temporaryDirectory } from './support';

jest.setTimeout(90_000);

/** The leaf a TLS server at `url` presents (no verification: the tests compare it). */
function servedLeaf(url: string): Promise<PeerCertificate> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const options = {
      host: hostname,
      port: Number(port),
      rejectUnauthorized: false,
      ALPNProtocols: ['h2', 'http/1.1'],
    };
    const socket = connect(options, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.on('error', reject);
  });
}

/**
 * `openssl s_client` verifying the server against `caFile` and the IP in the URL. Asynchronous:
 * the server runs in this process, so a synchronous child would block its handshake.
 */
function sClientVerify(url: string, caFile: string): Promise<string> {
  const { hostname, port } = new URL(url);
  const args = ['s_client', '-connect', `${hostname}:${port}`, '-CAfile', caFile];
  args.push('-verify_ip', hostname, '-verify_return_error', '-brief');
  return new Promise((resolve, reject) => {
    const child = execFile(OPENSSL, args, { timeout: 20_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`openssl s_client: ${stderr}`)) : resolve(`${stdout}${stderr}`),
    );
    child.stdin?.end();
  });
}

describe('sigil admin against ADMIN_TLS=on', () => {
  let fixture: AdminFixture;
  const tmp = temporaryDirectory('cli-admin-tls');
  const run = (env: Record<string, string>, format: string[] = ['--json']) =>
    sigilProcess(['admin', 'connectors', 'ls', ...format], tmp.dir, env);

  beforeAll(async () => {
    fixture = await startAdminFixture({ adminTls: 'on' });
  });
  afterAll(async () => {
    await fixture.close();
    tmp.remove();
  });

  it('serves HTTPS on loopback, verified by openssl against the bootstrap CA', async () => {
    expect(fixture.controller.adminUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const out = await sClientVerify(
      fixture.controller.adminUrl,
      fixture.controller.bootstrapCaPath,
    );
    expect(out).toMatch(/Verification: OK/);
  });

  it('answers sigil admin with SIGIL_ADMIN_CA set to the bootstrap CA', async () => {
    const listed = await run({
      ...fixture.env,
      SIGIL_ADMIN_CA: fixture.controller.bootstrapCaPath,
    });
    expect(listed).toEqual({ code: 0, stdout: '[]\n', stderr: '' });
  });

  it('exits 3 naming SIGIL_ADMIN_CA when the certificate is not trusted', async () => {
    const untrusted = await run(fixture.env, []);
    expect(untrusted.code).toBe(3);
    expect(untrusted.stderr).toMatch(
      /the admin API's certificate is not trusted \(\w+\): set SIGIL_ADMIN_CA to the controller's bootstrap CA/,
    );
    const other = join(tmp.dir, 'other-ca.crt');
    openssl(
      'req',
      '-x509',
      ...newP256Key(join(tmp.dir, 'other-ca.key')),
      '-out',
      other,
      '-subj',
      '/CN=other',
      '-days',
      '1',
    );
    const wrong = await run({ ...fixture.env, SIGIL_ADMIN_CA: other }, []);
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain(`does not chain to SIGIL_ADMIN_CA ${other}`);
  });

  it('exits 3 with a hint to use https:// when the URL says http://', async () => {
    const plain = await run(
      {
        SIGIL_ADMIN_URL: fixture.controller.adminUrl.replace('https://', 'http://'),
        SIGIL_ADMIN_TOKEN: ADMIN_TOKEN,
      },
      [],
    );
    expect(plain.code).toBe(3);
    expect(plain.stderr).toContain('use an https:// URL');
  });

  it('serves the renewed controller certificate from the next handshake on', async () => {
    const before = await servedLeaf(fixture.controller.adminUrl);
    await fixture.controller.renewServingCertificate();
    const after = await servedLeaf(fixture.controller.adminUrl);
    expect(after.serialNumber).not.toBe(before.serialNumber);
    // The same certificate as the gRPC port's, which the renewal replaced there too.
    const grpc = await servedLeaf(`https://${fixture.controller.grpcAddress}`);
    expect(after.fingerprint256).toBe(grpc.fingerprint256);
  });
});

describe('sigil admin against ADMIN_TLS_CERT_FILE', () => {
  const tmp = temporaryDirectory('cli-admin-tls-files');
  let fixture: AdminFixture;

  beforeAll(async () => {
    const file = (name: string) => join(tmp.dir, name);
    openssl(
      'req',
      '-x509',
      ...newP256Key(file('ops-ca.key')),
      '-out',
      file('ops-ca.crt'),
      '-subj',
      '/CN=Ops Root',
      '-days',
      '1',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
    );
    openssl(
      'req',
      '-new',
      ...newP256Key(file('admin.key')),
      '-out',
      file('admin.csr'),
      '-subj',
      '/CN=sigil admin',
    );
    openssl(
      'x509',
      '-req',
      '-in',
      file('admin.csr'),
      '-CA',
      file('ops-ca.crt'),
      '-CAkey',
      file('ops-ca.key'),
      '-CAcreateserial',
      '-days',
      '1',
      '-out',
      file('admin.crt'),
      '-extfile',
      writeExt(file('admin.ext')),
    );
    chmodSync(file('admin.key'), 0o600);
    fixture = await startAdminFixture({
      adminTlsCertFile: file('admin.crt'),
      adminTlsKeyFile: file('admin.key'),
    });
  });
  afterAll(async () => {
    await fixture.close();
    tmp.remove();
  });

  it("serves the operator's certificate (files imply TLS, even on loopback)", async () => {
    expect(fixture.controller.adminUrl).toMatch(/^https:/);
    const leaf = await servedLeaf(fixture.controller.adminUrl);
    expect(leaf.subject.CN).toBe('sigil admin');
    const listed = await sigilProcess(['admin', 'tunnelers', 'ls', '--json'], tmp.dir, {
      ...fixture.env,
      SIGIL_ADMIN_CA: join(tmp.dir, 'ops-ca.crt'),
    });
    expect(listed).toEqual({ code: 0, stdout: '[]\n', stderr: '' });
  });

  function writeExt(path: string): string {
    writeFileSync(
      path,
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n',
    );
    return path;
  }
});
