// scripts/setup.sh and scripts/tunneler-setup.sh end to end: into a throwaway --root, against a
// real sigil-controller process, from the checkout and from a release artefact (what
// deploy/docker's build stage deploys, as a directory and as a .tgz). The result is checked file
// by file with modes and owners; a second run changes nothing; --uninstall removes it; missing
// settings, an unreachable controller and a used token fail with one clear line.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { validateX509Svid } from '@sigil/pki';
import { startControllerProcess, type ControllerProcess } from './support/controller';
import { REPO, runScript, snapshot } from './support/install';

const asRoot = process.getuid?.() === 0;
if (!asRoot)
  process.stdout.write('install scripts: skipped: they install root-owned files; run as root\n');
const describeAsRoot = asRoot ? describe : describe.skip;

// pnpm deploy of an agent takes 10 s on an idle machine, much longer on a loaded one.
jest.setTimeout(600_000);

let controller: ControllerProcess;
let scratch: string;
let tunnelerTgz: string;

/** A release artefact: the agent deployed as deploy/docker's build stage deploys it. */
function deployAgent(kind: 'connector' | 'tunneler'): string {
  const out = path.join(scratch, `${kind}-app`);
  execFileSync(
    'pnpm',
    [
      '--offline',
      '--config.inject-workspace-packages=true',
      '--filter',
      `@sigil/${kind}`,
      'deploy',
      '--prod',
      out,
    ],
    {
      cwd: REPO,
      stdio: 'ignore',
    },
  );
  return out;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Entries outside the installed program tree (checked separately): `type+mode uid:gid`. */
function layout(root: string, kind: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const [file, entry] of snapshot(root)) {
    if (file.startsWith(`opt/sigil/${kind}/`)) continue;
    const [mode, owner, ...rest] = entry.split(' ');
    entries[file] = [mode, owner, ...(mode!.startsWith('l') ? rest : [])].join(' ');
  }
  return entries;
}

function filesContaining(root: string, needle: string): string[] {
  return [...snapshot(root).entries()]
    .filter(([, entry]) => entry.startsWith('f'))
    .map(([file]) => file)
    .filter((file) => readFileSync(path.join(root, file), 'utf8').includes(needle));
}

beforeAll(async () => {
  if (!asRoot) return;
  scratch = mkdtempSync(path.join(tmpdir(), 'sigil-deploy-install-'));
  controller = await startControllerProcess();
  tunnelerTgz = path.join(scratch, 'sigil-tunneler-0.1.0.tgz');
  execFileSync('tar', ['-czf', tunnelerTgz, '-C', deployAgent('tunneler'), '.']);
}, 600_000);

afterAll(async () => {
  await controller?.stop();
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
});

describeAsRoot('setup.sh (connector)', () => {
  let root: string;
  let token: string;
  let env: Record<string, string>;
  // The tree the first test installed, as a release artefact (a deployed @sigil/connector).
  const installed = (): string => path.join(root, 'opt/sigil/connector');

  beforeAll(async () => {
    root = mkdtempSync(path.join(scratch, 'root-connector-'));
    token = await controller.createToken('connector', 'connector-vm-01');
    env = {
      CONTROLLER_ADDR: controller.grpcAddress,
      CONNECTOR_ID: 'connector-vm-01',
      CONTROLLER_CA_PATH: controller.bootstrapCaPath,
      PRIVATE_IP: '10.1.2.3',
      AGENT_HTTP_ADDR: '127.0.0.1:9190',
    };
  });

  test('installs from the checkout, enrolls once and enables the unit, file by file', async () => {
    const run = await runScript(
      'setup.sh',
      ['--root', root],
      { ...env, ENROLLMENT_TOKEN: token },
      token,
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.leaks).toEqual([]);
    expect(run.stdout).toContain('enrolled connector connector-vm-01');
    expect(run.stdout).toContain('skipped (--root): systemctl daemon-reload');
    expect(run.stdout).toContain('skipped (--root): systemctl start sigil-connector.service');

    expect(layout(root, 'connector')).toEqual({
      etc: 'd0755 0:0',
      'etc/sigil': 'd0755 0:0',
      'etc/sigil/connector.conf': 'f0644 0:0',
      'etc/sigil/controller-ca.crt': 'f0644 0:0',
      'etc/systemd': 'd0755 0:0',
      'etc/systemd/system': 'd0755 0:0',
      'etc/systemd/system/multi-user.target.wants': 'd0755 0:0',
      'etc/systemd/system/multi-user.target.wants/sigil-connector.service':
        'l0777 0:0 -> /etc/systemd/system/sigil-connector.service',
      'etc/systemd/system/sigil-connector.service': 'f0644 0:0',
      opt: 'd0755 0:0',
      'opt/sigil': 'd0755 0:0',
      'opt/sigil/connector': 'd0755 0:0',
      usr: 'd0755 0:0',
      'usr/bin': 'd0755 0:0',
      'usr/bin/sigil-connector': 'l0777 0:0 -> ../../opt/sigil/connector/bin/sigil-connector.js',
      var: 'd0755 0:0',
      'var/lib': 'd0755 0:0',
      'var/lib/sigil-connector': 'd0700 0:0',
      'var/lib/sigil-connector/agent.json': 'f0644 0:0',
      'var/lib/sigil-connector/ca.crt': 'f0644 0:0',
      'var/lib/sigil-connector/controller-ca.crt': 'f0644 0:0',
      'var/lib/sigil-connector/tls.crt': 'f0644 0:0',
      'var/lib/sigil-connector/tls.key': 'f0600 0:0',
    });
    expect(readFileSync(path.join(root, 'etc/sigil/connector.conf'), 'utf8')).toBe(
      [
        '# Written by setup.sh. No secrets: the enrollment token never lands here.',
        `CONTROLLER_ADDR=${controller.grpcAddress}`,
        'CONNECTOR_ID=connector-vm-01',
        'CONTROLLER_CA_PATH=/etc/sigil/controller-ca.crt',
        'PRIVATE_IP=10.1.2.3',
        'AGENT_HTTP_ADDR=127.0.0.1:9190',
        '',
      ].join('\n'),
    );
    expect(readFileSync(path.join(root, 'etc/systemd/system/sigil-connector.service'))).toEqual(
      readFileSync(path.join(REPO, 'deploy/systemd/sigil-connector.service')),
    );
    expect(readFileSync(path.join(root, 'etc/sigil/controller-ca.crt'))).toEqual(
      readFileSync(controller.bootstrapCaPath),
    );
    const state = path.join(root, 'var/lib/sigil-connector');
    expect(
      validateX509Svid(
        readFileSync(path.join(state, 'tls.crt'), 'utf8'),
        readFileSync(path.join(state, 'ca.crt'), 'utf8'),
      ).spiffeId,
    ).toBe('spiffe://deploy.test/connector/connector-vm-01');
    // The program tree: root's, writable by nobody else, and it runs.
    const program = [...snapshot(root)].filter(([file]) => file.startsWith('opt/sigil/connector/'));
    expect(program.length).toBeGreaterThan(100);
    for (const [file, entry] of program) {
      const [mode, owner] = entry.split(' ');
      expect([file, owner]).toEqual([file, '0:0']);
      if (!mode!.startsWith('l'))
        expect([file, parseInt(mode!.slice(1), 8) & 0o022]).toEqual([file, 0]);
    }
    const help = spawnSync(path.join(root, 'usr/bin/sigil-connector'), ['--help'], {
      encoding: 'utf8',
    });
    expect(help.status).toBe(0);
    // The Workload API's SO_PEERCRED addon is built in the installed tree (pnpm deploy skips it).
    const addon = spawnSync(
      process.execPath,
      [
        '-e',
        "const dir = require('path').dirname(require.resolve('@sigil/workload-api/package.json', { paths: [process.argv[1]] })); const m = { exports: {} }; process.dlopen(m, dir + '/build/Release/peer_credentials.node'); console.log(typeof m.exports.peerCredentials)",
        path.join(root, 'opt/sigil/connector'),
      ],
      { encoding: 'utf8' },
    );
    expect({ status: addon.status, stdout: addon.stdout, stderr: addon.stderr }).toEqual({
      status: 0,
      stdout: 'function\n',
      stderr: '',
    });
    // The token is nowhere: not in the unit, the env file, the identity or the program.
    expect(filesContaining(root, token)).toEqual([]);
  });

  test('a second run changes nothing (and needs no token)', async () => {
    const before = snapshot(root);
    const run = await runScript('setup.sh', ['--root', root], env);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('already enrolled');
    expect(run.stdout).toContain('nothing changed');
    expect(run.stdout).not.toMatch(/wrote|installed \/opt|linked|daemon-reload/);
    expect(snapshot(root)).toEqual(before);
  });

  test('a used token is refused with exit 2, and nothing is enabled', async () => {
    const fresh = mkdtempSync(path.join(scratch, 'root-used-'));
    const run = await runScript(
      'setup.sh',
      ['--root', fresh, '--from', installed()],
      { ...env, ENROLLMENT_TOKEN: token },
      token,
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(
      /^setup\.sh: error: the controller at \S+ refused the enrollment token \(used, expired, unknown, or created for another id or kind\): create a new one for connector connector-vm-01 and run again\. The agent said: error ERR_ENROLLMENT_REFUSED: .*\n$/,
    );
    expect(run.leaks).toEqual([]);
    expect(existsSync(path.join(fresh, 'etc/systemd/system/multi-user.target.wants'))).toBe(false);
    expect(existsSync(path.join(fresh, 'var/lib/sigil-connector/agent.json'))).toBe(false);
  });

  test('an unreachable controller fails with exit 3, naming the address', async () => {
    const fresh = mkdtempSync(path.join(scratch, 'root-unreachable-'));
    const address = `127.0.0.1:${await closedPort()}`;
    const run = await runScript('setup.sh', ['--root', fresh, '--from', installed()], {
      ...env,
      CONTROLLER_ADDR: address,
      ENROLLMENT_TOKEN: await controller.createToken('connector', 'connector-vm-02'),
    });
    expect(run.status).toBe(3);
    expect(run.stderr).toMatch(
      new RegExp(
        `^setup\\.sh: error: cannot reach or trust the controller at ${address} \\(check the address, the firewall and CONTROLLER_CA_PATH\\)\\. The agent said: error ERR_CONTROLLER_UNREACHABLE: .*\\n$`,
      ),
    );
    expect(existsSync(path.join(fresh, 'etc/systemd/system/multi-user.target.wants'))).toBe(false);
  });

  test.each(['CONTROLLER_ADDR', 'CONNECTOR_ID', 'CONTROLLER_CA_PATH'])(
    'a missing %s fails with exit 1 before anything is installed',
    async (missing) => {
      const fresh = mkdtempSync(path.join(scratch, 'root-missing-'));
      const run = await runScript('setup.sh', ['--root', fresh, '--from', installed()], {
        ...Object.fromEntries(Object.entries(env).filter(([key]) => key !== missing)),
        ENROLLMENT_TOKEN: 'unused',
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toBe(
        `setup.sh: error: ${missing} is not set (run with --help for every setting)\n`,
      );
      expect(snapshot(fresh).size).toBe(0);
    },
  );

  test('a missing token, when not enrolled yet, fails with exit 1 naming ENROLLMENT_TOKEN', async () => {
    const fresh = mkdtempSync(path.join(scratch, 'root-no-token-'));
    const run = await runScript('setup.sh', ['--root', fresh, '--from', installed()], env);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      'setup.sh: error: ENROLLMENT_TOKEN (or ENROLLMENT_TOKEN_FILE) is not set: create a one-time token for connector connector-vm-01 (POST /api/admin/tokens) and pass it\n',
    );
  });

  test('--uninstall removes the unit, its files, settings and identity', async () => {
    const run = await runScript('setup.sh', ['--root', root, '--uninstall'], {});
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const left = [...snapshot(root)].filter(([, entry]) => !entry.startsWith('d'));
    expect(left).toEqual([]);
    for (const gone of ['etc/sigil', 'opt/sigil', 'var/lib/sigil-connector'])
      expect([gone, existsSync(path.join(root, gone))]).toEqual([gone, false]);
  });
});

describeAsRoot('tunneler-setup.sh (tunneler)', () => {
  test('installs from a .tgz release artefact with ENROLLMENT_TOKEN_FILE, which it deletes', async () => {
    const root = mkdtempSync(path.join(scratch, 'root-tunneler-'));
    const token = await controller.createToken('tunneler', 'tunneler-vm-01', 'connector-vm-01');
    const tokenFile = path.join(scratch, 'tunneler.token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    const env = {
      CONTROLLER_ADDR: controller.grpcAddress,
      CONNECTOR_ADDR: '10.1.2.4:9443',
      TUNNELER_ID: 'tunneler-vm-01',
      CONTROLLER_CA_PATH: controller.bootstrapCaPath,
      PRIVATE_IP: '10.1.2.5',
    };
    const run = await runScript(
      'tunneler-setup.sh',
      ['--root', root, '--from', tunnelerTgz],
      { ...env, ENROLLMENT_TOKEN_FILE: tokenFile },
      token,
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.leaks).toEqual([]);
    expect(existsSync(tokenFile)).toBe(false);
    expect(readFileSync(path.join(root, 'etc/sigil/tunneler.conf'), 'utf8')).toBe(
      [
        '# Written by tunneler-setup.sh. No secrets: the enrollment token never lands here.',
        `CONTROLLER_ADDR=${controller.grpcAddress}`,
        'TUNNELER_ID=tunneler-vm-01',
        'CONNECTOR_ADDR=10.1.2.4:9443',
        'CONTROLLER_CA_PATH=/etc/sigil/controller-ca.crt',
        'PRIVATE_IP=10.1.2.5',
        '',
      ].join('\n'),
    );
    const agent = JSON.parse(
      readFileSync(path.join(root, 'var/lib/sigil-tunneler/agent.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(agent).toMatchObject({
      kind: 'tunneler',
      agent_id: 'tunneler-vm-01',
      connector_id: 'connector-vm-01',
      connector_addr: '10.1.2.4:9443',
    });
    expect(layout(root, 'tunneler')).toMatchObject({
      'etc/sigil/tunneler.conf': 'f0644 0:0',
      'etc/systemd/system/sigil-tunneler.service': 'f0644 0:0',
      'etc/systemd/system/multi-user.target.wants/sigil-tunneler.service':
        'l0777 0:0 -> /etc/systemd/system/sigil-tunneler.service',
      'var/lib/sigil-tunneler': 'd0700 0:0',
      'var/lib/sigil-tunneler/tls.key': 'f0600 0:0',
    });
    expect(filesContaining(root, token)).toEqual([]);

    const before = snapshot(root);
    const again = await runScript(
      'tunneler-setup.sh',
      ['--root', root, '--from', tunnelerTgz],
      env,
    );
    expect(again.status).toBe(0);
    expect(snapshot(root)).toEqual(before);
  });

  test('a missing CONNECTOR_ADDR fails with exit 1', async () => {
    const run = await runScript(
      'tunneler-setup.sh',
      ['--root', mkdtempSync(path.join(scratch, 'root-missing-'))],
      {
        CONTROLLER_ADDR: controller.grpcAddress,
        TUNNELER_ID: 'tunneler-vm-02',
        CONTROLLER_CA_PATH: controller.bootstrapCaPath,
        ENROLLMENT_TOKEN: 'unused',
      },
    );
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      'tunneler-setup.sh: error: CONNECTOR_ADDR is not set (run with --help for every setting)\n',
    );
  });
});
