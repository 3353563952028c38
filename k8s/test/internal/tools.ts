// The external tools some suites need (kubectl with kustomize v5, promtool). Where one is missing,
// the suite is skipped with a notice on a developer's machine, and fails with the install command
// in CI (CI=true), so that a CI machine without the tool can never pass silently.
import { spawnSync } from 'node:child_process';

/** An external tool, found or not. */
export interface ToolProbe {
  name: string;
  /** The version it reports; undefined when it is missing or unusable. */
  version?: string;
  /** Why it cannot be used, and how to install it. */
  problem?: string;
}

function run(
  command: string,
  args: readonly string[],
): { ok: boolean; stdout: string; why: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 });
  if (result.error !== undefined) return { ok: false, stdout: '', why: result.error.message };
  return {
    ok: result.status === 0,
    stdout: `${result.stdout}${result.stderr}`,
    why: `exit ${String(result.status)}: ${result.stderr.trim()}`,
  };
}

const INSTALL = 'install it with `bash scripts/ci-tools.sh`';

/** kubectl, usable only when it embeds kustomize v5 (the features k8s/ uses). */
export function probeKubectl(): ToolProbe {
  const probe = run('kubectl', ['version', '--client', '--output=json']);
  if (!probe.ok)
    return { name: 'kubectl', problem: `kubectl not runnable (${probe.why}); ${INSTALL}` };
  const version = (JSON.parse(probe.stdout) as { kustomizeVersion?: string }).kustomizeVersion;
  if (version?.startsWith('v5.') !== true)
    return {
      name: 'kubectl',
      problem: `kubectl embeds kustomize ${String(version)}, not v5; ${INSTALL}`,
    };
  return { name: 'kubectl', version: `kustomize ${version}` };
}

/** promtool, from Debian's `prometheus` package. */
export function probePromtool(): ToolProbe {
  const probe = run('promtool', ['--version']);
  if (!probe.ok)
    return { name: 'promtool', problem: `promtool not runnable (${probe.why}); ${INSTALL}` };
  return { name: 'promtool', version: /version (\S+)/.exec(probe.stdout)?.[1] ?? 'unknown' };
}

/**
 * `describe` when the tool is there; otherwise a visible skip, or in CI one failing test that
 * names the missing tool.
 */
export function describeWithTool(probe: ToolProbe, title: string, body: () => void): void {
  if (probe.problem === undefined) {
    describe(`${title} (${probe.name} ${probe.version})`, body);
    return;
  }
  if (process.env.CI === 'true') {
    describe(title, () => {
      test(`${probe.name} is installed`, () => {
        throw new Error(`CI=true and ${probe.problem}`);
      });
    });
    return;
  }
  console.warn(`SKIPPED ${title}: ${probe.problem}`);
  describe.skip(`${title} (skipped: ${probe.problem})`, body);
}
