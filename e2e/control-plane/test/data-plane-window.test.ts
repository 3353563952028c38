// The connector's HTTP/2 receive windows, read off the wire: a raw node:http2 client completes a
// real mutual-TLS handshake with the connector (a tunneler's certificate) and reads the SETTINGS
// and connection WINDOW_UPDATE the connector sends. grpc-js applies `grpc-node.flow_control_window`
// on a server only through patches/@grpc__grpc-js@1.14.7.patch; without it both stay at 64 KiB.
import { connect, type ClientHttp2Session } from 'node:http2';
import { resolveAgentConfig, startAgent } from '@sigil/agent';
import { waitFor } from '@sigil/testing';
import { startTunnelerPart } from '@sigil/tunneler';
import { startControlPlane, type ControlPlaneFixture } from './support/control-plane';

jest.setTimeout(60_000);

const MiB = 1024 * 1024;

describe("the connector's HTTP/2 receive windows", () => {
  let fx: ControlPlaneFixture;
  let session: ClientHttp2Session | undefined;
  beforeAll(async () => {
    fx = await startControlPlane();
  });
  afterAll(async () => {
    session?.destroy();
    await fx.cleanup();
  });

  it('advertises a 1 MiB stream window and opens a 2 MiB connection window', async () => {
    const connector = await fx.startConnector(await fx.enrollEnv('connector', 'edge-w'), true);
    await waitFor('the connector stream', () => connector.part.control.up);
    const env = await fx.enrollEnv('tunneler', 'window-reader', {
      connectorId: 'edge-w',
      env: { CONNECTOR_ADDR: `127.0.0.1:${connector.part.port}` },
    });
    const tunneler = fx.track(
      await startAgent(
        fx.runtime(resolveAgentConfig({ kind: 'tunneler', command: 'run', env, ephemeral: true })),
        startTunnelerPart,
      ),
    );
    const identity = tunneler.runtime.session.identity;

    const client = connect(`https://127.0.0.1:${connector.part.port}`, {
      ca: identity.bundlePem,
      cert: identity.certificateChainPem,
      key: identity.privateKeyPem,
      // The connector's certificate names it by SPIFFE ID only (a URI SAN), not by host name.
      checkServerIdentity: () => undefined,
    });
    session = client;
    client.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      client.once('remoteSettings', () => resolve());
      client.once('error', reject);
    });
    expect((client.socket as unknown as { authorized: boolean }).authorized).toBe(true);
    expect(client.remoteSettings.initialWindowSize).toBe(MiB);
    // The connection window grows by the connector's WINDOW_UPDATE on stream 0 (RFC 9113 §6.9).
    await waitFor('the connection window update', () => client.state.remoteWindowSize === 2 * MiB);
  });
});
