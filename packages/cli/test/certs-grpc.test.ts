// Certificates from `sigil ca init --intermediate` and `sigil certs issue`, of several key types,
// served and dialled through @sigil/grpc-tls: a real grpc-js mTLS call over loopback.
import { join } from 'node:path';
import {
  createClientCredentials,
  createServerCredentials,
  loadClientTlsConfig,
  loadServerTlsConfig,
} from '@sigil/grpc-tls';
import { createMemoryLogger, EchoClient, startEchoServer, unary } from '@sigil/testing';
import { sigil, temporaryDirectory } from './support';

const tmp = temporaryDirectory('certs-grpc');
afterAll(() => tmp.remove());
const quiet = { watch: false, pollIntervalMs: 0, reloadOnSighup: false };

describe.each(['ec-p256', 'ec-p384', 'ed25519'] as const)(
  'a %s root, intermediate and leaves through @sigil/grpc-tls',
  (keyType) => {
    it('serves an mTLS call whose server chain is leaf then intermediate', async () => {
      const dir = (name: string) => join(tmp.dir, `${keyType}-${name}`);
      const runs = [
        [
          'ca',
          'init',
          '--out',
          dir('root'),
          '--trust-domain',
          'example.org',
          '--key-type',
          keyType,
        ],
        [
          'ca',
          'init',
          '--intermediate',
          '--parent',
          dir('root'),
          '--out',
          dir('mid'),
          '--key-type',
          keyType,
        ],
        ...(['server', 'client'] as const).map((name) => [
          'certs',
          'issue',
          '--ca',
          dir('mid'),
          '--out',
          dir(name),
          '--spiffe-id',
          `spiffe://example.org/svc/${name}`,
          '--dns',
          'localhost',
          '--key-type',
          keyType,
        ]),
      ];
      for (const args of runs) expect((await sigil(args)).code).toBe(0);
      const { logger } = createMemoryLogger();
      const server = await createServerCredentials(
        loadServerTlsConfig({ ...quiet, env: { GRPC_TLS_DIR: dir('server') } }),
        { logger },
      );
      const running = await startEchoServer({ credentials: server.credentials });
      const client = await createClientCredentials(
        loadClientTlsConfig({ ...quiet, env: { GRPC_TLS_DIR: dir('client') } }),
        { logger },
      );
      const echo = new EchoClient(
        `localhost:${running.port}`,
        client.credentials,
        client.channelOptions,
      );
      try {
        expect(await unary(echo, 'echo', { text: keyType })).toMatchObject({ text: keyType });
      } finally {
        echo.close();
        client.close();
        await running.close();
        server.close();
      }
    });
  },
);
