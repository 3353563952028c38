import { statSync } from 'node:fs';
import * as path from 'node:path';
import { readFileSync } from 'node:fs';
import { enrollAgent, enrollFromConfig, tokenFingerprint } from '@sigil/agent';
import { isSigilError, toExitCode, type SigilError } from '@sigil/errors';
import { waitFor } from '@sigil/testing';
import {
  startControlPlane,
  writeForeignCa,
  type ControlPlaneFixture,
} from './support/control-plane';

async function failure(promise: Promise<unknown>): Promise<SigilError> {
  try {
    await promise;
  } catch (err) {
    if (isSigilError(err)) return err;
    throw err;
  }
  throw new Error('expected a SigilError');
}

describe('connector enrollment against a real controller', () => {
  let fx: ControlPlaneFixture;
  beforeAll(async () => {
    fx = await startControlPlane();
  });
  afterAll(() => fx.cleanup());

  it('enrolls with a one-time token and persists key (0600), chain, bundle and metadata in STATE_DIR', async () => {
    const env = await fx.enrollEnv('connector', 'edge-enroll');
    const { identity, store } = await enrollFromConfig(
      fx.runtime(fx.config('connector', 'enroll', env)),
    );
    expect(identity.spiffeId).toBe('spiffe://e2e.sigil/connector/edge-enroll');
    expect(identity.bundlePem).toBe(fx.controller.trustBundlePem);
    expect(store.stateDir).toBe(env.STATE_DIR);
    expect(statSync(path.join(env.STATE_DIR!, 'tls.key')).mode & 0o777).toBe(0o600);
    const reloaded = await store.load();
    expect(reloaded?.certificateChainPem).toBe(identity.certificateChainPem);
    expect(fx.controller.listConnectors()).toEqual([
      expect.objectContaining({ id: 'edge-enroll', privateIp: '10.9.8.7', version: '0.1.0-test' }),
    ]);
    // The token appears in the agent's logs only as its hash prefix.
    expect(fx.agentLines.join('\n')).not.toContain(env.ENROLLMENT_TOKEN);
    expect(fx.agentLines.join('\n')).toContain(tokenFingerprint(env.ENROLLMENT_TOKEN!));
  });

  it('refuses a replayed token with the reason, naming the token by its hash prefix only', async () => {
    const env = await fx.enrollEnv('connector', 'edge-replay');
    await enrollFromConfig(fx.runtime(fx.config('connector', 'enroll', env)));
    const error = await failure(
      enrollFromConfig(
        fx.runtime(
          fx.config('connector', 'enroll', { ...env, STATE_DIR: `${env.STATE_DIR}-again` }),
        ),
      ),
    );
    expect(error.code).toBe('ERR_ENROLLMENT_REFUSED');
    expect(error.message).toBe(
      `the controller at ${fx.controller.grpcAddress} refused enrollment of connector edge-replay with token ${tokenFingerprint(env.ENROLLMENT_TOKEN!)}: enrollment token is invalid, expired or already used`,
    );
    expect(toExitCode(error)).toBe(2);
    expect(error.message).not.toContain(env.ENROLLMENT_TOKEN);
    const refusals = await fx.controller.store.listAudit({
      limit: 10,
      action: 'enrollment.refused',
    });
    expect(refusals.map((r) => r.details.reason)).toContain('token_used');
  });

  it('refuses a token issued for another agent id', async () => {
    const env = await fx.enrollEnv('connector', 'edge-named');
    const error = await failure(
      enrollFromConfig(
        fx.runtime(fx.config('connector', 'enroll', { ...env, CONNECTOR_ID: 'edge-other' })),
      ),
    );
    expect(error.code).toBe('ERR_ENROLLMENT_REFUSED');
    expect(error.message).toContain('refused enrollment of connector edge-other');
  });

  it('refuses to talk to a controller that does not verify against CONTROLLER_CA_PATH, naming the file', async () => {
    const env = await fx.enrollEnv('connector', 'edge-wrong-ca');
    const impostorCa = await writeForeignCa(fx.scratch);
    const error = await failure(
      enrollFromConfig(
        fx.runtime(fx.config('connector', 'enroll', { ...env, CONTROLLER_CA_PATH: impostorCa })),
      ),
    );
    expect(error.code).toBe('ERR_CONTROLLER_UNTRUSTED');
    expect(error.message).toMatch(
      new RegExp(
        `^the controller at ${fx.controller.grpcAddress} is not trusted: its certificate does not verify against CONTROLLER_CA_PATH ${impostorCa} \\(.+\\)$`,
      ),
    );
    expect(toExitCode(error)).toBe(3);
    // The token was never sent: it still works with the right CA.
    await enrollFromConfig(fx.runtime(fx.config('connector', 'enroll', env)));
  });

  it('fails over to the next controller address when the first is unreachable', async () => {
    const env = await fx.enrollEnv('connector', 'edge-failover');
    const { identity } = await enrollFromConfig(
      fx.runtime(
        fx.config('connector', 'enroll', {
          ...env,
          CONTROLLER_ADDR: `127.0.0.1:1,${fx.controller.grpcAddress}`,
        }),
      ),
    );
    expect(identity.controllerAddresses).toEqual(['127.0.0.1:1', fx.controller.grpcAddress]);
    await waitFor('the unreachable address to be logged', () =>
      fx.agentLines.some(
        (line) => line.includes('enroll.unreachable') && line.includes('127.0.0.1:1'),
      ),
    );
  });

  it('reports an unreadable CONTROLLER_CA_PATH as a configuration error', async () => {
    const env = await fx.enrollEnv('connector', 'edge-no-ca');
    const error = await failure(
      enrollFromConfig(
        fx.runtime(
          fx.config('connector', 'enroll', {
            ...env,
            CONTROLLER_CA_PATH: path.join(fx.scratch, 'missing.crt'),
          }),
        ),
      ),
    );
    expect(error.code).toBe('ERR_FILE_UNREADABLE');
    expect(error.message).toContain(path.join(fx.scratch, 'missing.crt'));
  });
});

describe('an expired enrollment token', () => {
  it('is refused with the reason', async () => {
    let now = Date.now();
    const fx = await startControlPlane({ clock: () => new Date(now) });
    try {
      const env = await fx.enrollEnv('connector', 'edge-late');
      now += 16 * 60_000;
      const error = await failure(
        enrollFromConfig(fx.runtime(fx.config('connector', 'enroll', env))),
      );
      expect(error.code).toBe('ERR_ENROLLMENT_REFUSED');
      expect(error.message).toContain('enrollment token is invalid, expired or already used');
      const refusals = await fx.controller.store.listAudit({
        limit: 10,
        action: 'enrollment.refused',
      });
      expect(refusals.map((r) => r.details.reason)).toContain('token_expired');
    } finally {
      await fx.cleanup();
    }
  });
});

describe('a controller that is down when the agent enrolls', () => {
  it('is retried until it is back', async () => {
    const fx = await startControlPlane();
    try {
      const env = await fx.enrollEnv('connector', 'edge-patient');
      const address = fx.controller.grpcAddress;
      const caPem = readFileSync(fx.controller.bootstrapCaPath, 'utf8');
      await fx.stopController();
      const enrolling = enrollAgent({
        kind: 'connector',
        agentId: 'edge-patient',
        token: env.ENROLLMENT_TOKEN!,
        controllerAddresses: [address],
        controllerCaPem: caPem,
        controllerCaPath: env.CONTROLLER_CA_PATH!,
        version: '1.0.0',
        privateIp: '10.0.0.1',
        logger: fx.runtime(fx.config('connector', 'run', { STATE_DIR: env.STATE_DIR })).logger,
        rounds: 10,
        backoff: { initialMs: 500, maxMs: 500, random: () => 0.999 },
      });
      await waitFor('a refused connection', () =>
        fx.agentLines.some(
          (line) => line.includes('"enroll.unreachable"') && line.includes(address),
        ),
      );
      await fx.startControllerAgain();
      const identity = await enrolling;
      expect(identity.spiffeId).toBe('spiffe://e2e.sigil/connector/edge-patient');
      expect(
        fx.agentLines.filter(
          (line) => line.includes('"enroll.attempt"') && line.includes('edge-patient'),
        ).length,
      ).toBeGreaterThan(1);
    } finally {
      await fx.cleanup();
    }
  });
});
