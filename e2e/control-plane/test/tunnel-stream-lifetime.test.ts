// A Tunnel stream never outlives the tunneler's certificate: it is extended by in-band
// re-authentication after each renewal, cut when the certificate expires without one, and ended
// at once when the controller puts the tunneler on the connector's deny list.
import * as grpc from '@grpc/grpc-js';
import {
  createIdentityStore,
  enrollFromConfig,
  resolveAgentConfig,
  startAgent,
  type AgentIdentity,
} from '@sigil/agent';
import {
  createClientCredentials,
  createRotatingIdentity,
  loadClientTlsConfig,
  type ClientCredentialsHandle,
} from '@sigil/grpc-tls';
import { createPossessionProof, createStreamNonce, generateKeyPair } from '@sigil/pki';
import { controlplaneV1 } from '@sigil/proto';
import { createMemoryLogger, waitFor } from '@sigil/testing';
import { startTunnelerPart } from '@sigil/tunneler';
import {
  ADMIN_TOKEN,
  metric,
  startControlPlane,
  type ControlPlaneFixture,
  type RunningConnector,
} from './support/control-plane';
import { killAll, spawnAgent } from './support/processes';

jest.setTimeout(90_000);

/** A fixture with one connector `edge-1` and a helper enrolling tunnelers of it. */
async function connectorFixture(tunnelerCertTtlSeconds: number): Promise<{
  fx: ControlPlaneFixture;
  connector: RunningConnector;
  connectorAddr: string;
  tunnelerEnv(id: string): Promise<Record<string, string>>;
  enrolledIdentity(id: string): Promise<AgentIdentity>;
}> {
  const fx = await startControlPlane({ tunnelerCertTtlSeconds });
  const connector = await fx.startConnector(await fx.enrollEnv('connector', 'edge-1'), true);
  await waitFor('the connector stream', () => connector.part.control.up);
  const connectorAddr = `127.0.0.1:${connector.part.port}`;
  const tunnelerEnv = (id: string) =>
    fx.enrollEnv('tunneler', id, { connectorId: 'edge-1', env: { CONNECTOR_ADDR: connectorAddr } });
  return {
    fx,
    connector,
    connectorAddr,
    tunnelerEnv,
    async enrolledIdentity(id) {
      const env = await tunnelerEnv(id);
      const registry = connector.runtime.session.metrics.registry;
      const approved = await metric(registry, 'sigil_connector_tunnelers_approved');
      await enrollFromConfig(
        fx.runtime(resolveAgentConfig({ kind: 'tunneler', command: 'enroll', env })),
      );
      // The approval reaches the connector on its control stream shortly after enrollment.
      await waitFor(
        'the approval',
        async () => (await metric(registry, 'sigil_connector_tunnelers_approved')) > approved,
      );
      return (await createIdentityStore({ kind: 'tunneler', stateDir: env.STATE_DIR }).load())!;
    },
  };
}

/** A hand-driven Tunnel client: an independent peer presenting `identity`, sending what the test says. */
async function handDrivenTunnel(
  connectorAddr: string,
  identity: AgentIdentity,
): Promise<{
  messages: controlplaneV1.ConnectorMessage[];
  status: Promise<grpc.StatusObject>;
  send(message: controlplaneV1.TunnelerMessage): void;
  next(kind: string): Promise<controlplaneV1.ConnectorMessage>;
  close(): void;
}> {
  const tls: ClientCredentialsHandle = await createClientCredentials(
    loadClientTlsConfig({
      env: {},
      configFile: false,
      expectedServerId: 'spiffe://e2e.sigil/connector/edge-1',
      identity: createRotatingIdentity({
        certificateChainPem: identity.certificateChainPem,
        privateKeyPem: identity.privateKeyPem,
        caPem: identity.bundlePem,
      }),
    }),
    { logger: createMemoryLogger().logger },
  );
  const client = new controlplaneV1.ConnectorServiceClient(connectorAddr, tls.credentials, {
    'grpc.use_local_subchannel_pool': 1,
  });
  const call = client.tunnel();
  const messages: controlplaneV1.ConnectorMessage[] = [];
  call.on('data', (message: controlplaneV1.ConnectorMessage) => messages.push(message));
  call.on('error', () => undefined);
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  call.write({
    body: {
      $case: 'heartbeat',
      heartbeat: {
        tunnelerId: identity.agentId,
        sequence: 1,
        version: 'x',
        sentAt: Date.now(),
        bundleVersion: 0,
      },
    },
  });
  return {
    messages,
    status,
    send: (message) => call.write(message),
    next: (kind) =>
      waitFor(`a ${kind} from the connector`, () => messages.find((m) => m.body?.$case === kind)),
    close() {
      call.cancel();
      client.close();
      tls.close();
    },
  };
}

const reauthenticate = (
  certificateChainPem: string,
  nonce: Uint8Array,
  signature: Uint8Array,
): controlplaneV1.TunnelerMessage => ({
  body: {
    $case: 'reauthenticate',
    reauthenticate: {
      certificateChainPem,
      nonce: Buffer.from(nonce),
      signature: Buffer.from(signature),
    },
  },
});

const nonceOf = (message: controlplaneV1.ConnectorMessage): Uint8Array => {
  if (message.body?.$case === 'challenge') return message.body.challenge.nonce;
  if (message.body?.$case === 'streamExtended') return message.body.streamExtended.nextNonce;
  throw new Error(`no nonce in ${message.body?.$case}`);
};

describe('Tunnel streams bound to the tunneler certificate (in process)', () => {
  let setup: Awaited<ReturnType<typeof connectorFixture>>;
  beforeAll(async () => {
    // Certificates of 6 s: renewal (at 30-40% left) and expiry happen while the test watches.
    setup = await connectorFixture(6);
  });
  afterAll(() => setup.fx.cleanup());

  it('re-authenticates after each renewal and outlives the first certificate without a dropped heartbeat', async () => {
    const { fx, connector } = setup;
    const env = await setup.tunnelerEnv('laptop-renew');
    const laptop = fx.track(
      await startAgent(
        fx.runtime(resolveAgentConfig({ kind: 'tunneler', command: 'run', env, ephemeral: true })),
        startTunnelerPart,
      ),
    );
    const firstNotAfter = laptop.runtime.session.identity.notAfter.getTime();
    const { registry } = laptop.runtime.session.metrics;
    await waitFor('the tunnel', () => laptop.part.tunnel.up);
    await waitFor(
      'two extensions, and the first certificate long expired',
      async () =>
        (await metric(registry, 'sigil_agent_stream_reauthentications_total', {
          result: 'extended',
        })) >= 2 && Date.now() > firstNotAfter + 2_000,
      60_000,
    );
    expect(connector.part.tunnels.connected()).toContain('laptop-renew');
    await laptop.part.tunnel.stop();
    const acked = await metric(registry, 'sigil_agent_heartbeat_acks_total');
    // Acks are contiguous from sequence 1: not one heartbeat was lost across the renewals.
    expect(acked).toBe(await metric(registry, 'sigil_agent_last_acked_sequence'));
    expect(await metric(registry, 'sigil_agent_heartbeats_sent_total')).toBeLessThanOrEqual(
      acked + 3,
    );
    expect(await metric(registry, 'sigil_agent_stream_connects_total')).toBe(1);
    expect(await metric(registry, 'sigil_agent_reconnects_total')).toBe(0);
    const connectorRegistry = connector.runtime.session.metrics.registry;
    expect(
      await metric(connectorRegistry, 'sigil_connector_tunnel_reauthentications_total', {
        result: 'accepted',
      }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      await metric(connectorRegistry, 'sigil_connector_tunnel_streams_ended_total', {
        reason: 'expired',
      }),
    ).toBe(0);
  });

  it('answers the challenge of a valid re-authentication with StreamExtended until the new notAfter', async () => {
    const { connectorAddr } = setup;
    const identity = await setup.enrolledIdentity('laptop-honest');
    const tunnel = await handDrivenTunnel(connectorAddr, identity);
    try {
      const challenge = await tunnel.next('challenge');
      // The same certificate (still valid) with a proof by its key: accepted.
      tunnel.send(
        reauthenticate(
          identity.certificateChainPem,
          nonceOf(challenge),
          createPossessionProof(identity.privateKeyPem, nonceOf(challenge)),
        ),
      );
      const extended = await tunnel.next('streamExtended');
      expect(extended.body).toMatchObject({
        $case: 'streamExtended',
        streamExtended: { notAfter: identity.notAfter.getTime() },
      });
      expect(Buffer.from(nonceOf(extended)).equals(Buffer.from(nonceOf(challenge)))).toBe(false);
    } finally {
      tunnel.close();
    }
  });

  it.each([
    ['a proof made with another key', 'proof_invalid'],
    ['a proof over a nonce the connector did not issue', 'nonce_mismatch'],
    ['a replayed nonce', 'nonce_mismatch'],
    ["another tunneler's certificate with its own proof", 'identity_mismatch'],
  ])('refuses %s and ends the stream with UNAUTHENTICATED', async (what, reason) => {
    const { connector, connectorAddr } = setup;
    const id = `laptop-forged-${reason}-${what.length}`;
    const identity = await setup.enrolledIdentity(id);
    const tunnel = await handDrivenTunnel(connectorAddr, identity);
    const registry = connector.runtime.session.metrics.registry;
    const before = await metric(registry, 'sigil_connector_tunnel_reauthentications_total', {
      result: reason,
    });
    try {
      const challenge = nonceOf(await tunnel.next('challenge'));
      if (what === 'a proof made with another key') {
        const thief = await generateKeyPair('ec-p256');
        tunnel.send(
          reauthenticate(
            identity.certificateChainPem,
            challenge,
            createPossessionProof(thief.privateKeyPem, challenge),
          ),
        );
      } else if (what === 'a proof over a nonce the connector did not issue') {
        const invented = createStreamNonce();
        tunnel.send(
          reauthenticate(
            identity.certificateChainPem,
            invented,
            createPossessionProof(identity.privateKeyPem, invented),
          ),
        );
      } else if (what === 'a replayed nonce') {
        const proof = createPossessionProof(identity.privateKeyPem, challenge);
        tunnel.send(reauthenticate(identity.certificateChainPem, challenge, proof));
        await tunnel.next('streamExtended');
        tunnel.send(reauthenticate(identity.certificateChainPem, challenge, proof));
      } else {
        const other = await setup.enrolledIdentity(`${id}-other`);
        tunnel.send(
          reauthenticate(
            other.certificateChainPem,
            challenge,
            createPossessionProof(other.privateKeyPem, challenge),
          ),
        );
      }
      const status = await tunnel.status;
      expect(status.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(status.details).toMatch(new RegExp(`^re-authentication of tunneler ${id} refused: `));
      expect(connector.part.tunnels.connected()).not.toContain(id);
      expect(
        await metric(registry, 'sigil_connector_tunnel_reauthentications_total', {
          result: reason,
        }),
      ).toBe(before + 1);
    } finally {
      tunnel.close();
    }
  });

  it('cuts a stream whose certificate expires without re-authentication, saying why', async () => {
    const { connector, connectorAddr } = setup;
    const identity = await setup.enrolledIdentity('laptop-silent-expiry');
    // A peer that heartbeats but never re-authenticates (what a stolen, unrenewable certificate does).
    const tunnel = await handDrivenTunnel(connectorAddr, identity);
    try {
      await tunnel.next('challenge');
      const status = await tunnel.status;
      expect(Date.now()).toBeGreaterThanOrEqual(identity.notAfter.getTime());
      expect(status.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(status.details).toBe(
        `the certificate of tunneler laptop-silent-expiry expired at ${identity.notAfter.toISOString()} and the stream was not re-authenticated; reconnect with a renewed certificate`,
      );
      expect(connector.part.tunnels.connected()).not.toContain('laptop-silent-expiry');
    } finally {
      tunnel.close();
    }
  });

  it('a renewal refused because the identity is revoked ends the session: no retry, ERR_AGENT_REVOKED', async () => {
    const { fx } = setup;
    // A tunneler whose connector is unreachable: the controller's Renew is the only one to tell it.
    const env = await fx.enrollEnv('tunneler', 'laptop-offline', {
      connectorId: 'edge-1',
      env: { CONNECTOR_ADDR: '127.0.0.1:1' },
    });
    const laptop = fx.track(
      await startAgent(
        fx.runtime(resolveAgentConfig({ kind: 'tunneler', command: 'run', env, ephemeral: true })),
        startTunnelerPart,
      ),
    );
    await fx.controller.revokeAgent('tunneler', 'laptop-offline', 'reported stolen');
    await expect(laptop.runtime.session.renewNow()).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
    const revoked = await laptop.runtime.session.revocation;
    expect(revoked.code).toBe('ERR_AGENT_REVOKED');
    expect(revoked.message).toMatch(
      /^the identity spiffe:\/\/e2e\.sigil\/tunneler\/laptop-offline is revoked: the controller refused it: PERMISSION_DENIED: .*reported stolen/,
    );
    // Renewal is not retried.
    expect(laptop.runtime.session.nextRenewalAt).toBeUndefined();
  });
});

describe('real sigil-tunneler processes', () => {
  let setup: Awaited<ReturnType<typeof connectorFixture>>;
  beforeAll(async () => {
    // 16 s certificates: long enough for a process to start and connect on a loaded machine.
    setup = await connectorFixture(16);
  });
  afterAll(async () => {
    await killAll();
    await setup.fx.cleanup();
  });

  async function runningTunneler(id: string) {
    const env = await setup.tunnelerEnv(id);
    const tunneler = spawnAgent('tunneler', ['run', '--ephemeral'], env);
    await tunneler.next('stream.connected', 30_000);
    await waitFor('the connector to see it', () =>
      setup.connector.part.tunnels.connected().includes(id),
    );
    return tunneler;
  }

  it('a tunneler frozen past its certificate expiry (SIGSTOP) is cut off by the connector', async () => {
    const { connector, fx } = setup;
    const tunneler = await runningTunneler('laptop-frozen');
    await tunneler.next('agent.enrolled');
    tunneler.child.kill('SIGSTOP');
    // The certificate it holds when frozen: the enrolled one, or a renewed one on a slow start.
    const held = tunneler.records
      .filter((r) => r.event === 'agent.enrolled' || r.event === 'renewal.completed')
      .map((r) => new Date(String(r.notAfter)).toISOString());
    try {
      const expired = await waitFor(
        'the connector to cut the frozen tunneler',
        () =>
          fx.agentLines.find(
            (line) => line.includes('"tunnel.expired"') && line.includes('laptop-frozen'),
          ),
        40_000,
      );
      expect(held).toContain((JSON.parse(expired) as { notAfter: string }).notAfter);
      expect(connector.part.tunnels.connected()).not.toContain('laptop-frozen');
    } finally {
      tunneler.child.kill('SIGCONT');
    }
    // Woken up past its certificate's expiry, it cannot renew: it stops with ERR_IDENTITY_UNUSABLE
    // (exit code 1), whether or not it noticed its stream was gone first (the in-process test above
    // checks the status the connector sends).
    await expect(tunneler.exited).resolves.toEqual({ code: 1, signal: null });
    expect(tunneler.stderr.join('\n')).toContain('ERR_IDENTITY_UNUSABLE');
  });

  it('revoked_tunnelers: the connector sends Revoked and drops the stream at once; the tunneler exits 4 and a restart is refused', async () => {
    const { connector } = setup;
    const tunneler = await runningTunneler('laptop-stolen');
    const registry = connector.runtime.session.metrics.registry;
    // What the connector does on RevokedTunnelers from the controller.
    connector.part.tunnels.setRevoked(['laptop-stolen']);
    // Dropped synchronously, not at the next heartbeat.
    expect(connector.part.tunnels.connected()).not.toContain('laptop-stolen');
    const revoked = await tunneler.next('agent.revoked');
    expect(revoked).toMatchObject({
      peer: 'connector spiffe://e2e.sigil/connector/edge-1',
      spiffeId: 'spiffe://e2e.sigil/tunneler/laptop-stolen',
      reason: 'the controller revoked tunneler laptop-stolen (deny list of connector edge-1)',
    });
    const exit = await tunneler.exited;
    expect(exit).toEqual({ code: 4, signal: null });
    const errors = tunneler.stderr.filter((l) => l !== '' && !/DEP0123|trace-deprecation/.test(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^error ERR_AGENT_REVOKED: the identity spiffe:\/\/e2e\.sigil\/tunneler\/laptop-stolen is revoked: connector spiffe:\/\/e2e\.sigil\/connector\/edge-1 revoked it at \S+Z: the controller revoked tunneler laptop-stolen/,
    );
    expect(tunneler.records.filter((r) => r.event === 'stream.connected')).toHaveLength(1);
    expect(
      await metric(registry, 'sigil_connector_tunnel_streams_ended_total', { reason: 'revoked' }),
    ).toBe(1);

    // Another tunneler on the deny list that connects afresh is refused with its own reason, and stops too.
    const refusedBefore = await metric(registry, 'sigil_connector_tunnelers_refused_total', {
      reason: 'revoked',
    });
    const env = await setup.tunnelerEnv('laptop-denied');
    connector.part.tunnels.setRevoked(['laptop-stolen', 'laptop-denied']);
    const denied = spawnAgent('tunneler', ['run', '--ephemeral'], env);
    expect(await denied.exited).toEqual({ code: 4, signal: null });
    expect(denied.records.some((r) => r.event === 'stream.connected')).toBe(false);
    expect(
      await metric(registry, 'sigil_connector_tunnelers_refused_total', { reason: 'revoked' }),
    ).toBe(refusedBefore + 1);
  });

  it('an operator revoking a tunneler: the controller pushes the deny list, the connector ends its stream, the tunneler exits 4', async () => {
    const { connector, fx } = setup;
    const tunneler = await runningTunneler('laptop-lost');
    const response = await fetch(
      `${fx.controller.adminUrl}/api/admin/tunnelers/laptop-lost/revoke`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'laptop lost on a train' }),
      },
    );
    expect(response.status).toBeLessThan(300);
    const revoked = await tunneler.next('agent.revoked', 15_000);
    expect(revoked).toMatchObject({
      peer: 'connector spiffe://e2e.sigil/connector/edge-1',
      spiffeId: 'spiffe://e2e.sigil/tunneler/laptop-lost',
    });
    expect(await tunneler.exited).toEqual({ code: 4, signal: null });
    expect(connector.part.tunnels.connected()).not.toContain('laptop-lost');
    expect(
      setup.fx.agentLines.some(
        (line) => line.includes('"command.revoked_tunnelers"') && line.includes('"count":'),
      ),
    ).toBe(true);
  });
});
