// Messages of the agent bins that point at the cause, against a real controller: a controller
// certificate for other names than the one checked is a name mismatch (not an untrusted CA), and
// `enroll` into an enrolled STATE_DIR says so instead of relaying the controller's "token used".
import { startControlPlane, type ControlPlaneFixture } from './support/control-plane';
import { killAll, runAgent } from './support/processes';

jest.setTimeout(60_000);

describe('sigil-connector messages, the real process against a real controller', () => {
  let fx: ControlPlaneFixture;
  beforeAll(async () => {
    fx = await startControlPlane();
  });
  afterAll(async () => {
    await killAll();
    await fx.cleanup();
  });

  it('exits 3 with ERR_CONTROLLER_NAME_MISMATCH naming the names the certificate holds and CONTROLLER_SERVER_NAME', async () => {
    const env = await fx.enrollEnv('connector', 'cli-wrong-name');
    const { code, stdout, stderr } = await runAgent('connector', ['enroll'], {
      ...env,
      CONTROLLER_SERVER_NAME: 'controller.wrong.example',
    });
    expect({ code, stdout }).toEqual({ code: 3, stdout: [] });
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(
      new RegExp(
        `^error ERR_CONTROLLER_NAME_MISMATCH: the controller at ${env.CONTROLLER_ADDR} has a certificate that verifies against CONTROLLER_CA_PATH ${env.CONTROLLER_CA_PATH} but is not for the name "controller\\.wrong\\.example" \\(it holds [^)]*DNS:[^)]+\\): set CONTROLLER_SERVER_NAME to one of its DNS names$`,
      ),
    );
    expect(stderr[0]).not.toContain('does not verify');
  });

  it('refuses enroll into an enrolled STATE_DIR: already enrolled, run `run`, or remove STATE_DIR', async () => {
    const env = await fx.enrollEnv('connector', 'cli-enrolled');
    expect((await runAgent('connector', ['enroll'], env)).code).toBe(0);
    const { code, stdout, stderr } = await runAgent('connector', ['enroll'], env);
    expect({ code, stdout }).toEqual({ code: 1, stdout: [] });
    expect(stderr).toEqual([
      `error ERR_AGENT_ALREADY_ENROLLED: STATE_DIR ${env.STATE_DIR} already holds the identity of connector cli-enrolled (spiffe://e2e.sigil/connector/cli-enrolled): already enrolled, run \`sigil-connector run\`, or remove STATE_DIR to enroll again`,
    ]);
  });
});
