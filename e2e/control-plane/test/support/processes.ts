// Real agent processes: the bins exactly as users run them (they load dist/, so build first:
// `pnpm test` does). Every process started here is killed by killAll().
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { AgentKind } from '@sigil/agent';
import { spawnBin } from '@sigil/testing';
import type { BinProcess, SpawnBinOptions } from '@sigil/testing';

const ROOT = path.resolve(__dirname, '../../../..');

const running = new Set<BinProcess>();

/** Spawns `sigil-<kind> <args>` with exactly `env` (plus PATH), under `options.prefix` if given. */
export function spawnAgent(
  kind: AgentKind,
  args: string[],
  env: Record<string, string | undefined>,
  options: Pick<SpawnBinOptions, 'prefix'> = {},
): BinProcess {
  if (!existsSync(path.join(ROOT, 'services', kind, 'dist', 'main.js')))
    throw new Error(`services/${kind}/dist is missing: run \`pnpm build\` first`);
  const agent = spawnBin(path.join(ROOT, 'services', kind, 'bin', `sigil-${kind}.js`), {
    args,
    env,
    ...options,
  });
  running.add(agent);
  void agent.exited.then(() => running.delete(agent));
  return agent;
}

/** Runs a bin to completion; `code` is the exit code or the signal's name. */
export async function runAgent(
  kind: AgentKind,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number | string; stdout: string[]; stderr: string[] }> {
  const agent = spawnAgent(kind, args, env);
  const { code, signal } = await agent.exited;
  return {
    code: code ?? signal ?? -1,
    stdout: agent.stdout.filter((l) => l !== ''),
    stderr: agent.stderr.filter((l) => l !== '' && !/DEP0123|trace-deprecation/.test(l)),
  };
}

/** SIGKILLs every agent process still running. */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map((agent) => agent.stop(0)));
}
