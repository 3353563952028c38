import { statSync } from 'node:fs';
import * as path from 'node:path';
import { tokenFingerprint } from '@sigil/agent';
import { waitFor } from '@sigil/testing';
import {
  startControlPlane,
  writeForeignCa,
  type ControlPlaneFixture,
} from './support/control-plane';
import { killAll, runAgent, spawnAgent } from './support/processes';

// Each test starts one to three Node processes.
jest.setTimeout(60_000);

describe('sigil-connector, the real process', () => {
  let fx: ControlPlaneFixture;
  beforeAll(async () => {
    fx = await startControlPlane();
  });
  afterAll(async () => {
    await killAll();
    await fx.cleanup();
  });

  it('enroll stores the identity and says so; --json prints it for scripts', async () => {
    const env = await fx.enrollEnv('connector', 'cli-enroll');
    const { code, stdout, stderr } = await runAgent('connector', ['enroll'], env);
    expect({ code, stderr }).toEqual({ code: 0, stderr: [] });
    expect(stdout[0]).toEqual(
      expect.stringMatching(
        /^enrolled connector cli-enroll as spiffe:\/\/e2e\.sigil\/connector\/cli-enroll; certificate valid until \S+Z; identity stored in /,
      ),
    );
    expect(statSync(path.join(env.STATE_DIR!, 'tls.key')).mode & 0o777).toBe(0o600);

    const again = await fx.enrollEnv('connector', 'cli-enroll-json');
    const json = await runAgent(
      'connector',
      ['enroll', '--json', '--connector-id', 'cli-enroll-json'],
      { ...again, CONNECTOR_ID: 'ignored-flag-wins' },
    );
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout[0]!)).toMatchObject({
      kind: 'connector',
      agent_id: 'cli-enroll-json',
      spiffe_id: 'spiffe://e2e.sigil/connector/cli-enroll-json',
      state_dir: again.STATE_DIR,
    });
  });

  it('exits 2 on a replayed token with one line naming the token by hash prefix, never a stack trace', async () => {
    const env = await fx.enrollEnv('connector', 'cli-replay');
    expect((await runAgent('connector', ['enroll'], env)).code).toBe(0);
    const { code, stdout, stderr } = await runAgent('connector', ['enroll'], {
      ...env,
      STATE_DIR: `${env.STATE_DIR}-2`,
    });
    expect(code).toBe(2);
    expect(stdout).toEqual([]);
    expect(stderr).toEqual([
      `error ERR_ENROLLMENT_REFUSED: the controller at ${env.CONTROLLER_ADDR} refused enrollment of connector cli-replay with token ${tokenFingerprint(env.ENROLLMENT_TOKEN!)}: enrollment token is invalid, expired or already used`,
    ]);
  });

  it('exits 3 when the controller does not verify against CONTROLLER_CA_PATH, naming the file', async () => {
    const env = await fx.enrollEnv('connector', 'cli-wrong-ca');
    const impostor = await writeForeignCa(fx.scratch);
    const { code, stderr } = await runAgent(
      'connector',
      ['enroll', '--controller-ca-path', impostor],
      env,
    );
    expect(code).toBe(3);
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toContain(
      `error ERR_CONTROLLER_UNTRUSTED: the controller at ${env.CONTROLLER_ADDR} is not trusted: its certificate does not verify against CONTROLLER_CA_PATH ${impostor}`,
    );
  });

  it('exits 1 naming a missing setting', async () => {
    const { code, stderr } = await runAgent('connector', ['enroll'], {
      STATE_DIR: path.join(fx.scratch, 'nothing'),
    });
    expect(code).toBe(1);
    expect(stderr).toEqual([
      'error ERR_CONFIG_MISSING: ENROLLMENT_TOKEN is not set: sigil-connector enroll needs it (env ENROLLMENT_TOKEN, flag --enrollment-token or enrollment_token in the config file)',
    ]);
    const notEnrolled = await runAgent('connector', ['run'], {
      STATE_DIR: path.join(fx.scratch, 'nothing'),
    });
    expect(notEnrolled.code).toBe(1);
    expect(notEnrolled.stderr[0]).toMatch(
      /^error ERR_NOT_ENROLLED: no connector identity in STATE_DIR .*nothing: run `sigil-connector enroll` first/,
    );
  });

  it('survives kill -9: run again with the same STATE_DIR and no token', async () => {
    const env = await fx.enrollEnv('connector', 'cli-kill');
    expect((await runAgent('connector', ['enroll'], env)).code).toBe(0);
    const runEnv = {
      STATE_DIR: env.STATE_DIR,
      AGENT_HTTP_ADDR: '127.0.0.1:0',
      CONNECTOR_LISTEN_ADDR: '127.0.0.1:0',
      SIGIL_WORKLOAD_API_SOCKET: 'off',
      HEARTBEAT_INTERVAL: '200ms',
    };
    const readyz = async (agent: ReturnType<typeof spawnAgent>): Promise<void> => {
      const { httpUrl } = await agent.next('agent.started');
      await waitFor(
        'readyz 200',
        async () => (await fetch(`${String(httpUrl)}/readyz`)).status === 200,
      );
    };

    const first = spawnAgent('connector', ['run'], runEnv);
    await readyz(first);
    first.child.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });

    const second = spawnAgent('connector', ['run'], runEnv);
    await readyz(second);
    await waitFor('the connector connected again', () =>
      fx.controller.listConnectors().find((c) => c.id === 'cli-kill' && c.connected),
    );
    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expect(second.records.some((record) => record.event === 'shutdown.completed')).toBe(true);
  });
});
