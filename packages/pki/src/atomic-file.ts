import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SigilError } from '@sigil/errors';
import { describeFileError } from './file-error';

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_WRONLY } = fs.constants;
// O_CREAT | O_EXCL fails on any existing name, a symbolic link included (POSIX open(2)), so the
// temporary file is always a new inode of ours; O_NOFOLLOW says so explicitly.
const CREATE_NEW = O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW;

/**
 * Mode of private key files: owner read/write only; the default of {@link writeFileAtomic}.
 *
 * @example
 * ```ts
 * writeFileAtomic('tls.key', privateKeyPem, { mode: PRIVATE_KEY_MODE });
 * ```
 */
export const PRIVATE_KEY_MODE = 0o600;

/**
 * Mode of certificate and trust bundle files: readable by everyone.
 *
 * @example
 * ```ts
 * writeFileAtomic('ca.crt', bundlePem, { mode: CERTIFICATE_MODE });
 * ```
 */
export const CERTIFICATE_MODE = 0o644;

/**
 * Options for {@link writeFileAtomic}.
 *
 * @example
 * ```ts
 * const options: WriteFileAtomicOptions = { mode: CERTIFICATE_MODE };
 * ```
 */
export interface WriteFileAtomicOptions {
  /** Permission bits of the file, set exactly (the umask does not apply). Default 0600. */
  mode?: number;
}

/**
 * Writes a key, certificate or identity file so that a reader, or a restart after a crash, sees
 * either the old file or the whole new one, with the right mode from its first byte: the content
 * goes to a new file with a random name in the same directory (created exclusively, never through
 * a symbolic link), is fsynced, renamed over `path`, and the directory is fsynced. A symbolic
 * link at `path` is refused rather than replaced. The directory must exist. Throws
 * `ERR_FILE_UNWRITABLE` naming `path`.
 *
 * @example
 * ```ts
 * writeFileAtomic('/etc/sigil/tls.key', issued.privateKeyPem); // mode 0600
 * writeFileAtomic('/etc/sigil/tls.crt', issued.chainPem, { mode: CERTIFICATE_MODE });
 * ```
 */
export function writeFileAtomic(
  path: string,
  content: string | Uint8Array,
  options: WriteFileAtomicOptions = {},
): void {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  writeThroughTemporary(path, temporary, content, options.mode ?? PRIVATE_KEY_MODE);
}

/**
 * Renames `from` over `to` and fsyncs the directory, so the rename survives a crash; refuses a
 * symbolic link at `to`. For a two-step replacement (write `tls.key.pending` with
 * {@link writeFileAtomic}, later commit it). Throws `ERR_FILE_UNWRITABLE` naming `to`.
 *
 * @example
 * ```ts
 * writeFileAtomic('/var/lib/sigil/tls.key.pending', privateKeyPem);
 * renameFileDurably('/var/lib/sigil/tls.key.pending', '/var/lib/sigil/tls.key');
 * ```
 */
export function renameFileDurably(from: string, to: string): void {
  try {
    refuseSymbolicLink(to);
    fs.renameSync(from, to);
  } catch (cause) {
    throw unwritable(to, cause);
  }
  syncDirectory(to);
}

/**
 * The steps behind {@link writeFileAtomic}, with the temporary name chosen by the caller; not in
 * the package's index (tests pass a fixed name to plant a symbolic link there).
 *
 * @example
 * ```ts
 * writeThroughTemporary('/etc/sigil/tls.key', '/etc/sigil/.tls.key.1.tmp', pem, PRIVATE_KEY_MODE);
 * ```
 */
export function writeThroughTemporary(
  path: string,
  temporary: string,
  content: string | Uint8Array,
  mode: number,
): void {
  let created = false;
  try {
    refuseSymbolicLink(path);
    const fd = fs.openSync(temporary, CREATE_NEW, mode);
    created = true;
    try {
      fs.writeFileSync(fd, content);
      fs.fchmodSync(fd, mode); // the umask may have cleared bits that were asked for
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, path);
  } catch (cause) {
    if (created) fs.rmSync(temporary, { force: true });
    throw unwritable(path, cause);
  }
  syncDirectory(path);
}

// rename(2) replaces a link rather than writing through it, so this check is not needed for
// safety against a race; it makes a planted link an error instead of silently replacing it.
function refuseSymbolicLink(path: string): void {
  let isLink = false;
  try {
    isLink = fs.lstatSync(path).isSymbolicLink();
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw cause;
  }
  if (isLink) {
    throw new SigilError(
      'ERR_FILE_UNWRITABLE',
      `${path}: cannot write (it is a symbolic link; refusing to replace it)`,
      { details: { file: path } },
    );
  }
}

function syncDirectory(path: string): void {
  const directory = dirname(path);
  try {
    const fd = fs.openSync(directory, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (cause) {
    throw unwritable(path, cause);
  }
}

function unwritable(path: string, cause: unknown): SigilError {
  if (cause instanceof SigilError) return cause;
  return new SigilError('ERR_FILE_UNWRITABLE', `${path}: cannot write (${describe(cause)})`, {
    cause,
    details: { file: path },
  });
}

function describe(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    // A write creates the file: a missing path is its directory.
    case 'ENOENT':
      return 'no such directory';
    case 'EEXIST':
    case 'ELOOP':
      return 'the temporary file already exists or is a symbolic link';
    default:
      return describeFileError(err);
  }
}
