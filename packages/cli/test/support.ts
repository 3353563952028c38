// Shared by the CLI tests: run `sigil` in-process or as a real process, call the real openssl.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCli } from '../src/cli';
import type { RunCliOptions } from '../src/cli';

export const OPENSSL = '/usr/bin/openssl';
export const CLI_DIST_MAIN = resolve(__dirname, '..', 'dist', 'main.js');

/** What a `sigil` run printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `sigil <args>` in-process with captured output. */
export async function sigil(args: string[], options: RunCliOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(
    args,
    { out: (text) => (stdout += text), err: (text) => (stderr += text) },
    options,
  );
  return { code, stdout, stderr };
}

/** Runs the built `sigil` (dist/main.js) as a child process, with `env` as its whole environment when given. */
export function sigilProcess(
  args: string[],
  cwd: string,
  env?: Record<string, string>,
): Promise<CliRun> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CLI_DIST_MAIN, ...args],
      {
        cwd,
        encoding: 'utf8',
        ...(env === undefined ? {} : { env: { PATH: process.env.PATH ?? '', ...env } }),
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** The `openssl req` arguments that make a new P-256 key, unencrypted, into `keyFile`. */
export const newP256Key = (keyFile: string): string[] => [
  '-newkey',
  'ec',
  '-pkeyopt',
  'ec_paramgen_curve:P-256',
  '-nodes',
  '-keyout',
  keyFile,
];

/** Runs the real openssl binary; throws with its output when it exits non-zero. */
export function openssl(...args: string[]): string {
  try {
    return execFileSync(OPENSSL, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`openssl ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`, {
      cause: err,
    });
  }
}

/** `openssl verify` of `certificate` against `caFile` at `at` (default now); returns its output. */
export function opensslVerify(
  caFile: string,
  certificate: string,
  options: { at?: Date; untrusted?: string; purpose?: string } = {},
): string {
  return openssl(
    'verify',
    '-CAfile',
    caFile,
    ...(options.at ? ['-attime', String(Math.floor(options.at.getTime() / 1000))] : []),
    ...(options.untrusted ? ['-untrusted', options.untrusted] : []),
    ...(options.purpose ? ['-purpose', options.purpose] : []),
    certificate,
  );
}

/** `openssl x509 -text -noout` of a PEM file (its first certificate). */
export function certificateText(file: string): string {
  return openssl('x509', '-in', file, '-noout', '-text');
}

/** The permission bits of a file. */
export function fileMode(file: string): number {
  return statSync(file).mode & 0o777;
}

/** A fresh temporary directory and its remover. */
export function temporaryDirectory(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `sigil-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The public key of a private key file and of a certificate, for comparing them. */
export function publicKeysOf(
  keyFile: string,
  certificateFile: string,
): { fromKey: string; fromCertificate: string } {
  return {
    fromKey: openssl('pkey', '-in', keyFile, '-pubout'),
    fromCertificate: openssl('x509', '-in', certificateFile, '-noout', '-pubkey'),
  };
}
