// Real agent processes: the bins exactly as users run them (they load dist/, so build first:
// `pnpm test` does). Every process started here is killed by killAll().
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { AgentKind } from '@sigil/agent';

const ROOT = path.resolve(__dirname, '../../../..');

/** A started bin with its output collected. */
export interface AgentProcess {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  /** The first JSON log line with `event`, parsed. */
  event(event: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

const running = new Set<ChildProcess>();

/** Spawns `sigil-<kind> <args>` with exactly `env` (plus PATH). */
export function spawnAgent(
  kind: AgentKind,
  args: string[],
  env: Record<string, string | undefined>,
): AgentProcess {
  const bin = path.join(ROOT, 'services', kind, 'bin', `sigil-${kind}.js`);
  if (!existsSync(path.join(ROOT, 'services', kind, 'dist', 'main.js')))
    throw new Error(`services/${kind}/dist is missing: run \`pnpm build\` first`);
  const child = spawn(process.execPath, [bin, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const collect = (into: string[]) => {
    let rest = '';
    return (chunk: Buffer) => {
      const text = rest + chunk.toString('utf8');
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      into.push(...lines);
    };
  };
  child.stdout!.on('data', collect(stdout));
  child.stderr!.on('data', collect(stderr));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? -1);
    }),
  );
  return {
    child,
    stdout,
    stderr,
    exited,
    async event(event, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const line of stdout) {
          if (!line.includes(`"event":"${event}"`)) continue;
          return JSON.parse(line) as Record<string, unknown>;
        }
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(
            `sigil-${kind} never logged ${event}; stderr: ${stderr.join('\n')}; stdout: ${stdout.slice(-5).join('\n')}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
  };
}

/** Runs a bin to completion. */
export async function runAgent(
  kind: AgentKind,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number | string; stdout: string[]; stderr: string[] }> {
  const agent = spawnAgent(kind, args, env);
  const code = await agent.exited;
  // Let the pipes drain.
  await new Promise((resolve) => setImmediate(resolve));
  return {
    code,
    stdout: agent.stdout.filter((l) => l !== ''),
    stderr: agent.stderr.filter((l) => l !== '' && !/DEP0123|trace-deprecation/.test(l)),
  };
}

/** SIGKILLs every agent process still running. */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}
