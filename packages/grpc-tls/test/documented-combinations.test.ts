// Every combination of server conventions that docs/grpc-tls.md lists (between the
// `combinations` markers of "Precedence and ambiguity") is run as written: the `starts` rows start
// a server on real files and answer a mutual-TLS call, the error rows fail with the documented code.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadClientTlsConfig, loadServerTlsConfig } from '../src';
import { whoAmI } from './support/echo-calls';
import { closeAll, dialConfig, QUIET, serveConfig } from './support/endpoints';
import { createPki, identityFiles, tempDir, writePlainSecret } from './support/fixtures';

interface Row {
  readonly env: Record<string, string>;
  readonly result: string;
}

function documentedRows(): Row[] {
  const doc = readFileSync(join(__dirname, '../../../docs/grpc-tls.md'), 'utf8');
  const table = /<!-- combinations:start -->\n([\s\S]*?)<!-- combinations:end -->/.exec(doc)![1]!;
  return table
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [envCell, result] = line
        .split('|')
        .slice(1, 3)
        .map((cell) => cell.trim());
      const env = Object.fromEntries(
        envCell!
          .replace(/`/g, '')
          .split(/\s+/)
          .map((pair) => pair.split('=') as [string, string]),
      );
      return { env, result: result! };
    });
}

const rows = documentedRows();
const dir = tempDir();
const secret = join(dir.path, 'grpc-tls');
const other = join(dir.path, 'other');
let clientSecret: string;

beforeAll(async () => {
  const pki = await createPki();
  const [server, another, client] = await Promise.all([
    pki.issue(),
    pki.issue(),
    pki.issue({ spiffeId: 'spiffe://example.org/svc/client' }),
  ]);
  writePlainSecret(secret, identityFiles(server));
  writePlainSecret(other, identityFiles(another));
  clientSecret = join(dir.path, 'client');
  writePlainSecret(clientSecret, identityFiles(client));
});
afterEach(closeAll);
afterAll(() => dir.remove());

/** The documented paths, on this machine. */
function localEnv(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([name, value]) => [
      name,
      value.replace('/etc/grpc-tls', secret).replace('/etc/other', other),
    ]),
  );
}

it('the docs list combinations that start and combinations that fail', () => {
  expect(rows.filter((r) => r.result.startsWith('starts')).length).toBeGreaterThanOrEqual(5);
  expect(rows.filter((r) => r.result.startsWith('`ERR_')).length).toBeGreaterThanOrEqual(3);
});

it.each(
  rows.map(
    (row) =>
      [
        Object.entries(row.env)
          .map(([k, v]) => `${k}=${v}`)
          .join(' '),
        row,
      ] as const,
  ),
)('%s', async (_name, row) => {
  const env = localEnv(row.env);
  const failure = /^`(ERR_[A-Z_]+)`$/.exec(row.result);
  if (failure) {
    expect(() => loadServerTlsConfig({ ...QUIET, env })).toThrow(
      expect.objectContaining({ code: failure[1] }),
    );
    return;
  }
  const origins = /^starts: (.*)$/.exec(row.result)![1]!;
  // "certificate, key, CA from `GRPC_TLS_DIR`", or "certificate `A`, key `B`, CA `C`".
  const all = /^certificate, key, CA from `([A-Z_]+)`$/.exec(origins)?.[1];
  const each = Object.fromEntries(
    [...origins.matchAll(/(certificate|key|CA) `([A-Z_]+)`/g)].map((m) => [m[1], m[2]]),
  );
  const want = all ? { certificate: all, key: all, CA: all } : each;
  const config = loadServerTlsConfig({ ...QUIET, env });
  expect({
    certificate: config.files?.certificate.origin,
    key: config.files?.privateKey.origin,
    CA: config.files?.ca?.origin,
  }).toEqual(want);
  const { running } = await serveConfig(config);
  const tls = await dialConfig(
    loadClientTlsConfig({ ...QUIET, env: { GRPC_TLS_DIR: clientSecret } }),
  );
  await expect(whoAmI(running.address, tls.credentials)).resolves.toMatchObject({
    peerUri: expect.stringContaining('URI:spiffe://example.org/svc/client'),
  });
});
