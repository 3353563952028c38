import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { agentClients, heartbeat } from './support/agents';
import type { Identity } from './support/agents';
import { enrollNew, startController } from './support/fixtures';
import type { ControllerFixture } from './support/fixtures';
import type { StreamRecorder } from './support/fixtures';

// Connector certificates live 12 s on the real clock: the tests watch streams outlive (or not)
// the certificate they were opened with.
const TTL_SECONDS = 12;

describe('a control stream is bound to its certificate', () => {
  let fx: ControllerFixture;
  const agents = agentClients(() => fx);

  beforeAll(async () => {
    fx = await startController({ connectorCertTtlSeconds: TTL_SECONDS });
  });
  afterAll(async () => {
    agents.close();
    await fx.cleanup();
  });

  const challengeOf = async (stream: StreamRecorder): Promise<Buffer> =>
    Buffer.from((await stream.next('challenge')).body.challenge.nonce);
  const notAfterOf = (identity: Identity): number =>
    new Date(new X509Certificate(identity.chainPem).validTo).getTime();

  it('refuses re-authentication with a wrong signature, a stale nonce or a superseded certificate, and audits each', async () => {
    const cases: Array<
      [string, (s: StreamRecorder, id: Identity, renewed: Identity, nonce: Buffer) => void]
    > = [
      [
        'proof_invalid',
        (s, id, renewed, nonce) =>
          // Signed with the OLD key: the new certificate's key did not sign.
          agents.reauthenticate(s, { chainPem: renewed.chainPem, keyPem: id.keyPem }, nonce),
      ],
      [
        'nonce_mismatch',
        (s, _id, renewed, nonce) => agents.reauthenticate(s, renewed, Buffer.from(nonce).fill(7)),
      ],
    ];
    for (const [reason, attack] of cases) {
      const agent = await enrollNew(fx.controller, 'connector', `reauth-bad-${reason}`);
      const stream = agents.open(agent.identity);
      const nonce = await challengeOf(stream);
      expect(nonce.length).toBeGreaterThanOrEqual(32);
      const renewed = await agents.renew(agent.identity);
      attack(stream, agent.identity, renewed, nonce);
      await stream.until(() => stream.error !== undefined, `${reason} refusal`);
      expect(stream.error!.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(stream.count('streamExtended')).toBe(0);
    }
    // A superseded certificate (renewed twice since) with a valid proof is refused as well.
    const agent = await enrollNew(fx.controller, 'connector', 'reauth-bad-superseded');
    const stream = agents.open(agent.identity);
    const nonce = await challengeOf(stream);
    const once = await agents.renew(agent.identity);
    await agents.renew(once);
    agents.reauthenticate(stream, once, nonce);
    await stream.until(() => stream.error !== undefined, 'superseded refusal');
    expect(stream.error!.code).toBe(grpc.status.UNAUTHENTICATED);

    const refused = await fx.controller.store.listAudit({
      limit: 10,
      action: 'controlplane.reauthentication_refused',
    });
    expect(refused.map((r) => r.details.reason).sort()).toEqual(
      ['certificate_superseded', 'nonce_mismatch', 'proof_invalid'].sort(),
    );
  });

  it('extends a re-authenticated stream past the original notAfter with no dropped heartbeat, and cuts off one that did not re-authenticate', async () => {
    const live = await enrollNew(fx.controller, 'connector', 'reauth-live');
    const frozen = await enrollNew(fx.controller, 'connector', 'reauth-frozen');
    const stream = agents.open(live.identity);
    const frozenStream = agents.open(frozen.identity);
    const nonce = await challengeOf(stream);
    await frozenStream.next('challenge');
    const originalNotAfter = notAfterOf(live.identity);
    // Renew part-way through the lifetime, as agents do (and in a later second: certificate
    // times are whole seconds).
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const renewed = await agents.renew(live.identity);
    agents.reauthenticate(stream, renewed, nonce);
    const extended = await stream.next('streamExtended');
    expect(extended.body.streamExtended.notAfter).toBe(notAfterOf(renewed));
    expect(extended.body.streamExtended.notAfter).toBeGreaterThan(originalNotAfter);
    expect(Buffer.from(extended.body.streamExtended.nextNonce).equals(nonce)).toBe(false);

    // Heartbeat once a second until well past the first certificate's notAfter.
    let sequence = 0;
    while (Date.now() < originalNotAfter + 2500) {
      sequence += 1;
      heartbeat(stream, sequence);
      await stream.until(() => stream.count('heartbeatAck') === sequence, `ack ${sequence}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(stream.error).toBeUndefined();
    const acked = stream.messages.flatMap((m) =>
      m.body?.$case === 'heartbeatAck' ? [m.body.heartbeatAck.sequence] : [],
    );
    expect(acked).toEqual(Array.from({ length: sequence }, (_, i) => i + 1));

    // The stream that never re-authenticated was closed at its certificate's expiry.
    await frozenStream.until(() => frozenStream.error !== undefined, 'expiry cut-off');
    expect(frozenStream.error!.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(frozenStream.error!.details).toMatch(/expired/);
    expect(
      await fx.controller.store.listAudit({ limit: 10, action: 'controlplane.stream_expired' }),
    ).toEqual([
      expect.objectContaining({ subject: 'spiffe://test.sigil/connector/reauth-frozen' }),
    ]);
    stream.call.end();
    await stream.until(() => stream.status !== undefined, 'stream end');
  }, 60_000);
});
