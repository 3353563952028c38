// The seed conventions without code: selected by SIGIL_TLS_PREFIX, SIGIL_TLS_NAME and
// SIGIL_TLS_CONFIG_SECTION, never silently ignored, with real files and real handshakes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials as grpcCredentials } from '@grpc/grpc-js';
import { SigilError } from '@sigil/errors';
import type { IssuedCertificate } from '@sigil/pki';
import { loadClientTlsConfig, loadServerTlsConfig } from '../src';
import { whoAmI } from './support/echo-calls';
import { closeAll, dialConfig, QUIET, serveConfig } from './support/endpoints';
import type { Pki } from './support/fixtures';
import { createPki, tempDir, writePlainSecret } from './support/fixtures';

/** The CA of the controller's server certificate (a public CA, in MonkCI's guide). */
let serverPki: Pki;
/** The private CA that signs MIGlet client certificates. */
let clientPki: Pki;
let controller: IssuedCertificate;
let miglet: IssuedCertificate;
const dir = tempDir();

beforeAll(async () => {
  [serverPki, clientPki] = await Promise.all([createPki('public.example'), createPki('monkci.io')]);
  [controller, miglet] = await Promise.all([
    serverPki.ca.issue({ dnsNames: ['controller.monkci.io'], profile: 'server' }),
    clientPki.ca.issue({ dnsNames: ['miglet-001'], profile: 'client' }),
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
function write(name: string, content: string, mode = 0o644): string {
  const path = join(dir.path, `${(counter += 1)}-${name}`);
  writeFileSync(path, content, { mode });
  return path;
}

/** The controller of MonkCI's guide: GRPC_TLS_CERT/KEY with the private client CA. */
async function startController() {
  return serveConfig(
    loadServerTlsConfig({
      ...QUIET,
      env: {
        GRPC_TLS_CERT: write('server.crt', controller.chainPem),
        GRPC_TLS_KEY: write('server.key', controller.privateKeyPem!, 0o600),
        GRPC_TLS_CA: write('ca.crt', clientPki.ca.bundlePem),
      },
    }),
  );
}

/** MIGlet's environment (seed: MIGlet guide, section 4), files written for real. */
function migletEnv(): Record<string, string> {
  return {
    MIGLET_POOL_ID: 'my-pool',
    MIGLET_CONTROLLER_TLS_ENABLED: 'true',
    MIGLET_CONTROLLER_TLS_CA_CERT_PATH: write('miglet-ca.crt', serverPki.ca.bundlePem),
    MIGLET_CONTROLLER_TLS_CLIENT_CERT_PATH: write('client.crt', miglet.chainPem),
    MIGLET_CONTROLLER_TLS_CLIENT_KEY_PATH: write('client.key', miglet.privateKeyPem!, 0o600),
    MIGLET_CONTROLLER_TLS_SERVER_NAME: 'controller.monkci.io',
  };
}

describe('SIGIL_TLS_PREFIX selects a prefixed convention', () => {
  it('reads MIGLET_CONTROLLER_TLS_* with SIGIL_TLS_PREFIX=MIGLET_CONTROLLER_ and calls the controller', async () => {
    const { running } = await startController();
    const config = loadClientTlsConfig({
      ...QUIET,
      env: { ...migletEnv(), SIGIL_TLS_PREFIX: 'MIGLET_CONTROLLER_' },
    });
    expect(config.source).toBe('the MIGLET_CONTROLLER_TLS_* variables');
    expect(config.serverName).toBe('controller.monkci.io');
    expect(config.warnings).toEqual([]);
    const tls = await dialConfig(config);
    await expect(
      whoAmI(running.address, tls.credentials, tls.channelOptions),
    ).resolves.toBeDefined();
  });

  it('lets the option prefix beat SIGIL_TLS_PREFIX, and adds the trailing _', () => {
    const env = { ...migletEnv(), SIGIL_TLS_PREFIX: 'PARALLAX' };
    const error = failure(() => loadClientTlsConfig({ env }));
    expect(error.message).toContain('MIGLET_CONTROLLER_TLS_CA_CERT_PATH');
    expect(loadClientTlsConfig({ env, prefix: 'MIGLET_CONTROLLER' }).source).toBe(
      'the MIGLET_CONTROLLER_TLS_* variables',
    );
  });

  it('reads PARALLAX_CERTS_DIR/<SIGIL_TLS_NAME>/ with SIGIL_TLS_PREFIX=PARALLAX_', async () => {
    const certs = join(dir.path, 'parallax-certs');
    const pki = await createPki();
    const [service, agent] = await Promise.all([
      pki.issue({ spiffeId: 'spiffe://example.org/control-plane' }),
      pki.issue({ spiffeId: 'spiffe://example.org/agent' }),
    ]);
    for (const [name, issued] of [
      ['control-plane', service],
      ['agent', agent],
    ] as const) {
      mkdirSync(join(certs, name), { recursive: true });
      writeFileSync(join(certs, name, 'cert.pem'), issued.chainPem);
      writeFileSync(join(certs, name, 'key.pem'), issued.privateKeyPem!, { mode: 0o600 });
      writeFileSync(join(certs, name, 'ca.pem'), issued.caPem);
    }
    const base = {
      PARALLAX_TLS_ENABLED: 'true',
      PARALLAX_CERTS_DIR: certs,
      SIGIL_TLS_PREFIX: 'PARALLAX_',
    };
    const { running } = await serveConfig(
      loadServerTlsConfig({ ...QUIET, env: { ...base, SIGIL_TLS_NAME: 'control-plane' } }),
    );
    const tls = await dialConfig(
      loadClientTlsConfig({ ...QUIET, env: { ...base, SIGIL_TLS_NAME: 'agent' } }),
    );
    await expect(whoAmI(running.address, tls.credentials)).resolves.toMatchObject({
      peerUri: expect.stringContaining('URI:spiffe://example.org/agent'),
    });
    const noName = failure(() => loadServerTlsConfig({ env: base }));
    expect(noName.message).toContain('set SIGIL_TLS_NAME or pass { name }');
  });
});

describe('a known convention present but unread is never silent', () => {
  it('names the MIGlet variables and SIGIL_TLS_PREFIX instead of a bare "GRPC_SERVER_CA_CERT_PATH is not set"', () => {
    const error = failure(() => loadClientTlsConfig({ env: migletEnv() }));
    expect(error.code).toBe('ERR_TLS_ENV_MISSING');
    expect(error.message).toContain(
      'MIGLET_CONTROLLER_TLS_CA_CERT_PATH, MIGLET_CONTROLLER_TLS_CLIENT_CERT_PATH, MIGLET_CONTROLLER_TLS_CLIENT_KEY_PATH, MIGLET_CONTROLLER_TLS_ENABLED, MIGLET_CONTROLLER_TLS_SERVER_NAME are set but not read: set SIGIL_TLS_PREFIX=MIGLET_CONTROLLER_',
    );
  });

  it('names PARALLAX_CERTS_DIR with SIGIL_TLS_PREFIX and the entries SIGIL_TLS_NAME can take', () => {
    const certs = join(dir.path, 'parallax-listing');
    for (const name of ['control-plane', 'agent-proxy'])
      mkdirSync(join(certs, name), { recursive: true });
    const error = failure(() =>
      loadServerTlsConfig({ env: { PARALLAX_TLS_ENABLED: 'true', PARALLAX_CERTS_DIR: certs } }),
    );
    expect(error.message).toContain(
      'PARALLAX_CERTS_DIR, PARALLAX_TLS_ENABLED are set but not read: set SIGIL_TLS_PREFIX=PARALLAX_ and SIGIL_TLS_NAME=<agent-proxy|control-plane>',
    );
  });

  it('warns when the configuration is complete without them', async () => {
    const { handle } = await startController();
    const config = loadServerTlsConfig({
      env: {
        GRPC_TLS_CERT: handle.config.files!.certificate.path,
        GRPC_TLS_KEY: handle.config.files!.privateKey.path,
        GRPC_TLS_CA: handle.config.files!.ca!.path,
        UNKEY_METALD_TLS_MODE: 'file',
      },
    });
    expect(config.warnings).toEqual([
      expect.objectContaining({
        event: 'grpc_tls.convention_not_read',
        variables: ['UNKEY_METALD_TLS_MODE'],
      }),
    ]);
  });
});

describe('SIGIL_TLS_CONFIG with a MonkCI config file (controller.tls)', () => {
  function migletYaml(): string {
    // configs/miglet.yaml of the MIGlet guide (Option B), with the mTLS lines uncommented.
    return [
      'pool_id: "my-pool"',
      'vm_id: "miglet-001"',
      '',
      'controller:',
      '  grpc_endpoint: "CONTROLLER_IP:50051"',
      '  tls:',
      '    enabled: true',
      `    ca_cert_path: "${write('yaml-ca.crt', serverPki.ca.bundlePem)}"`,
      '    # For mTLS:',
      `    client_cert_path: "${write('yaml-client.crt', miglet.chainPem)}"`,
      `    client_key_path: "${write('yaml-client.key', miglet.privateKeyPem!, 0o600)}"`,
      '    # Override server name for certificate verification:',
      '    server_name: "controller.monkci.io"',
      '',
    ].join('\n');
  }

  it('says exactly which section to select when the file nests it', () => {
    const file = write('miglet.yaml', migletYaml());
    const error = failure(() => loadClientTlsConfig({ env: { SIGIL_TLS_CONFIG: file } }));
    expect(error.code).toBe('ERR_TLS_CONFIG_INVALID');
    expect(error.message).toBe(
      `SIGIL_TLS_CONFIG=${file} has no tls section (the default section "tls"); it has controller.tls: set SIGIL_TLS_CONFIG_SECTION=controller.tls (or pass { configSection: 'controller.tls' }) to read it`,
    );
  });

  it('works with SIGIL_TLS_CONFIG_SECTION=controller.tls: a real call to the controller', async () => {
    const { running } = await startController();
    const file = write('miglet.yaml', migletYaml());
    const config = loadClientTlsConfig({
      ...QUIET,
      env: { SIGIL_TLS_CONFIG: file, SIGIL_TLS_CONFIG_SECTION: 'controller.tls' },
    });
    expect(config.serverName).toBe('controller.monkci.io');
    const tls = await dialConfig(config);
    await expect(
      whoAmI(running.address, tls.credentials, tls.channelOptions),
    ).resolves.toBeDefined();
  });

  it('refuses a named section the file does not have', () => {
    const file = write('miglet.yaml', migletYaml());
    const error = failure(() =>
      loadClientTlsConfig({
        env: { SIGIL_TLS_CONFIG: file, SIGIL_TLS_CONFIG_SECTION: 'agent.tls' },
      }),
    );
    expect(error.message).toContain(
      'has no agent.tls section (SIGIL_TLS_CONFIG_SECTION=agent.tls); it has controller.tls',
    );
  });
});

describe('metald: <PREFIX>TLS_MODE', () => {
  it('never ignores UNKEY_METALD_TLS_MODE=disabled silently', () => {
    const error = failure(() =>
      loadClientTlsConfig({ env: { UNKEY_METALD_TLS_MODE: 'disabled' } }),
    );
    expect(error.message).toContain(
      'UNKEY_METALD_TLS_MODE is set but not read: set SIGIL_TLS_PREFIX=UNKEY_METALD_',
    );
  });

  it('runs disabled as plaintext asked for by name outside production, loudly', async () => {
    const env = { SIGIL_TLS_PREFIX: 'UNKEY_METALD_', UNKEY_METALD_TLS_MODE: 'disabled' };
    const serverConfig = loadServerTlsConfig({ env });
    expect(serverConfig.mode).toBe('insecure');
    expect(serverConfig.warnings).toEqual([
      expect.objectContaining({
        event: 'grpc_tls.insecure_mode',
        message: expect.stringContaining('TLS is DISABLED (UNKEY_METALD_TLS_MODE=disabled)'),
      }),
    ]);
    const { running, logs } = await serveConfig(serverConfig);
    expect(logs.records).toContainEqual(
      expect.objectContaining({ event: 'grpc_tls.insecure_mode', level: 40 }),
    );
    const tls = await dialConfig(loadClientTlsConfig({ env }));
    await expect(whoAmI(running.address, tls.credentials)).resolves.toEqual({});
    await expect(whoAmI(running.address, grpcCredentials.createInsecure())).resolves.toEqual({});
  });

  it.each(['production', 'Production', 'staging'])(
    'refuses disabled with NODE_ENV=%s',
    (nodeEnv) => {
      const error = failure(() =>
        loadServerTlsConfig({
          env: {
            NODE_ENV: nodeEnv,
            SIGIL_TLS_PREFIX: 'UNKEY_METALD_',
            UNKEY_METALD_TLS_MODE: 'disabled',
          },
        }),
      );
      expect(error.code).toBe('ERR_TLS_INSECURE_IN_PRODUCTION');
      expect(error.message).toContain('UNKEY_METALD_TLS_MODE=disabled asks for plaintext');
    },
  );

  it('reads UNKEY_METALD_TLS_MODE=spiffe with UNKEY_METALD_SPIFFE_SOCKET (a bare path) as mode spiffe', () => {
    const config = loadClientTlsConfig({
      env: {
        SIGIL_TLS_PREFIX: 'UNKEY_METALD_',
        UNKEY_METALD_TLS_MODE: 'spiffe',
        UNKEY_METALD_SPIFFE_SOCKET: '/run/spire/agent.sock',
        SPIFFE_ENDPOINT_SOCKET: 'unix:///ignored.sock',
      },
    });
    expect(config).toMatchObject({
      mode: 'spiffe',
      spiffeEndpoint: {
        address: 'unix:///run/spire/agent.sock',
        origin: 'UNKEY_METALD_SPIFFE_SOCKET',
      },
    });
  });

  it('refuses mode spiffe without SPIFFE_ENDPOINT_SOCKET, and a malformed one, naming the variable', () => {
    const missing = failure(() => loadServerTlsConfig({ env: { SIGIL_TLS_MODE: 'spiffe' } }));
    expect(missing.code).toBe('ERR_TLS_ENV_MISSING');
    expect(missing.message).toMatch(
      /^SIGIL_TLS_MODE selects mode "spiffe" but SPIFFE_ENDPOINT_SOCKET is not set/,
    );
    const malformed = failure(() =>
      loadServerTlsConfig({
        env: { SIGIL_TLS_MODE: 'spiffe', SPIFFE_ENDPOINT_SOCKET: 'http://127.0.0.1:8081' },
      }),
    );
    expect(malformed.code).toBe('ERR_CONFIG_INVALID');
    expect(malformed.message).toMatch(
      /^SPIFFE_ENDPOINT_SOCKET=http:\/\/127.0.0.1:8081 is invalid: scheme http/,
    );
  });

  it('reads file mode with metald-style <P>TLS_CERT_FILE, _KEY_FILE, _CA_FILE, end to end', async () => {
    const pki = await createPki();
    const [server, client] = await Promise.all([
      pki.issue({ spiffeId: 'spiffe://example.org/metald' }),
      pki.issue({ spiffeId: 'spiffe://example.org/customer' }),
    ]);
    const envOf = (issued: IssuedCertificate) => ({
      SIGIL_TLS_PREFIX: 'UNKEY_METALD_',
      UNKEY_METALD_TLS_MODE: 'file',
      UNKEY_METALD_TLS_CERT_FILE: write('metald.crt', issued.chainPem),
      UNKEY_METALD_TLS_KEY_FILE: write('metald.key', issued.privateKeyPem!, 0o600),
      UNKEY_METALD_TLS_CA_FILE: write('metald-ca.crt', issued.caPem),
    });
    const { running } = await serveConfig(loadServerTlsConfig({ ...QUIET, env: envOf(server) }));
    const tls = await dialConfig(loadClientTlsConfig({ ...QUIET, env: envOf(client) }));
    await expect(whoAmI(running.address, tls.credentials)).resolves.toMatchObject({
      peerUri: expect.stringContaining('URI:spiffe://example.org/customer'),
    });
  });

  it('refuses SIGIL_TLS_MODE and <P>TLS_MODE that disagree, and a value metald does not have', () => {
    const env = {
      SIGIL_TLS_PREFIX: 'UNKEY_METALD_',
      UNKEY_METALD_TLS_MODE: 'disabled',
      SIGIL_TLS_MODE: 'file',
    };
    expect(failure(() => loadServerTlsConfig({ env })).code).toBe('ERR_TLS_CONFIG_AMBIGUOUS');
    const bad = failure(() =>
      loadServerTlsConfig({
        env: { ...env, SIGIL_TLS_MODE: undefined, UNKEY_METALD_TLS_MODE: 'off' },
      }),
    );
    expect(bad.message).toContain('UNKEY_METALD_TLS_MODE');
    expect(bad.message).toContain('use file, disabled or spiffe');
  });
});

describe('a server certificate from another CA than the client CA', () => {
  it('starts with a public server certificate and a private client CA (MonkCI, Nova), and verifies clients with the client CA', async () => {
    const { running } = await startController();
    const outsider = await serverPki.ca.issue({ dnsNames: ['outsider'], profile: 'client' });
    const dial = async (issued: IssuedCertificate) =>
      dialConfig(
        loadClientTlsConfig({
          ...QUIET,
          env: {
            GRPC_SERVER_CA_CERT_PATH: write('ca.crt', serverPki.ca.bundlePem),
            GRPC_CLIENT_CERT_PATH: write('c.crt', issued.chainPem),
            GRPC_CLIENT_KEY_PATH: write('c.key', issued.privateKeyPem!, 0o600),
            GRPC_SERVER_DOMAIN: 'controller.monkci.io',
          },
        }),
      );
    const good = await dial(miglet);
    await expect(
      whoAmI(running.address, good.credentials, good.channelOptions),
    ).resolves.toBeDefined();
    const bad = await dial(outsider);
    await expect(
      whoAmI(running.address, bad.credentials, bad.channelOptions),
    ).rejects.toMatchObject({
      code: 14,
    });
  });

  it.each([
    ['a CA of its own trust domain that did not sign it (a stale file)', ''],
    ['another trust domain’s bundle (federation)', 'partner.example'],
  ])(
    'keeps the check for an SVID next to %s, unless SIGIL_TLS_REQUIRE_ISSUED_BY_BUNDLE=false',
    async (_case, trustDomain) => {
      const [pki, bundle] = await Promise.all([
        createPki(),
        trustDomain ? createPki(trustDomain) : createPki(),
      ]);
      const svid = await pki.issue();
      const secret = join(dir.path, `svid-${(counter += 1)}`);
      writePlainSecret(secret, {
        cert: svid.chainPem,
        key: svid.privateKeyPem!,
        ca: bundle.ca.bundlePem,
      });
      await expect(
        serveConfig(loadServerTlsConfig({ ...QUIET, dir: secret })),
      ).rejects.toMatchObject({
        code: 'ERR_TLS_CA_MISMATCH',
      });
      const relaxed = loadServerTlsConfig({
        ...QUIET,
        env: { GRPC_TLS_DIR: secret, SIGIL_TLS_REQUIRE_ISSUED_BY_BUNDLE: 'false' },
      });
      expect(relaxed.requireIssuedByBundle).toBe(false);
      await expect(serveConfig(relaxed)).resolves.toBeDefined();
    },
  );

  it('checks a classic certificate too with requireIssuedByBundle: true', async () => {
    const secret = join(dir.path, 'classic-strict');
    writePlainSecret(secret, {
      cert: controller.chainPem,
      key: controller.privateKeyPem!,
      ca: clientPki.ca.bundlePem,
    });
    await expect(
      serveConfig(loadServerTlsConfig({ ...QUIET, dir: secret, requireIssuedByBundle: true })),
    ).rejects.toMatchObject({ code: 'ERR_TLS_CA_MISMATCH' });
  });
});
