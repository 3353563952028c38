import { randomBytes } from 'node:crypto';
import { access, chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SigilError } from '@sigil/errors';

/** Mode of private key files. */
export const PRIVATE_KEY_MODE = 0o600;
/** Mode of certificate files. */
export const CERTIFICATE_MODE = 0o644;

/** A file to write: where, what, and its permission bits. */
export interface OutputFile {
  path: string;
  content: string;
  mode: number;
}

/**
 * Writes a file through a temporary sibling and a rename, so a reader never sees half a key and
 * the mode is right from the first byte (an existing file's mode is not inherited).
 */
export async function writeFileAtomic(file: OutputFile): Promise<void> {
  await mkdir(dirname(file.path), { recursive: true });
  const temporary = join(dirname(file.path), `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, file.content, { mode: file.mode, flag: 'wx' });
    await chmod(temporary, file.mode); // the umask may have cleared bits we asked for
    await rename(temporary, file.path);
  } catch (cause) {
    await rm(temporary, { force: true });
    throw new SigilError(
      'ERR_FILE_UNWRITABLE',
      `${file.path}: cannot write (${describeFsError(cause)})`,
      {
        cause,
        details: { file: file.path },
      },
    );
  }
}

/** Refuses, with `ERR_FILE_EXISTS` naming the first such file, to overwrite any of `paths`. */
export async function assertNotExisting(paths: readonly string[], hint: string): Promise<void> {
  for (const path of paths) {
    if (await exists(path)) {
      throw new SigilError('ERR_FILE_EXISTS', `${path} already exists; ${hint}`, {
        details: { file: path },
      });
    }
  }
}

/** True when something exists at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Reads a text file; `ERR_FILE_UNREADABLE` names the flag and the file. */
export async function readTextFile(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new SigilError(
      'ERR_FILE_UNREADABLE',
      `${flag} ${path}: cannot read (${describeFsError(cause)})`,
      {
        cause,
        details: { file: path, flag },
      },
    );
  }
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'a parent is not a directory';
    default:
      return code ?? (err instanceof Error ? err.message : String(err));
  }
}
