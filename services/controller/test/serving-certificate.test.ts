import { connect } from 'node:tls';
import type { PeerCertificate } from 'node:tls';
import { controlPlaneClient, enrollNew, StreamRecorder, startController } from './support/fixtures';

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
  it('is issued by the bootstrap CA for spiffe://<td>/controller, localhost, 127.0.0.1 and CONTROLLER_SERVER_NAMES', async () => {
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
});
