// The connector's Connect stream against the real controller, with real sigil-connector
// processes: extended in-band across renewals, cut when the connector is frozen past its
// certificate's expiry, and ended for good (exit code 4) when an operator revokes the connector.
import { waitFor } from '@sigil/testing';
import { ADMIN_TOKEN, startControlPlane, type ControlPlaneFixture } from './support/control-plane';
import { killAll, runAgent, spawnAgent } from './support/processes';

jest.setTimeout(90_000);

/** Unlabelled samples of one scrape of an agent's /metrics, so related counters are read at one instant. */
async function scrape(httpUrl: string): Promise<(name: string) => number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  return (name) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    if (line === undefined) throw new Error(`no sample ${name}`);
    return Number(line.slice(name.length + 1));
  };
}

async function revoke(fx: ControlPlaneFixture, kind: string, id: string, reason: string) {
  const response = await fetch(`${fx.controller.adminUrl}/api/admin/${kind}/${id}/revoke`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason }),
  });
  expect(response.status).toBeLessThan(300);
}

const stderrLines = (lines: string[]) =>
  lines.filter((l) => l !== '' && !/DEP0123|trace-deprecation/.test(l));

describe('sigil-connector: renewal under a live Connect stream', () => {
  let fx: ControlPlaneFixture;
  beforeAll(async () => {
    // 8 s certificates: two renewals (at 30-40% left) and the first expiry within the test.
    fx = await startControlPlane({ connectorCertTtlSeconds: 8 });
  });
  afterAll(async () => {
    await killAll();
    await fx.cleanup();
  });

  it('re-authenticates in-band after each renewal: the stream outlives the first certificate, no heartbeat dropped', async () => {
    const env = await fx.enrollEnv('connector', 'renewing');
    const connector = spawnAgent('connector', ['run', '--ephemeral'], env);
    const firstNotAfter = new Date(String((await connector.next('agent.enrolled')).notAfter));
    const { httpUrl } = await connector.next('agent.started');
    await connector.next('stream.connected', 30_000);
    await waitFor(
      'two extensions, and the first certificate long expired',
      () =>
        connector.records.filter((r) => r.event === 'stream.extended').length >= 2 &&
        Date.now() > firstNotAfter.getTime() + 2_000,
      60_000,
    );
    const sample = await scrape(String(httpUrl));
    const acked = sample('sigil_agent_heartbeat_acks_total');
    // Contiguous acks from sequence 1 (none lost), and at most a few heartbeats in flight.
    expect(sample('sigil_agent_last_acked_sequence')).toBe(acked);
    expect(sample('sigil_agent_heartbeats_sent_total') - acked).toBeLessThanOrEqual(3);
    expect(sample('sigil_agent_stream_connects_total')).toBe(1);
    expect(sample('sigil_agent_reconnects_total')).toBe(0);
    expect(connector.records.filter((r) => r.event === 'stream.connected')).toHaveLength(1);
    expect(connector.records.some((r) => r.event === 'stream.disconnected')).toBe(false);
    const extended = connector.records.filter((r) => r.event === 'stream.extended');
    expect(new Date(String(extended.at(-1)!.notAfter)).getTime()).toBeGreaterThan(
      firstNotAfter.getTime(),
    );
    expect(fx.lines.some((l) => l.includes('stream_expired') && l.includes('renewing'))).toBe(
      false,
    );
    connector.child.kill('SIGTERM');
    expect(await connector.exited).toEqual({ code: 0, signal: null });
  });
});

describe('sigil-connector: frozen past expiry, and revoked', () => {
  let fx: ControlPlaneFixture;
  beforeAll(async () => {
    // 16 s certificates: long enough for a process to start and connect on a loaded machine.
    fx = await startControlPlane({ connectorCertTtlSeconds: 16 });
  });
  afterAll(async () => {
    await killAll();
    await fx.cleanup();
  });

  it('a connector frozen past its certificate expiry (SIGSTOP) is cut off by the controller', async () => {
    const env = await fx.enrollEnv('connector', 'frozen');
    const connector = spawnAgent('connector', ['run', '--ephemeral'], env);
    await connector.next('stream.connected', 30_000);
    await waitFor('the controller to see it connected', () =>
      fx.controller.listConnectors().find((c) => c.id === 'frozen' && c.connected),
    );
    connector.child.kill('SIGSTOP');
    try {
      await waitFor(
        'the controller to cut the frozen connector',
        () => fx.lines.find((l) => l.includes('stream_expired') && l.includes('connector/frozen')),
        40_000,
      );
      await waitFor('the connector shown disconnected', () =>
        fx.controller.listConnectors().find((c) => c.id === 'frozen' && !c.connected),
      );
    } finally {
      connector.child.kill('SIGCONT');
    }
    // Woken up past its certificate's expiry, it cannot renew: it stops with ERR_IDENTITY_UNUSABLE
    // (exit code 1) instead of retrying, whether or not it noticed its stream was gone first.
    await expect(connector.exited).resolves.toEqual({ code: 1, signal: null });
    expect(connector.stderr.join('\n')).toContain('ERR_IDENTITY_UNUSABLE');
  });

  it('an operator revoking the connector ends it with exit code 4; it does not retry, and a restart is refused', async () => {
    const env = await fx.enrollEnv('connector', 'decommissioned');
    expect((await runAgent('connector', ['enroll'], env)).code).toBe(0);
    const runEnv = { ...env, ENROLLMENT_TOKEN: undefined };
    const connector = spawnAgent('connector', ['run'], runEnv);
    await connector.next('stream.connected', 30_000);
    await revoke(fx, 'connectors', 'decommissioned', 'host decommissioned');
    const revoked = await connector.next('agent.revoked', 15_000);
    expect(revoked).toMatchObject({
      peer: 'the controller',
      spiffeId: 'spiffe://e2e.sigil/connector/decommissioned',
      reason: 'host decommissioned',
    });
    expect(await connector.exited).toEqual({ code: 4, signal: null });
    const errors = stderrLines(connector.stderr);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^error ERR_AGENT_REVOKED: the identity spiffe:\/\/e2e\.sigil\/connector\/decommissioned is revoked: the controller revoked it at \S+Z: host decommissioned; the agent stops and does not retry/,
    );
    // One stream, no reconnect loop after the revocation.
    expect(connector.records.filter((r) => r.event === 'stream.connected')).toHaveLength(1);
    expect(connector.records.some((r) => r.event === 'stream.disconnected')).toBe(false);

    // Started again with the same identity: refused, exit 4 again, never connected.
    const again = await runAgent('connector', ['run'], runEnv);
    expect(again.code).toBe(4);
    expect(again.stderr).toHaveLength(1);
    expect(again.stderr[0]).toMatch(
      /^error ERR_AGENT_REVOKED: the identity spiffe:\/\/e2e\.sigil\/connector\/decommissioned is revoked: the controller refused it: PERMISSION_DENIED: /,
    );
    expect(again.stdout.some((l) => l.includes('"stream.connected"'))).toBe(false);
  });
});
