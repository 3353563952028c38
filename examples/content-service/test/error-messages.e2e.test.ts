// What a user sees when the sample services or their example client are misconfigured: the real
// processes (the built bins), one `error CODE: message` line that names the variable to fix.
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { createTestBench, type TestBench } from '@sigil/grpc-service/testing';
import { spawnBin } from '@sigil/testing';
import { assertBuilt, REPO_ROOT } from './helpers/service-process';

const CONTENT_SERVICE = join(REPO_ROOT, 'examples/content-service/bin/content-service.js');
const CLIENT = join(REPO_ROOT, 'examples/content-service/examples/phase1-client.js');

/** A loopback port something already listens on; `close` frees it. */
async function takenPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

async function run(script: string, env: Record<string, string>) {
  const bin = spawnBin(script, { env, cwd: REPO_ROOT });
  const { code } = await bin.exited;
  return {
    code,
    stderr: bin.stderr.filter((line) => line !== ''),
    stdout: bin.stdout.filter((line) => line !== ''),
  };
}

describe('sample service error messages (real processes)', () => {
  let bench: TestBench;
  beforeAll(async () => {
    assertBuilt();
    bench = await createTestBench({ trustDomain: 'sigil.test' });
    await bench.issue('content-service', 'svc/content-service');
    for (const name of ['admin', 'web']) await bench.issue(name, `client/${name}`);
  });
  afterAll(() => bench?.cleanup());

  const serviceEnv = (extra: Record<string, string>) =>
    bench.serviceEnv('content-service', {
      USER_SERVICE_ADDR: '127.0.0.1:1',
      GRPC_LISTEN_ADDR: '127.0.0.1:0',
      METRICS_LISTEN_ADDR: '127.0.0.1:0',
      ...extra,
    });

  it('names GRPC_SERVER_CERT_PATH with the file it cannot read', async () => {
    const result = await run(
      CONTENT_SERVICE,
      serviceEnv({ GRPC_SERVER_CERT_PATH: '/nope/tls.crt' }),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toEqual([
      'error ERR_FILE_UNREADABLE: GRPC_SERVER_CERT_PATH: /nope/tls.crt: cannot read (no such file)',
    ]);
  });

  it('names METRICS_LISTEN_ADDR when its port is in use', async () => {
    const taken = await takenPort();
    try {
      const address = `127.0.0.1:${taken.port}`;
      const result = await run(CONTENT_SERVICE, serviceEnv({ METRICS_LISTEN_ADDR: address }));
      expect(result.code).not.toBe(0);
      expect(result.stderr).toEqual([
        expect.stringMatching(
          new RegExp(
            `^error ERR_LISTEN_FAILED: cannot listen for HTTP on ${address} \\(METRICS_LISTEN_ADDR\\): .*EADDRINUSE`,
          ),
        ),
      ]);
    } finally {
      taken.server.close();
    }
  });

  it('the example client says nothing listens at the address, naming its variable, without a stack trace', async () => {
    const taken = await takenPort();
    taken.server.close(); // a port nothing listens on
    const address = `127.0.0.1:${taken.port}`;
    const result = await run(CLIENT, {
      CERTS_DIR: bench.dir,
      SIGIL_TRUST_DOMAIN: 'sigil.test',
      USER_SERVICE_ADDR: address,
    });
    expect(result).toEqual({
      code: 3,
      stdout: [],
      stderr: [
        expect.stringMatching(
          new RegExp(
            `^error ERR_SERVICE_UNREACHABLE: nothing listens at ${address} \\(USER_SERVICE_ADDR\\): start user-service there, or set USER_SERVICE_ADDR to its address \\(UNAVAILABLE: .*ECONNREFUSED`,
          ),
        ),
      ],
    });
  });
});
