// Real sigil-connector and sigil-tunneler processes frozen (SIGSTOP) past their certificate's
// expiry and woken again (SIGCONT): they stop with ERR_IDENTITY_UNUSABLE (exit code 1) and the
// recovery step, instead of retrying renewal with a certificate that can no longer authenticate.
// The controller labels a call made with such a certificate `expired` (metric and audit summary).
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { controlplaneV1 } from '@sigil/proto';
import { waitFor } from '@sigil/testing';
import type { BinProcess } from '@sigil/testing';
import { metric, startControlPlane, type ControlPlaneFixture } from './support/control-plane';
import { killAll, runAgent, spawnAgent } from './support/processes';

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

/** The notAfter of the certificate an agent keeps in `stateDir`. */
function persistedNotAfter(stateDir: string): number {
  return new Date(
    new X509Certificate(readFileSync(path.join(stateDir, 'tls.crt'))).validTo,
  ).getTime();
}

/**
 * Freezes `agent` until its certificate (by default the one it logged last, or the one in
 * `stateDir`) has been expired for 3 s, then wakes it.
 */
async function freezePastExpiry(agent: BinProcess, stateDir?: string): Promise<number> {
  agent.child.kill('SIGSTOP');
  const notAfter = stateDir === undefined ? currentNotAfter(agent) : persistedNotAfter(stateDir);
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
      `^error ERR_IDENTITY_UNUSABLE: the ${kind} identity spiffe://e2e\\.sigil/${kind}/${id} (in STATE_DIR \\S+ )?cannot be used: its certificate expired at \\S+Z before it could be renewed .*; enroll again with a new token`,
    ),
  );
}

describe('agents frozen past their certificate expiry', () => {
  let fx: ControlPlaneFixture;
  beforeAll(async () => {
    // 12 s certificates: long enough to start and connect on a loaded machine, short to outlive.
    fx = await startControlPlane({
      connectorCertTtlSeconds: 12,
      tunnelerCertTtlSeconds: 12,
      auditSummaryIntervalSeconds: 1,
    });
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

  it('the controller labels a call with the expired certificate `expired`, in its metric and audit summary', async () => {
    // Not --ephemeral: the certificate the connector held when it was frozen stays in STATE_DIR.
    const env = await fx.enrollEnv('connector', 'sleeper-2');
    expect((await runAgent('connector', ['enroll'], env)).code).toBe(0);
    const connector = spawnAgent('connector', ['run'], env);
    await connector.next('stream.connected', 30_000);
    const seen = await freezePastExpiry(connector, env.STATE_DIR!);
    await expectUnusableExit(connector, 'connector', 'sleeper-2', seen);
    const refusals = () =>
      metric(fx.controller.metrics, 'sigil_controller_refusals_total', { reason: 'expired' });
    const before = await refusals();
    const client = new controlplaneV1.ControlPlaneServiceClient(
      fx.controller.grpcAddress,
      grpc.credentials.createSsl(
        Buffer.from(fx.controller.bootstrapCaPem),
        readFileSync(path.join(env.STATE_DIR!, 'tls.key')),
        readFileSync(path.join(env.STATE_DIR!, 'tls.crt')),
      ),
    );
    try {
      const err = await new Promise<grpc.ServiceError>((resolve, reject) =>
        client.getTrustBundle({}, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (e) =>
          e ? resolve(e) : reject(new Error('the expired certificate was accepted')),
        ),
      );
      expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    } finally {
      client.close();
    }
    expect((await refusals()) - before).toBe(1);
    const counted = await waitFor('the expired refusal in an audit summary', async () =>
      (await fx.controller.store.listAudit({ limit: 100, action: 'audit.refusals_summary' }))
        .flatMap(
          (r) => r.details.counts as Array<{ action: string; reason: string; count: number }>,
        )
        .find((c) => c.action === 'controlplane.refused' && c.reason === 'expired'),
    );
    expect(counted.count).toBeGreaterThanOrEqual(1);
  });
});
