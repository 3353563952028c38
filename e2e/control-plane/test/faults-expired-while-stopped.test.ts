// Real sigil-connector and sigil-tunneler processes frozen (SIGSTOP) past their certificate's
// expiry and woken again (SIGCONT): they stop with ERR_IDENTITY_UNUSABLE (exit code 1) and the
// recovery step, instead of retrying renewal with a certificate that can no longer authenticate.
import { waitFor } from '@sigil/testing';
import type { BinProcess } from '@sigil/testing';
import { startControlPlane, type ControlPlaneFixture } from './support/control-plane';
import { killAll, spawnAgent } from './support/processes';

jest.setTimeout(120_000);

const stderrLines = (lines: string[]) =>
  lines.filter((l) => l !== '' && !/DEP0123|trace-deprecation/.test(l));

/** The notAfter of the certificate the agent holds now (enrolled or last renewed). */
function currentNotAfter(agent: BinProcess): number {
  const issued = agent.records.filter(
    (r) => r.event === 'agent.enrolled' || r.event === 'renewal.completed',
  );
  return new Date(String(issued.at(-1)!.notAfter)).getTime();
}

/** Freezes `agent` until its certificate has been expired for 3 s, then wakes it. */
async function freezePastExpiry(agent: BinProcess): Promise<number> {
  agent.child.kill('SIGSTOP');
  const notAfter = currentNotAfter(agent);
  try {
    await waitFor('the certificate to expire', () => Date.now() > notAfter + 3_000, 60_000);
  } finally {
    agent.child.kill('SIGCONT');
  }
  return agent.records.length;
}

async function expectUnusableExit(agent: BinProcess, kind: string, id: string, seenBefore: number) {
  const exited = await Promise.race([
    agent.exited,
    new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 20_000)),
  ]);
  expect(exited).toEqual({ code: 1, signal: null });
  const after = agent.records.slice(seenBefore);
  // No renewal is attempted with the expired certificate, let alone a retry loop.
  expect(after.filter((r) => r.event === 'renewal.failed').length).toBeLessThanOrEqual(1);
  expect(after.find((r) => r.event === 'identity.expired')).toMatchObject({
    spiffeId: `spiffe://e2e.sigil/${kind}/${id}`,
  });
  const errors = stderrLines(agent.stderr);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(
    new RegExp(
      `^error ERR_IDENTITY_UNUSABLE: the ${kind} identity spiffe://e2e\\.sigil/${kind}/${id} cannot be used: its certificate expired at \\S+Z before it could be renewed .*; enroll again with a new token`,
    ),
  );
}

describe('agents frozen past their certificate expiry', () => {
  let fx: ControlPlaneFixture;
  beforeAll(async () => {
    // 12 s certificates: long enough to start and connect on a loaded machine, short to outlive.
    fx = await startControlPlane({ connectorCertTtlSeconds: 12, tunnelerCertTtlSeconds: 12 });
  });
  afterAll(async () => {
    await killAll();
    await fx.cleanup();
  });

  it('a connector woken after its certificate expired exits with ERR_IDENTITY_UNUSABLE', async () => {
    const env = await fx.enrollEnv('connector', 'sleeper');
    const connector = spawnAgent('connector', ['run', '--ephemeral'], env);
    await connector.next('stream.connected', 30_000);
    const seen = await freezePastExpiry(connector);
    await expectUnusableExit(connector, 'connector', 'sleeper', seen);
  });

  it('a tunneler woken after its certificate expired exits with ERR_IDENTITY_UNUSABLE', async () => {
    const edge = await fx.startConnector(await fx.enrollEnv('connector', 'edge-1'), true);
    await waitFor('the connector stream', () => edge.part.control.up);
    const env = await fx.enrollEnv('tunneler', 'laptop', {
      connectorId: 'edge-1',
      env: { CONNECTOR_ADDR: `127.0.0.1:${edge.part.port}` },
    });
    const tunneler = spawnAgent('tunneler', ['run', '--ephemeral'], env);
    await tunneler.next('agent.started', 30_000);
    const seen = await freezePastExpiry(tunneler);
    await expectUnusableExit(tunneler, 'tunneler', 'laptop', seen);
  });
});
