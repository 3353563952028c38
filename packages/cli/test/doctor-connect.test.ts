// `sigil doctor connect` against real servers on loopback: a grpc-js mTLS server with the standard
// grpc.health.v1 service (credentials from @sigil/grpc-tls), a plain TLS server without ALPN, a
// raw HTTP/2 gRPC responder whose clock is ten minutes ahead, and a closed port.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createSecureServer } from 'node:http2';
import type { Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { createServerCredentials, loadServerTlsConfig } from '@sigil/grpc-tls';
import type { ServerCredentialsHandle } from '@sigil/grpc-tls';
import { createCertificateAuthority } from '@sigil/pki';
import type { CertificateAuthority } from '@sigil/pki';
import { createMemoryLogger } from '@sigil/testing';
import { closedPort } from './admin-support';
import { startTlsServer } from './certs-tls-server';
import type { LoopbackTlsServer } from './certs-tls-server';
import { runDoctor } from './doctor-support';
import { sigil, temporaryDirectory } from './support';

const tmp = temporaryDirectory('doctor-connect');
const file = (dir: string, name: string) => join(tmp.dir, dir, name);

async function writeIdentity(
  ca: CertificateAuthority,
  dir: string,
  spiffeId: string,
  now?: Date,
): Promise<void> {
  const issued = await ca.issue({
    spiffeId,
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    ...(now === undefined ? {} : { now }),
  });
  mkdirSync(join(tmp.dir, dir));
  writeFileSync(file(dir, 'tls.crt'), issued.chainPem);
  writeFileSync(file(dir, 'tls.key'), issued.privateKeyPem!, { mode: 0o600 });
  writeFileSync(file(dir, 'ca.crt'), ca.certificatePem);
}

const doctor = async (args: string[], env: Record<string, string> = {}) => {
  const run = await runDoctor(['connect', ...args, '--timeout', '5s'], { env });
  return { ...run, of: (id: string) => run.of(id)[0] };
};

describe('sigil doctor connect', () => {
  let ca: CertificateAuthority;
  let server: grpc.Server;
  let credentials: ServerCredentialsHandle;
  let health: HealthImplementation;
  let address: string;
  /** `--ca` from one directory, `--cert` and `--key` from another. */
  const material = (caDir: string, identityDir: string) => [
    '--ca',
    file(caDir, 'ca.crt'),
    '--cert',
    file(identityDir, 'tls.crt'),
    '--key',
    file(identityDir, 'tls.key'),
  ];
  const mtls = () => material('client', 'client');

  beforeAll(async () => {
    ca = await createCertificateAuthority({ trustDomain: 'example.org' });
    const stranger = await createCertificateAuthority({ trustDomain: 'example.org' });
    await writeIdentity(ca, 'server', 'spiffe://example.org/svc/api');
    await writeIdentity(ca, 'client', 'spiffe://example.org/svc/client');
    await writeIdentity(stranger, 'stranger', 'spiffe://example.org/svc/client');
    credentials = await createServerCredentials(
      loadServerTlsConfig({
        env: { GRPC_TLS_DIR: join(tmp.dir, 'server') },
        watch: false,
        pollIntervalMs: 0,
        reloadOnSighup: false,
      }),
      { logger: createMemoryLogger().logger },
    );
    server = new grpc.Server();
    health = new HealthImplementation({ '': 'SERVING' });
    health.addToServer(server);
    const port = await new Promise<number>((done, fail) =>
      server.bindAsync('127.0.0.1:0', credentials.credentials, (err, bound) =>
        err ? fail(err) : done(bound),
      ),
    );
    address = `127.0.0.1:${port}`;
  });
  afterAll(() => {
    server.forceShutdown();
    credentials.close();
    tmp.remove();
  });

  it('passes every check against a healthy mTLS gRPC server, and exits 0', async () => {
    const { run, report, of } = await doctor([address, ...mtls()]);
    expect(report.checks.map((c) => [c.check, c.status])).toEqual([
      ['handshake', 'pass'],
      ['server-certificate', 'pass'],
      ['certificate-expiry', 'pass'],
      ['server-verified', 'pass'],
      ['client-certificate-accepted', 'pass'],
      ['tls-version', 'pass'],
      ['alpn-h2', 'pass'],
      ['clock-skew', 'pass'],
      ['grpc-health', 'pass'],
    ]);
    expect(run.code).toBe(0);
    expect(of('server-certificate')!.message).toMatch(
      /^spiffe:\/\/example\.org\/svc\/api, issued by CN=example\.org root CA, valid until .*, 2 certificate\(s\) sent$/,
    );
    expect(of('tls-version')!.message).toBe('TLSv1.3');
    expect(of('grpc-health')!.message).toBe('SERVING');
    // Measured against the HTTP/2 `date` header of the health answer.
    expect(of('clock-skew')!.message).toMatch(
      /^this host's clock is \d+ s (ahead of|behind) the server's \(date header /,
    );
    const human = await sigil(['doctor', 'connect', address, ...mtls()], { env: {} });
    expect(human.stdout).toContain(`pass  alpn-h2                      ${address}: h2`);
  });

  it("takes the client's settings from the environment, with GRPC_SERVER_DOMAIN as the name", async () => {
    const { run, of } = await doctor([address], {
      GRPC_CLIENT_CERT_PATH: file('client', 'tls.crt'),
      GRPC_CLIENT_KEY_PATH: file('client', 'tls.key'),
      GRPC_SERVER_CA_CERT_PATH: file('client', 'ca.crt'),
      GRPC_SERVER_DOMAIN: 'localhost',
    });
    expect(run.code).toBe(0);
    expect(of('server-name')).toEqual(
      expect.objectContaining({ status: 'pass', message: 'the certificate covers localhost' }),
    );
  });

  it('fails a server whose chain our CA bundle does not verify', async () => {
    const { run, notPassing } = await doctor([address, ...material('stranger', 'client')]);
    expect(run.code).toBe(2);
    expect(notPassing).toEqual([
      expect.objectContaining({
        check: 'server-verified',
        status: 'fail',
        message: expect.stringContaining('does not verify against our CA bundle'),
      }),
    ]);
  });

  it('fails when the server refuses our certificate (issued by a CA it does not trust)', async () => {
    const { run, notPassing } = await doctor([address, ...material('client', 'stranger')]);
    expect(run.code).toBe(2);
    expect(notPassing).toEqual([
      expect.objectContaining({
        check: 'client-certificate-accepted',
        status: 'fail',
        message: expect.stringContaining('the server refused our certificate'),
        fix: expect.stringContaining("issued by a CA in the server's client CA bundle"),
      }),
    ]);
  });

  it('fails without a client certificate when the server requires one, naming the flags', async () => {
    const { run, notPassing } = await doctor([address, '--ca', file('client', 'ca.crt')]);
    expect(run.code).toBe(2);
    expect(notPassing).toEqual([
      expect.objectContaining({
        check: 'client-certificate-accepted',
        status: 'fail',
        message: expect.stringContaining('the server requires a client certificate'),
        fix: 'pass --cert and --key',
      }),
    ]);
  });

  it('fails a name the server certificate does not cover', async () => {
    const { run, notPassing } = await doctor([address, ...mtls(), '--servername', 'api.example']);
    expect(run.code).toBe(2);
    expect(notPassing).toEqual([expect.objectContaining({ check: 'server-name', status: 'fail' })]);
  });

  it('fails a server whose health is NOT_SERVING', async () => {
    health.setStatus('', 'NOT_SERVING');
    try {
      const { run, notPassing } = await doctor([address, ...mtls()]);
      expect(run.code).toBe(2);
      expect(notPassing).toEqual([
        expect.objectContaining({
          check: 'grpc-health',
          status: 'fail',
          message: 'the server reports NOT_SERVING',
        }),
      ]);
    } finally {
      health.setStatus('', 'SERVING');
    }
  });

  describe('against other servers', () => {
    let plain: LoopbackTlsServer;
    let skewed: Http2SecureServer;
    let skewedAddress: string;

    beforeAll(async () => {
      plain = await startTlsServer({
        cert: file('server', 'tls.crt'),
        key: file('server', 'tls.key'),
      });
      // A gRPC answer (SERVING) from a host whose clock is ten minutes ahead of ours.
      skewed = createSecureServer({
        cert: readFileSync(file('server', 'tls.crt')),
        key: readFileSync(file('server', 'tls.key')),
      });
      skewed.on('stream', (stream) => {
        stream.respond(
          {
            ':status': 200,
            'content-type': 'application/grpc',
            date: new Date(Date.now() + 10 * 60_000).toUTCString(),
          },
          { waitForTrailers: true },
        );
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01]));
      });
      await new Promise<void>((done) => skewed.listen(0, '127.0.0.1', done));
      skewedAddress = `127.0.0.1:${(skewed.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await plain.close();
      await new Promise<void>((done) => skewed.close(() => done()));
    });

    it('fails a TLS server that does not negotiate ALPN h2', async () => {
      const { run, notPassing, of } = await doctor([
        plain.address,
        '--ca',
        file('client', 'ca.crt'),
      ]);
      expect(run.code).toBe(2);
      expect(notPassing).toEqual([
        expect.objectContaining({
          check: 'alpn-h2',
          status: 'fail',
          message: 'the server negotiated no HTTP/2 (ALPN: none): gRPC clients refuse it',
        }),
      ]);
      // No gRPC answer: the skew has only the certificate's notBefore as a lower bound.
      expect(of('clock-skew')!.message).toContain('lower bound only');
    });

    it("fails a clock ten minutes off the server's date header", async () => {
      const { run, notPassing, of } = await doctor([
        skewedAddress,
        '--ca',
        file('client', 'ca.crt'),
      ]);
      expect(run.code).toBe(2);
      expect(notPassing).toEqual([
        expect.objectContaining({
          check: 'clock-skew',
          status: 'fail',
          message: expect.stringMatching(
            /^this host's clock is 10 min behind the server's \(date header .*\): beyond the 5 min certificates are back-dated by$/,
          ),
          fix: expect.stringContaining('synchronise the clocks'),
        }),
      ]);
      expect(of('grpc-health')!.message).toBe('SERVING');
    });

    it('fails an address nothing listens on', async () => {
      const port = await closedPort();
      const { run, report } = await doctor([`127.0.0.1:${port}`, ...mtls()]);
      expect(run.code).toBe(2);
      expect(report.checks).toEqual([
        expect.objectContaining({
          check: 'handshake',
          status: 'fail',
          message: 'connection refused (is the server listening on that port?)',
        }),
      ]);
    });
  });
});
