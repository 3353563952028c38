// `sigil doctor agent` on a real STATE_DIR: a connector enrolled with a real controller on
// loopback (embedded store), its identity persisted by @sigil/agent's identity store.
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createIdentityStore, enrollAgent } from '@sigil/agent';
import type { AgentIdentity } from '@sigil/agent';
import { createController } from '@sigil/controller';
import type { Controller } from '@sigil/controller';
import { createCertificateAuthority } from '@sigil/pki';
import { createMemoryLogger } from '@sigil/testing';
import { runDoctor } from './doctor-support';
import { sigil, temporaryDirectory } from './support';

describe('sigil doctor agent', () => {
  const tmp = temporaryDirectory('doctor-agent');
  const stateDir = join(tmp.dir, 'state');
  let controller: Controller;
  let identity: AgentIdentity;

  const doctor = (args: string[], now?: Date) =>
    runDoctor(['agent', ...args, '--timeout', '5s'], now ? { now } : {});
  /** A moment `fraction` of the way through the certificate's lifetime. */
  const through = (fraction: number) =>
    new Date(
      identity.notBefore.getTime() +
        fraction * (identity.notAfter.getTime() - identity.notBefore.getTime()),
    );

  beforeAll(async () => {
    controller = createController({
      dataDir: join(tmp.dir, 'controller'),
      trustDomain: 'doctor.sigil',
      controllerListenAddress: '127.0.0.1:0',
      adminListenAddress: '127.0.0.1:0',
      adminToken: 'doctor-admin-token-0123456789abcdef',
      logger: createMemoryLogger().logger,
    });
    await controller.start();
    const { token } = await controller.createEnrollmentToken({ kind: 'connector', id: 'edge-1' });
    identity = await enrollAgent({
      kind: 'connector',
      agentId: 'edge-1',
      token,
      controllerAddresses: [controller.grpcAddress],
      controllerCaPath: controller.bootstrapCaPath,
      controllerCaPem: readFileSync(controller.bootstrapCaPath, 'utf8'),
      version: '9.9.9-test',
      privateIp: '10.1.2.3',
      rounds: 1,
    });
    await createIdentityStore({ kind: 'connector', stateDir }).save(identity);
  });
  afterAll(async () => {
    await controller.stop({ graceMs: 200 }).catch(() => undefined);
    tmp.remove();
  });

  it('passes an enrolled connector whose controller answers, and exits 0', async () => {
    const { run, report } = await doctor(['--state-dir', stateDir]);
    expect(report.checks.map((c) => [c.check, c.status])).toEqual([
      ['agent-identity', 'pass'],
      ['chain-to-bundle', 'pass'],
      ['x509-svid', 'pass'],
      ['certificate-expiry', 'pass'],
      ['agent-renewal', 'pass'],
      ['controller-reachable', 'pass'],
      ['server-certificate', 'pass'],
      ['certificate-expiry', 'pass'],
      ['controller-trust', 'pass'],
      ['client-certificate-accepted', 'pass'],
      ['tls-version', 'pass'],
      ['alpn-h2', 'pass'],
      ['clock-skew', 'pass'],
    ]);
    expect(run.code).toBe(0);
    expect(report.checks[0]!.message).toMatch(
      /^connector edge-1 \(spiffe:\/\/doctor\.sigil\/connector\/edge-1\), enrolled .*, 0 renewal\(s\), bundle version \d+$/,
    );
    // The controller serves no grpc.health.v1, but its UNIMPLEMENTED answer still carries a date.
    expect(report.checks.at(-1)!.message).toMatch(/^this host's clock is \d+ s/);
  });

  it('warns about a stale identity the agent should have renewed', async () => {
    const { run, notPassing } = await doctor(['--state-dir', stateDir], through(0.8));
    expect(run.code).toBe(1);
    expect(notPassing).toEqual([
      expect.objectContaining({
        check: 'agent-renewal',
        status: 'warn',
        message: expect.stringMatching(/^stale: the certificate was due for renewal by /),
        fix: expect.stringContaining('systemctl status sigil-connector'),
      }),
    ]);
  });

  it('fails an expired identity, which can only enroll again', async () => {
    const { run, notPassing } = await doctor(['--state-dir', stateDir], through(1.01));
    expect(run.code).toBe(2);
    expect(notPassing).toEqual([
      expect.objectContaining({
        check: 'certificate-expiry',
        status: 'fail',
        message: expect.stringContaining('expired at'),
        fix: expect.stringContaining('enroll again with a new token'),
      }),
    ]);
  });

  it('fails a STATE_DIR open to other users, with the chmod', async () => {
    chmodSync(stateDir, 0o755);
    try {
      const { run, report } = await doctor(['--state-dir', stateDir]);
      expect(run.code).toBe(2);
      expect(report.checks).toEqual([
        expect.objectContaining({
          check: 'agent-identity',
          status: 'fail',
          message: expect.stringContaining(`run: chmod 700 ${stateDir}`),
        }),
      ]);
    } finally {
      chmodSync(stateDir, 0o700);
    }
  });

  it('fails a directory of the other kind and a directory with no identity', async () => {
    const wrongKind = await doctor(['--state-dir', stateDir, '--kind', 'tunneler']);
    expect(wrongKind.run.code).toBe(2);
    expect(wrongKind.report.checks).toEqual([
      expect.objectContaining({
        check: 'agent-identity',
        message: expect.stringContaining(
          'holds the identity of a connector (edge-1), not of a tunneler',
        ),
        fix: expect.stringContaining('enroll again with a new token'),
      }),
    ]);
    const empty = join(tmp.dir, 'empty');
    mkdirSync(empty, { mode: 0o700 });
    const none = await doctor(['--state-dir', empty]);
    expect(none.run.code).toBe(2);
    expect(none.report.checks).toEqual([
      expect.objectContaining({
        check: 'agent-identity',
        message: `no identity in ${empty}: the agent has not enrolled (or STATE_DIR points elsewhere)`,
      }),
    ]);
    rmSync(empty, { recursive: true });
  });

  it('passes a controller whose bootstrap CA changed: the agent verifies it through its bundle', async () => {
    // Another CA in controller-ca.crt: what an agent holds after the controller's bootstrap CA
    // was rotated. The controller's certificate is signed by the runtime CA, in the bundle.
    const pinned = join(stateDir, 'controller-ca.crt');
    const original = readFileSync(pinned, 'utf8');
    const rotated = await createCertificateAuthority({ trustDomain: 'doctor.sigil' });
    writeFileSync(pinned, rotated.certificatePem);
    try {
      const { run, notPassing } = await doctor(['--state-dir', stateDir]);
      expect(notPassing).toEqual([]);
      expect(run.code).toBe(0);
    } finally {
      writeFileSync(pinned, original);
    }
  });

  it('fails a controller that neither the bundle nor the pinned controller CA verifies', async () => {
    // Other CAs in controller-ca.crt and ca.crt: what an agent sees when the address now leads to
    // some other server.
    const files = ['controller-ca.crt', 'ca.crt'].map((name) => join(stateDir, name));
    const originals = files.map((file) => readFileSync(file, 'utf8'));
    for (const file of files)
      writeFileSync(
        file,
        (await createCertificateAuthority({ trustDomain: 'doctor.sigil' })).certificatePem,
      );
    try {
      const { run, notPassing } = await doctor(['--state-dir', stateDir]);
      expect(run.code).toBe(2);
      expect(notPassing).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            check: 'controller-trust',
            status: 'fail',
            subject: controller.grpcAddress,
            fix: expect.stringContaining(
              "verifies against neither the agent's bundle nor the CA pinned at enrollment",
            ),
          }),
        ]),
      );
    } finally {
      files.forEach((file, i) => writeFileSync(file, originals[i]!));
    }
  });

  it('refuses to run without --state-dir or STATE_DIR', async () => {
    const run = await sigil(['doctor', 'agent'], { env: {} });
    expect(run.code).toBe(64);
    expect(run.stderr).toContain('--state-dir: required (or set STATE_DIR)');
  });

  it('fails when the persisted controller address does not answer', async () => {
    const address = controller.grpcAddress;
    await controller.stop({ graceMs: 200 });
    const { run, notPassing } = await runDoctor(['agent'], { env: { STATE_DIR: stateDir } });
    expect(run.code).toBe(2);
    expect(notPassing).toEqual([
      expect.objectContaining({
        check: 'controller-reachable',
        status: 'fail',
        subject: address,
        message: 'connection refused (is the server listening on that port?)',
        fix: expect.stringMatching(/^start the controller, or make .* reachable from this host/),
      }),
    ]);
  });
});
