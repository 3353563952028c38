import { access, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SigilError } from '@sigil/errors';
import { describeFileError, writeFileAtomic } from '@sigil/pki';

/** A file to write: where, what, and its permission bits. */
export interface OutputFile {
  path: string;
  content: string;
  mode: number;
}

/**
 * Creates the output directory a flag names (`--out`), or says why it cannot, naming the flag:
 * `--out ./x: cannot create the directory (not a directory: ./x)`.
 */
export async function prepareOutputDirectory(dir: string, flag: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (cause) {
    throw new SigilError(
      'ERR_FILE_UNWRITABLE',
      `${flag} ${dir}: cannot create the directory (${(cause as NodeJS.ErrnoException).code === 'EEXIST' ? 'a file of that name exists' : describeFileError(cause)})`,
      { cause, details: { file: dir, flag } },
    );
  }
}

/** Creates the file's directory, then writes it with pki's durable `writeFileAtomic`. */
export async function writeOutputFile(file: OutputFile): Promise<void> {
  await mkdir(dirname(file.path), { recursive: true });
  writeFileAtomic(file.path, file.content, { mode: file.mode });
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
      `${flag} ${path}: cannot read (${describeFileError(cause)})`,
      {
        cause,
        details: { file: path, flag },
      },
    );
  }
}
