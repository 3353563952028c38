import * as fs from 'node:fs';
import { SigilError, type SigilErrorCode } from '@sigil/errors';
import { describeFileError } from './file-error';

/**
 * Options of {@link ensurePrivateDirectory}.
 *
 * @example
 * ```ts
 * const options: PrivateDirectoryOptions = { variable: 'DATA_DIR', code: 'ERR_DATA_DIR_UNUSABLE' };
 * ```
 */
export interface PrivateDirectoryOptions {
  /** The setting that named the directory, for the message (`DATA_DIR`, `STATE_DIR`). */
  variable: string;
  /** The error code thrown. */
  code: SigilErrorCode;
  /** The user the directory must belong to. Default: this process's effective user. */
  uid?: number;
}

/**
 * Makes sure `path` is a directory only its owner can use before keys are written into it:
 * creates it (mode 0700, parents as needed) when missing, and refuses one that is not a
 * directory, belongs to another user, or grants any permission to group or others (someone who
 * can write there can plant a file or link where a key is about to be written, or read it). The
 * message names the variable and the command that fixes it. A symbolic link to such a directory
 * is judged by the directory. Nothing is checked where the platform has no user ids (Windows).
 *
 * @example
 * ```ts
 * ensurePrivateDirectory('/var/lib/sigil', { variable: 'DATA_DIR', code: 'ERR_DATA_DIR_UNUSABLE' });
 * writeFileAtomic('/var/lib/sigil/ca.key', caKeyPem);
 * ```
 */
export function ensurePrivateDirectory(path: string, options: PrivateDirectoryOptions): void {
  const { variable, code } = options;
  const fail = (problem: string, fix: string, cause?: unknown): SigilError =>
    new SigilError(code, `${variable} ${path} ${problem}; ${fix}`, {
      ...(cause === undefined ? {} : { cause }),
      details: { variable, file: path },
    });
  let stat: fs.Stats;
  try {
    fs.mkdirSync(path, { recursive: true, mode: 0o700 });
    stat = fs.statSync(path);
  } catch (cause) {
    throw fail(
      `cannot be created or read (${describeFileError(cause)})`,
      'create it as the user the process runs as',
      cause,
    );
  }
  if (!stat.isDirectory()) throw fail('is not a directory', `point ${variable} at a directory`);
  const uid = options.uid ?? process.geteuid?.();
  if (uid === undefined) return;
  if (stat.uid !== uid)
    throw fail(
      `belongs to user ${stat.uid}, not to the user this process runs as (${uid})`,
      `run: chown ${uid} ${path} (or run as its owner)`,
    );
  const mode = stat.mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw fail(
      `is open to other users (mode ${mode.toString(8).padStart(3, '0')}): they could read or replace the keys written there`,
      `run: chmod 700 ${path}`,
    );
}
