// Finds a container image builder that can actually build here: buildah, podman or docker, running
// (docker needs its engine) and able to pull the base image. Each one that cannot is named with
// the reason, so the test output says why only the Dockerfiles' structure was checked.
import { spawnSync } from 'node:child_process';

/** A builder able to build, or why none is. */
export interface BuilderProbe {
  tool?: 'buildah' | 'podman' | 'docker';
  /** One line per builder tried and why it cannot build. */
  reasons: string[];
}

function run(
  command: string,
  args: readonly string[],
  timeout: number,
): { ok: boolean; why: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout });
  if (result.error !== undefined) return { ok: false, why: result.error.message };
  const firstLine = `${result.stderr}${result.stdout}`.trim().split('\n')[0] ?? '';
  return { ok: result.status === 0, why: `exit ${String(result.status)}: ${firstLine}` };
}

/** The first builder that runs and pulls `baseImage`. */
export function probeBuilder(baseImage: string): BuilderProbe {
  const reasons: string[] = [];
  for (const tool of ['buildah', 'podman', 'docker'] as const) {
    const info = run(
      tool,
      tool === 'buildah' ? ['info'] : ['info', '--format', '{{json .}}'],
      30_000,
    );
    if (!info.ok) {
      reasons.push(`${tool}: not usable (${info.why})`);
      continue;
    }
    const pull = run(tool, ['pull', baseImage], 120_000);
    if (!pull.ok) {
      reasons.push(`${tool}: cannot pull ${baseImage} (${pull.why})`);
      continue;
    }
    return { tool, reasons };
  }
  return { reasons };
}

/** `<tool> build` of one Dockerfile with the repository root as context; throws with the log tail. */
export function buildImage(
  tool: NonNullable<BuilderProbe['tool']>,
  options: { dockerfile: string; tag: string; context: string },
): void {
  // The docker format keeps HEALTHCHECK (OCI image configs have no field for it).
  const format = tool === 'docker' ? [] : ['--format', 'docker'];
  const result = spawnSync(
    tool,
    ['build', ...format, '-f', options.dockerfile, '-t', options.tag, options.context],
    { encoding: 'utf8', timeout: 30 * 60_000, maxBuffer: 256 * 1024 * 1024 },
  );
  if (result.status !== 0)
    throw new Error(
      `${tool} build ${options.tag} failed: ${`${result.stdout}${result.stderr}`.slice(-4000)}`,
    );
}

/** The user an image runs as (`Config.User`). */
export function imageUser(tool: NonNullable<BuilderProbe['tool']>, tag: string): string {
  const args =
    tool === 'buildah'
      ? ['inspect', '--type', 'image', '--format', '{{.Docker.Config.User}}', tag]
      : ['image', 'inspect', '--format', '{{.Config.User}}', tag];
  return spawnSync(tool, args, { encoding: 'utf8', timeout: 60_000 }).stdout.trim();
}
