// Running scripts/setup.sh and scripts/tunneler-setup.sh as an operator does (bash, the settings
// in the environment), and reading what they left in a --root directory.
import { spawn } from 'node:child_process';
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import * as path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..', '..');

/** The outcome of one run of an install script. */
export interface ScriptRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Processes whose command line held `secret` while the script ran (sampled every 20 ms). */
  leaks: string[];
}

/** Every process's command line, read from /proc. */
function commandLines(): string[] {
  const lines: string[] = [];
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      lines.push(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '));
    } catch {
      // the process is gone
    }
  }
  return lines;
}

/** Runs `bash scripts/<script> ...args` with exactly `env` (plus PATH and HOME), watching for `secret`. */
export async function runScript(
  script: 'setup.sh' | 'tunneler-setup.sh',
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  secret?: string,
): Promise<ScriptRun> {
  const child = spawn('bash', [path.join(REPO, 'scripts', script), ...args], {
    // HOME: pnpm (a checkout install) reads the user's .npmrc, as under sudo.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const leaks = new Set<string>();
  const sampler =
    secret === undefined
      ? undefined
      : setInterval(() => {
          for (const line of commandLines()) if (line.includes(secret)) leaks.add(line);
        }, 20);
  const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (sampler !== undefined) clearInterval(sampler);
  return { status, stdout, stderr, leaks: [...leaks] };
}

/** One entry of a tree: type and mode, owner, and a link's target or a file's size and mtime. */
export type TreeEntry = string;

/**
 * Every path under `root` (not following links), relative, with `type+mode uid:gid` and for a
 * link its target, for a file its size and modification time: two equal snapshots mean nothing
 * was written in between.
 */
export function snapshot(root: string, dir = root, into = new Map<string, TreeEntry>()) {
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    const stat = lstatSync(full);
    const mode = (stat.mode & 0o7777).toString(8).padStart(4, '0');
    const type = stat.isSymbolicLink() ? 'l' : stat.isDirectory() ? 'd' : 'f';
    const detail = stat.isSymbolicLink()
      ? `-> ${readlinkSync(full)}`
      : stat.isFile()
        ? `${stat.size} ${stat.mtimeMs}`
        : '';
    into.set(path.relative(root, full), `${type}${mode} ${stat.uid}:${stat.gid} ${detail}`.trim());
    if (stat.isDirectory()) snapshot(root, full, into);
  }
  return into;
}
