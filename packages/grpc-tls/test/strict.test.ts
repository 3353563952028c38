// Strict where it matters: the production guard fails closed, private keys must be owner-only,
// and dev mode (by name, `development()`) works across processes but never in production.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SigilError } from '@sigil/errors';
import type { IssuedCertificate } from '@sigil/pki';
import { spawnBin } from '@sigil/testing';
import { ClientTlsConfig, loadClientTlsConfig, loadServerTlsConfig, ServerTlsConfig } from '../src';
import { whoAmI, whoAmIFails } from './support/echo-calls';
import { closeAll, dialConfig, QUIET, serveConfig } from './support/endpoints';
import type { Pki } from './support/fixtures';
import { createPki, tempDir, writeKubeletSecret } from './support/fixtures';

let pki: Pki;
let server: IssuedCertificate;
let client: IssuedCertificate;
const dir = tempDir();

beforeAll(async () => {
  pki = await createPki();
  [server, client] = await Promise.all([
    pki.issue(),
    pki.issue({ spiffeId: 'spiffe://example.org/svc/client' }),
  ]);
});
afterEach(closeAll);
afterAll(() => dir.remove());

function failure(load: () => unknown): SigilError {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(SigilError);
    return err as SigilError;
  }
  throw new Error('expected a SigilError');
}

let counter = 0;
function write(name: string, content: string, mode: number): string {
  const path = join(dir.path, `${(counter += 1)}-${name}`);
  writeFileSync(path, content, { mode });
  chmodSync(path, mode); // exactly, whatever the umask
  return path;
}

describe('the production guard normalises NODE_ENV and fails closed', () => {
  const production = [
    'production',
    'Production',
    'PRODUCTION',
    'production ',
    ' production',
    'prod',
    'staging',
  ];
  const insecureClient = {
    MIGLET_CONTROLLER_TLS_INSECURE_SKIP_VERIFY: 'true',
    MIGLET_CONTROLLER_TLS_CLIENT_CERT_PATH: '/c',
    MIGLET_CONTROLLER_TLS_CLIENT_KEY_PATH: '/k',
  };

  it.each(production)('NODE_ENV=%j refuses dev, insecure and skip-verify', (nodeEnv) => {
    const env = { NODE_ENV: nodeEnv };
    expect(
      failure(() => loadServerTlsConfig({ env: { ...env, SIGIL_TLS_MODE: 'dev' } })).code,
    ).toBe('ERR_TLS_DEV_IN_PRODUCTION');
    expect(failure(() => ServerTlsConfig.development({ env })).code).toBe(
      'ERR_TLS_DEV_IN_PRODUCTION',
    );
    const insecure = failure(() =>
      loadServerTlsConfig({ env: { ...env, SIGIL_TLS_MODE: 'insecure' } }),
    );
    expect(insecure.code).toBe('ERR_TLS_INSECURE_IN_PRODUCTION');
    expect(insecure.message).toContain(
      `because NODE_ENV=${/^\S+$/.test(nodeEnv) ? nodeEnv : JSON.stringify(nodeEnv)} counts as production`,
    );
    expect(
      failure(() =>
        loadClientTlsConfig({ prefix: 'MIGLET_CONTROLLER_', env: { ...env, ...insecureClient } }),
      ).code,
    ).toBe('ERR_TLS_INSECURE_IN_PRODUCTION');
  });

  it.each([undefined, '', 'development', ' Development ', 'test', 'dev', 'local'])(
    'NODE_ENV=%j is not production',
    (nodeEnv) => {
      const env = nodeEnv === undefined ? {} : { NODE_ENV: nodeEnv };
      expect(ServerTlsConfig.development({ env }).mode).toBe('dev');
      expect(loadServerTlsConfig({ env: { ...env, SIGIL_TLS_MODE: 'insecure' } }).mode).toBe(
        'insecure',
      );
    },
  );
});

describe('private keys readable by group or others are refused', () => {
  const serverEnv = (keyMode: number) => ({
    GRPC_SERVER_CERT_PATH: write('tls.crt', server.chainPem, 0o644),
    GRPC_SERVER_KEY_PATH: write('tls.key', server.privateKeyPem!, keyMode),
    GRPC_CLIENT_CA_CERT_PATH: write('ca.crt', server.caPem, 0o644),
  });

  it.each([
    ['0644', 'readable by its group and every user'],
    ['0640', 'readable by its group'],
    ['0604', 'readable by every user'],
  ])(
    'refuses a server key of mode %s, naming the variable, the file and the chmod',
    async (octal, readers) => {
      const env = serverEnv(parseInt(octal, 8));
      const key = env.GRPC_SERVER_KEY_PATH;
      await expect(serveConfig(loadServerTlsConfig({ ...QUIET, env }))).rejects.toMatchObject({
        code: 'ERR_KEY_PERMISSIONS',
        message: `GRPC_SERVER_KEY_PATH: ${key} is a private key with mode ${octal}, ${readers}: a private key must be accessible to its owner only; run: chmod 600 ${key} (for a Kubernetes Secret volume, set defaultMode: 0400, or 0440 with fsGroup)`,
      });
    },
  );

  it('serves once the key is chmod 600, and judges a Secret volume symlink by its target', async () => {
    const env = serverEnv(0o644);
    chmodSync(env.GRPC_SERVER_KEY_PATH, 0o600);
    const { running } = await serveConfig(loadServerTlsConfig({ ...QUIET, env }));
    const secret = join(dir.path, 'kubelet');
    writeKubeletSecret(secret, {
      cert: client.chainPem,
      key: client.privateKeyPem!,
      ca: client.caPem,
    });
    const tls = await dialConfig(loadClientTlsConfig({ ...QUIET, env: { GRPC_TLS_DIR: secret } }));
    await expect(whoAmI(running.address, tls.credentials)).resolves.toBeDefined();
    chmodSync(join(secret, '..data', 'tls.key'), 0o644);
    await expect(
      dialConfig(loadClientTlsConfig({ ...QUIET, env: { GRPC_TLS_DIR: secret } })),
    ).rejects.toMatchObject({
      code: 'ERR_KEY_PERMISSIONS',
      message: expect.stringMatching(/^GRPC_TLS_DIR: /),
    });
  });

  it('refuses a client key of mode 0644 the same way', async () => {
    const key = write('client.key', client.privateKeyPem!, 0o644);
    await expect(
      dialConfig(
        loadClientTlsConfig({
          ...QUIET,
          env: {
            GRPC_SERVER_CA_CERT_PATH: write('ca.crt', client.caPem, 0o644),
            GRPC_CLIENT_CERT_PATH: write('client.crt', client.chainPem, 0o644),
            GRPC_CLIENT_KEY_PATH: key,
          },
        }),
      ),
    ).rejects.toMatchObject({
      code: 'ERR_KEY_PERMISSIONS',
      message: expect.stringContaining(
        `GRPC_CLIENT_KEY_PATH: ${key} is a private key with mode 0644`,
      ),
    });
  });
});

describe('ServerTlsConfig.development() and ClientTlsConfig.development()', () => {
  it('selects dev mode by name, whatever files the environment names', async () => {
    const env = { GRPC_TLS_DIR: '/etc/grpc-tls' };
    const serverConfig = ServerTlsConfig.development({ ...QUIET, env });
    expect(serverConfig).toMatchObject({ mode: 'dev', source: 'option mode' });
    const { running } = await serveConfig(serverConfig);
    const tls = await dialConfig(ClientTlsConfig.development({ ...QUIET, env }));
    await expect(whoAmI(running.address, tls.credentials)).resolves.toMatchObject({
      peerUri: expect.stringContaining('URI:spiffe://dev.sigil.local/dev/client'),
    });
  });

  it('works across two processes sharing GRPC_TLS_DEV_CA_DIR, and not without it', async () => {
    const caDir = join(dir.path, 'dev-ca');
    const child = spawnBin(join(__dirname, 'support/dev-server-child.ts'), {
      nodeArgs: ['-r', join(__dirname, '../../../scripts/register-ts.js')],
      env: { GRPC_TLS_DEV_CA_DIR: caDir, NODE_ENV: 'development' },
      stdin: 'pipe',
    });
    try {
      const ready = await child.next((record) => record['ready'] === true, 60_000);
      const address = `127.0.0.1:${String(ready['port'])}`;
      const shared = await dialConfig(
        ClientTlsConfig.development({ ...QUIET, env: { GRPC_TLS_DEV_CA_DIR: caDir } }),
      );
      expect(shared.config.devCaDir).toBe(caDir);
      await expect(whoAmI(address, shared.credentials)).resolves.toMatchObject({
        peerUri: expect.stringContaining('URI:spiffe://dev.sigil.local/dev/client'),
      });
      const alone = await dialConfig(ClientTlsConfig.development({ ...QUIET, env: {} }));
      await expect(whoAmIFails(address, alone.credentials)).resolves.toMatchObject({ code: 14 });
    } finally {
      child.child.stdin!.end();
      await child.exited;
    }
  }, 90_000); // the child transpiles the sources with TypeScript before it starts

  it('refuses a dev CA file other users can read', async () => {
    const caDir = join(dir.path, 'dev-ca-open');
    const options = { ...QUIET, env: { GRPC_TLS_DEV_CA_DIR: caDir } };
    await dialConfig(ClientTlsConfig.development(options));
    const file = join(caDir, 'dev-ca-dev.sigil.local.pem');
    chmodSync(file, 0o644);
    await expect(dialConfig(ClientTlsConfig.development(options))).rejects.toMatchObject({
      code: 'ERR_KEY_PERMISSIONS',
      message: expect.stringContaining(
        `GRPC_TLS_DEV_CA_DIR: ${file} is a private key with mode 0644`,
      ),
    });
  });
});
