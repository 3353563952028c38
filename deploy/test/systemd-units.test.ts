// The units of deploy/systemd/, checked by systemd's own tools: `systemd-analyze verify` in a
// throwaway root that holds systemd's units and the unit's ExecStart, and `systemd-analyze
// security --offline=yes` (exposure at most 2.0, "OK" or better).
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { UNITS, UNIT_DIR, hardeningBlock, unitSettings } from './support/units';

const SYSTEM_UNITS = '/usr/lib/systemd/system';
const scratch = mkdtempSync(path.join(tmpdir(), 'sigil-units-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** `systemd-analyze verify` of unit text, in a root of its own with ExecStart present. */
function verify(
  name: string,
  text: string,
  withExecutable = true,
): { status: number | null; stderr: string } {
  const root = mkdtempSync(path.join(scratch, 'root-'));
  mkdirSync(path.join(root, 'etc/systemd/system'), { recursive: true });
  mkdirSync(path.join(root, 'usr/lib/systemd'), { recursive: true });
  cpSync(SYSTEM_UNITS, path.join(root, 'usr/lib/systemd/system'), { recursive: true });
  writeFileSync(path.join(root, 'etc/systemd/system', name), text);
  const exec = unitSettings(text).get('ExecStart')![0]!.split(' ')[0]!;
  if (withExecutable) {
    mkdirSync(path.join(root, path.dirname(exec)), { recursive: true });
    writeFileSync(path.join(root, exec), '#!/bin/sh\n');
    chmodSync(path.join(root, exec), 0o755);
  }
  const result = spawnSync('systemd-analyze', ['verify', '--man=no', `--root=${root}`, name], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stderr: result.stderr.trim() };
}

/** The overall exposure and rating `systemd-analyze security --offline=yes` gives a unit file. */
function security(file: string): { exposure: number; rating: string } {
  const result = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', file], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  const match = /Overall exposure level for \S+: (\d+\.\d+) (\w+)/.exec(result.stdout);
  if (match === null)
    throw new Error(`systemd-analyze security said: ${result.stdout}${result.stderr}`);
  return { exposure: Number(match[1]), rating: match[2]! };
}

const scores: string[] = [];
afterAll(() => {
  // The measured figures, for the report and the README.
  process.stdout.write(`systemd-analyze security --offline=yes: ${scores.join(', ')}\n`);
});

describe.each(UNITS)('%s', (name) => {
  const file = path.join(UNIT_DIR, name);
  const text = readFileSync(file, 'utf8');
  const settings = unitSettings(text);

  test('systemd-analyze verify passes without a warning', () => {
    expect(verify(name, text)).toEqual({ status: 0, stderr: '' });
  });

  test('systemd-analyze security --offline=yes rates it OK or better (exposure at most 2.0)', () => {
    const { exposure, rating } = security(file);
    scores.push(`${name} ${exposure.toFixed(1)} ${rating}`);
    expect(['PERFECT', 'SAFE', 'OK']).toContain(rating);
    expect(exposure).toBeLessThanOrEqual(2.0);
  });

  test('has the hardening the issue names and restarts with a delay', () => {
    const expected: Record<string, string> = {
      DynamicUser: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      NoNewPrivileges: 'yes',
      PrivateTmp: 'yes',
      CapabilityBoundingSet: '',
      RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX',
      Restart: 'on-failure',
      RestartSec: '5s',
      StateDirectoryMode: '0700',
    };
    for (const [key, value] of Object.entries(expected))
      expect([key, settings.get(key)]).toEqual([key, [value]]);
    expect(settings.get('SystemCallFilter')?.[0]).toBe('@system-service');
    expect(settings.get('StateDirectory')).toEqual([name.replace('.service', '')]);
    expect(settings.get('StartLimitBurst')).toEqual(['10']);
  });

  test('an unknown directive or a missing ExecStart fails verify (the check can fail)', () => {
    expect(verify(name, text.replace('[Service]', '[Service]\nRestartStep=5'))).toEqual({
      status: 0,
      stderr: expect.stringContaining("Unknown key 'RestartStep'"),
    });
    expect(verify(name, text, false).status).not.toBe(0);
  });

  test('without its hardening block the unit is rated worse than OK (the check can fail)', () => {
    const bare = path.join(scratch, name);
    writeFileSync(bare, text.replace(hardeningBlock(text), ''));
    expect(security(bare).exposure).toBeGreaterThan(2.0);
  });
});

test('the three units share one hardening block', () => {
  const blocks = UNITS.map((name) =>
    hardeningBlock(readFileSync(path.join(UNIT_DIR, name), 'utf8'))
      .split('\n')
      .filter((line) => !line.startsWith('#'))
      .join('\n'),
  );
  expect(new Set(blocks).size).toBe(1);
});

test('the connector unit makes /run/sigil for the Workload API socket and can attest other users', () => {
  const settings = unitSettings(
    readFileSync(path.join(UNIT_DIR, 'sigil-connector.service'), 'utf8'),
  );
  expect(settings.get('RuntimeDirectory')).toEqual(['sigil']);
  expect(settings.get('RuntimeDirectoryMode')).toEqual(['0755']);
  // The relaxations come after the shared block: the last assignment is the one systemd keeps.
  expect(settings.get('ProtectProc')?.at(-1)).toBe('default');
  expect(settings.get('PrivateUsers')?.at(-1)).toBe('no');
});
