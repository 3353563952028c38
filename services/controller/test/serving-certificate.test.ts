import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import type { PeerCertificate } from 'node:tls';
import { waitFor } from '@sigil/testing';
import {
  admin,
  controlPlaneClient,
  enrollNew,
  StreamRecorder,
  startController,
} from './support/fixtures';

/** Runs the real openssl: whether it exited 0, and what it printed. */
function openssl(args: string[], input = ''): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync('openssl', args, { input, stdio: 'pipe' }).toString() };
  } catch (err) {
    const e = err as { stdout: Buffer; stderr: Buffer };
    return { ok: false, out: e.stdout.toString() + e.stderr.toString() };
  }
}

/**
 * The certificates the controller sends in its handshake, as openssl s_client sees them (leaf
 * first). Asynchronous: the controller answers from this process.
 */
function sentChain(address: string): Promise<string[]> {
  return new Promise((resolve) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', address, '-alpn', 'h2', '-showcerts'],
      { timeout: 20_000 },
      (_err, stdout) =>
        resolve(
          stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? [],
        ),
    );
    child.stdin?.end();
  });
}

/** Handshakes with the controller as an agent would (pinning the bootstrap CA) and returns its certificate. */
function servedCertificate(address: string, caPem: string): Promise<PeerCertificate> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host, port: Number(port), ca: caPem, servername: 'localhost', ALPNProtocols: ['h2'] },
      () => {
        const cert = socket.getPeerCertificate();
        socket.end();
        resolve(cert);
      },
    );
    socket.on('error', reject);
  });
}

describe("the controller's TLS certificate", () => {
  it('is issued (verifiable with the bootstrap CA) for spiffe://<td>/controller, localhost, 127.0.0.1 and CONTROLLER_SERVER_NAMES', async () => {
    const fx = await startController({
      serverNames: ['controller.example.internal', '10.20.30.40'],
      controllerCertTtlSeconds: 3600,
    });
    try {
      const cert = await servedCertificate(fx.controller.grpcAddress, fx.controller.bootstrapCaPem);
      expect(cert.subjectaltname!.split(', ').sort()).toEqual(
        [
          'DNS:controller.example.internal',
          'DNS:localhost',
          'IP Address:10.20.30.40',
          'IP Address:127.0.0.1',
          'URI:spiffe://test.sigil/controller',
        ].sort(),
      );
      expect(new Date(cert.valid_to).getTime() - Date.now()).toBeLessThanOrEqual(3_600_000);
    } finally {
      await fx.cleanup();
    }
  });

  it('is renewed in place: new handshakes get the new certificate, an open control stream keeps flowing', async () => {
    const fx = await startController();
    const connector = await enrollNew(fx.controller, 'connector', 'connector-1');
    const client = controlPlaneClient(
      fx.controller.grpcAddress,
      fx.controller.bootstrapCaPem,
      connector.identity,
    );
    try {
      const stream = new StreamRecorder(client.connect());
      await stream.next('approvedTunnelers');
      const before = await servedCertificate(
        fx.controller.grpcAddress,
        fx.controller.bootstrapCaPem,
      );
      await fx.controller.renewServingCertificate();
      const after = await servedCertificate(
        fx.controller.grpcAddress,
        fx.controller.bootstrapCaPem,
      );
      expect(after.serialNumber).not.toBe(before.serialNumber);
      expect(fx.lines.some((l) => l.includes('"event":"controller.certificate_renewed"'))).toBe(
        true,
      );
      stream.call.write({
        body: {
          $case: 'heartbeat',
          heartbeat: {
            sequence: 1,
            version: '',
            privateIp: '',
            sentAt: 0,
            certificateNotAfter: 0,
            bundleVersion: 0,
          },
        },
      });
      expect((await stream.next('heartbeatAck')).body.heartbeatAck.sequence).toBe(1);
      stream.call.end();
      await stream.until(() => stream.status !== undefined, 'stream end');
    } finally {
      client.close();
      await fx.cleanup();
    }
  });

  describe('chains to the runtime CA and, through a cross-certificate, to the bootstrap CA', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'sigil-serving-chain-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const file = (name: string, content: string): string => {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    };
    /** openssl verify of the served leaf against `caFile`, with `untrusted` certificates. */
    const verify = (caFile: string, leaf: string, untrusted?: string) =>
      openssl([
        'verify',
        '-x509_strict',
        '-purpose',
        'sslserver',
        '-CAfile',
        caFile,
        ...(untrusted === undefined ? [] : ['-untrusted', file('untrusted.pem', untrusted)]),
        file('leaf.pem', leaf),
      ]);

    it('verifies with openssl against the bootstrap CA alone and against the runtime bundle alone, also after a runtime CA rotation', async () => {
      const fx = await startController({ controllerCertTtlSeconds: 3600 });
      try {
        const bootstrapFile = file('bootstrap.pem', fx.controller.bootstrapCaPem);
        const check = async (bundlePem: string): Promise<string[]> => {
          const chain = await sentChain(fx.controller.grpcAddress);
          expect(chain).toHaveLength(2);
          const [leaf, cross] = chain as [string, string];
          expect(verify(bootstrapFile, leaf, cross)).toEqual({
            ok: true,
            out: expect.stringContaining('OK'),
          });
          expect(verify(file('bundle.pem', bundlePem), leaf)).toEqual({
            ok: true,
            out: expect.stringContaining('OK'),
          });
          // Without the cross-certificate the bootstrap CA alone is not the leaf's issuer.
          expect(verify(bootstrapFile, leaf).ok).toBe(false);
          return chain;
        };
        const firstBundle = fx.controller.trustBundlePem;
        const before = await check(firstBundle);

        // A new runtime CA becomes current: the serving certificate is re-issued under it.
        expect(
          (await admin(fx.controller, '/api/admin/ca/prepare', { method: 'POST' })).status,
        ).toBe(200);
        expect(
          (await admin(fx.controller, '/api/admin/ca/activate', { method: 'POST' })).status,
        ).toBe(200);
        await waitFor('the serving certificate under the new runtime CA', async () =>
          (await sentChain(fx.controller.grpcAddress))[1] !== before[1] ? true : undefined,
        );
        const [leaf] = (await check(fx.controller.trustBundlePem)) as [string];
        expect(verify(file('first-bundle.pem', firstBundle), leaf).ok).toBe(false);
      } finally {
        await fx.cleanup();
      }
    }, 60_000);
  });
});
