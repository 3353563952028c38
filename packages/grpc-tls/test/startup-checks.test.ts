// Start-up checks: one clear error naming the variable and the file, before anything listens.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SigilError } from '@sigil/errors';
import type { IssuedCertificate } from '@sigil/pki';
import { createMemoryLogger } from '@sigil/testing';
import type { LoadServerTlsConfigOptions } from '../src';
import {
  createClientCredentials,
  createRotatingIdentity,
  createServerCredentials,
  loadClientTlsConfig,
  loadServerTlsConfig,
} from '../src';
import type { Pki } from './support/fixtures';
import { createPki, identityFiles, tempDir, writePlainSecret } from './support/fixtures';

let pki: Pki;
let otherPki: Pki;
let server: IssuedCertificate;
let other: IssuedCertificate;
const dir = tempDir();
afterAll(() => dir.remove());

beforeAll(async () => {
  [pki, otherPki] = await Promise.all([createPki(), createPki('other.example')]);
  [server, other] = await Promise.all([
    pki.issue(),
    pki.issue({ spiffeId: 'spiffe://example.org/svc/other' }),
  ]);
});

let counter = 0;
function files(parts: { cert: string; key: string; ca: string }): {
  cert: string;
  key: string;
  ca: string;
} {
  const path = join(dir.path, `case-${(counter += 1)}`);
  writePlainSecret(path, parts);
  return { cert: join(path, 'tls.crt'), key: join(path, 'tls.key'), ca: join(path, 'ca.crt') };
}

const quiet = { watch: false, pollIntervalMs: 0, reloadOnSighup: false };

async function startupError(
  options: LoadServerTlsConfigOptions,
  now?: () => Date,
): Promise<SigilError> {
  const outcome = await createServerCredentials(loadServerTlsConfig({ ...quiet, ...options }), {
    logger: createMemoryLogger().logger,
    ...(now ? { now } : {}),
  }).then(
    (handle) => {
      handle.close();
      return new Error('expected start-up to fail');
    },
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(SigilError);
  return outcome as SigilError;
}

function defaultEnv(f: { cert: string; key: string; ca: string }) {
  return {
    GRPC_SERVER_CERT_PATH: f.cert,
    GRPC_SERVER_KEY_PATH: f.key,
    GRPC_CLIENT_CA_CERT_PATH: f.ca,
  };
}

it('refuses a key that is not the certificate key, naming both variables and files', async () => {
  const f = files({ cert: server.chainPem, key: other.privateKeyPem!, ca: server.caPem });
  const error = await startupError({ env: defaultEnv(f) });
  expect(error.code).toBe('ERR_KEY_MISMATCH');
  expect(error.message).toContain(
    `GRPC_SERVER_KEY_PATH (${f.key}) is not the key of the certificate in GRPC_SERVER_CERT_PATH (${f.cert})`,
  );
});

it('refuses a certificate the configured CA did not sign (SPIFFE certificate)', async () => {
  const f = files({ cert: server.chainPem, key: server.privateKeyPem!, ca: otherPki.ca.bundlePem });
  const error = await startupError({ env: defaultEnv(f) });
  expect(error.code).toBe('ERR_TLS_CA_MISMATCH');
  expect(error.message).toMatch(
    new RegExp(
      `^GRPC_SERVER_CERT_PATH \\(${f.cert}\\) is not signed by the CA in GRPC_CLIENT_CA_CERT_PATH \\(${f.ca}\\)`,
    ),
  );
});

it('refuses a classic certificate the configured CA did not sign when SIGIL_TLS_REQUIRE_ISSUED_BY_BUNDLE=true', async () => {
  const classic = await pki.issue({
    spiffeId: undefined,
    dnsNames: ['echo.internal'],
    profile: 'server',
  });
  const f = files({
    cert: classic.chainPem,
    key: classic.privateKeyPem!,
    ca: otherPki.ca.bundlePem,
  });
  const error = await startupError({
    env: {
      GRPC_TLS_CERT: f.cert,
      GRPC_TLS_KEY: f.key,
      GRPC_TLS_CA: f.ca,
      SIGIL_TLS_REQUIRE_ISSUED_BY_BUNDLE: 'true',
    },
  });
  expect(error.code).toBe('ERR_TLS_CA_MISMATCH');
  expect(error.message).toContain(
    `GRPC_TLS_CERT (${f.cert}) is not signed by the CA in GRPC_TLS_CA (${f.ca}): its issuer "CN=example.org root CA"`,
  );
});

it('refuses an expired certificate', async () => {
  const expired = await pki.issue({ now: new Date(Date.now() - 3 * 86_400_000), ttlSeconds: 3600 });
  const f = files(identityFiles(expired));
  const error = await startupError({
    env: { GRPC_TLS_CERT: f.cert, GRPC_TLS_KEY: f.key, GRPC_TLS_CA: f.ca },
  });
  expect(error.code).toBe('ERR_CERT_EXPIRED');
  expect(error.message).toMatch(
    new RegExp(
      `^GRPC_TLS_CERT \\(${f.cert}\\): certificate spiffe://example.org/svc/echo expired at `,
    ),
  );
});

it('warns at start when the certificate is inside the warning window', async () => {
  const longLived = await pki.issue({ ttlSeconds: 90 * 86_400 });
  const f = files(identityFiles(longLived));
  const start = async (now: Date) => {
    const logs = createMemoryLogger();
    const handle = await createServerCredentials(
      loadServerTlsConfig({ ...quiet, env: defaultEnv(f) }),
      { logger: logs.logger, now: () => now },
    );
    handle.close();
    return logs;
  };
  expect(
    (await start(new Date())).records.find((r) => r.event === 'grpc_tls.cert_expiring_soon'),
  ).toBeUndefined();
  const late = await start(new Date(longLived.notAfter.getTime() - 10 * 86_400_000 + 3_600_000));
  expect(late.records.find((r) => r.event === 'grpc_tls.cert_expiring_soon')).toMatchObject({
    level: 40,
    daysLeft: 9,
    file: `GRPC_SERVER_CERT_PATH (${f.cert})`,
  });
  expect(late.records.find((r) => r.event === 'grpc_tls.credentials_ready')).toMatchObject({
    side: 'server',
    mode: 'file',
    source: 'the GRPC_SERVER_* variables',
    serialNumber: longLived.serialNumber,
  });
});

it('names the variable of a file that cannot be read or is not PEM', async () => {
  const f = files(identityFiles(server));
  const missing = await startupError({
    env: { ...defaultEnv(f), GRPC_SERVER_CERT_PATH: join(dir.path, 'nope.crt') },
  });
  expect(missing.code).toBe('ERR_FILE_UNREADABLE');
  expect(missing.message).toBe(
    `GRPC_SERVER_CERT_PATH: ${join(dir.path, 'nope.crt')}: cannot read (no such file)`,
  );
  writeFileSync(f.cert, server.chainPem.slice(0, 200));
  const truncated = await startupError({ env: { GRPC_TLS_DIR: join(f.cert, '..') } });
  expect(truncated.code).toBe('ERR_PEM_MALFORMED');
  expect(truncated.message).toMatch(new RegExp(`^GRPC_TLS_DIR: ${f.cert}: truncated PEM`));
});

it('checks the client identity the same way', async () => {
  const f = files({ cert: server.chainPem, key: other.privateKeyPem!, ca: server.caPem });
  const error = await createClientCredentials(
    loadClientTlsConfig({
      ...quiet,
      env: {
        GRPC_SERVER_CA_CERT_PATH: f.ca,
        GRPC_CLIENT_CERT_PATH: f.cert,
        GRPC_CLIENT_KEY_PATH: f.key,
      },
    }),
    {
      logger: createMemoryLogger().logger,
    },
  ).catch((err: unknown) => err);
  expect(error).toMatchObject({
    code: 'ERR_KEY_MISMATCH',
    message: expect.stringContaining(`GRPC_CLIENT_KEY_PATH (${f.key})`),
  });
});

it('checks in-memory identities when they are created', () => {
  expect(() =>
    createRotatingIdentity({
      certificateChainPem: server.chainPem,
      privateKeyPem: other.privateKeyPem!,
      caPem: server.caPem,
    }),
  ).toThrow(
    expect.objectContaining({
      code: 'ERR_KEY_MISMATCH',
      message: expect.stringContaining(
        'privateKeyPem is not the key of the certificate in certificateChainPem',
      ),
    }),
  );
  expect(() =>
    createRotatingIdentity({
      certificateChainPem: server.chainPem,
      privateKeyPem: server.privateKeyPem!,
      caPem: otherPki.ca.bundlePem,
    }),
  ).toThrow(expect.objectContaining({ code: 'ERR_TLS_CA_MISMATCH' }));
});
