import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SigilError } from '@sigil/errors';
import {
  CERTIFICATE_MODE,
  renameFileDurably,
  writeFileAtomic,
  writeThroughTemporary,
} from './atomic-file';

// The module under test reads node:fs through a namespace whose properties delegate to the module
// object; spying on that object observes (and passes through to) the real calls.
const nodeFs = jest.requireActual<typeof fs>('node:fs');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'sigil-atomic-'));
});
afterEach(() => {
  jest.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

function failure(run: () => unknown): SigilError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(SigilError);
    return err as SigilError;
  }
  throw new Error('expected a SigilError');
}

const modeOf = (path: string): number => fs.statSync(path).mode & 0o777;

describe('writeFileAtomic', () => {
  it('writes a key with mode 0600 by default, whatever the umask', () => {
    const path = join(dir, 'tls.key');
    const previous = process.umask(0o077);
    try {
      writeFileAtomic(path, 'KEY');
      writeFileAtomic(join(dir, 'ca.crt'), 'CA', { mode: CERTIFICATE_MODE });
    } finally {
      process.umask(previous);
    }
    expect(fs.readFileSync(path, 'utf8')).toBe('KEY');
    expect(modeOf(path)).toBe(0o600);
    expect(modeOf(join(dir, 'ca.crt'))).toBe(0o644);
  });

  it('replaces an existing file, taking the new mode rather than the old one', () => {
    const path = join(dir, 'tls.key');
    fs.writeFileSync(path, 'OLD', { mode: 0o644 });
    writeFileAtomic(path, 'NEW');
    expect(fs.readFileSync(path, 'utf8')).toBe('NEW');
    expect(modeOf(path)).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['tls.key']);
  });

  it('creates a new file under a random name in the same directory, exclusively, then renames it', () => {
    const opened: { path: string; flags: unknown }[] = [];
    const openSync = fs.openSync;
    jest.spyOn(nodeFs, 'openSync').mockImplementation((path, flags, mode) => {
      opened.push({ path: String(path), flags });
      return openSync(path, flags, mode);
    });
    const renames = jest.spyOn(nodeFs, 'renameSync');
    writeFileAtomic(join(dir, 'tls.crt'), 'A');
    writeFileAtomic(join(dir, 'tls.crt'), 'B');
    const temporaries = opened.filter((o) => o.path !== dir);
    expect(temporaries).toHaveLength(2);
    const { O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
    for (const { path, flags } of temporaries) {
      expect(path).toMatch(new RegExp(`^${dir}/\\.tls\\.crt\\.[0-9a-f]{16}\\.tmp$`));
      expect(Number(flags) & (O_CREAT | O_EXCL | O_NOFOLLOW)).toBe(O_CREAT | O_EXCL | O_NOFOLLOW);
    }
    expect(temporaries[0]!.path).not.toBe(temporaries[1]!.path);
    expect(renames.mock.calls).toEqual([
      [temporaries[0]!.path, join(dir, 'tls.crt')],
      [temporaries[1]!.path, join(dir, 'tls.crt')],
    ]);
  });

  it('fsyncs the file before the rename and the directory after it', () => {
    const events: string[] = [];
    const fds = new Map<number, string>();
    const openSync = fs.openSync;
    const fsyncSync = fs.fsyncSync;
    const renameSync = fs.renameSync;
    jest.spyOn(nodeFs, 'openSync').mockImplementation((path, flags, mode) => {
      const fd = openSync(path, flags, mode);
      fds.set(fd, String(path) === dir ? 'directory' : 'file');
      return fd;
    });
    jest.spyOn(nodeFs, 'fsyncSync').mockImplementation((fd) => {
      events.push(`fsync ${fds.get(fd)}`);
      fsyncSync(fd);
    });
    jest.spyOn(nodeFs, 'renameSync').mockImplementation((from, to) => {
      events.push('rename');
      renameSync(from, to);
    });
    writeFileAtomic(join(dir, 'tls.key'), 'KEY');
    expect(events).toEqual(['fsync file', 'rename', 'fsync directory']);
  });

  it('refuses a symbolic link at the destination and leaves the link and its target alone', () => {
    const target = join(dir, 'elsewhere');
    fs.writeFileSync(target, 'PRECIOUS');
    const link = join(dir, 'tls.key');
    fs.symlinkSync(target, link);
    const err = failure(() => writeFileAtomic(link, 'KEY'));
    expect(err.code).toBe('ERR_FILE_UNWRITABLE');
    expect(err.message).toBe(
      `${link}: cannot write (it is a symbolic link; refusing to replace it)`,
    );
    expect(err.details).toEqual({ file: link });
    expect(fs.readFileSync(target, 'utf8')).toBe('PRECIOUS');
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readdirSync(dir).sort()).toEqual(['elsewhere', 'tls.key']);
  });

  it('does not write through a symbolic link planted at the temporary name', () => {
    const target = join(dir, 'elsewhere');
    fs.writeFileSync(target, 'PRECIOUS');
    const temporary = join(dir, '.tls.key.planted.tmp');
    fs.symlinkSync(target, temporary);
    const err = failure(() => writeThroughTemporary(join(dir, 'tls.key'), temporary, 'KEY', 0o600));
    expect(err.code).toBe('ERR_FILE_UNWRITABLE');
    expect(err.details).toEqual({ file: join(dir, 'tls.key') });
    expect(fs.readFileSync(target, 'utf8')).toBe('PRECIOUS');
    expect(fs.lstatSync(temporary).isSymbolicLink()).toBe(true);
    expect(fs.existsSync(join(dir, 'tls.key'))).toBe(false);
  });

  it('names the file when the directory does not exist', () => {
    const path = join(dir, 'missing', 'tls.key');
    const err = failure(() => writeFileAtomic(path, 'KEY'));
    expect(err.code).toBe('ERR_FILE_UNWRITABLE');
    expect(err.message).toBe(`${path}: cannot write (no such directory)`);
  });
});

describe('renameFileDurably', () => {
  it('renames and fsyncs the directory', () => {
    const from = join(dir, 'tls.key.pending');
    fs.writeFileSync(from, 'KEY');
    const synced: number[] = [];
    const fsyncSync = fs.fsyncSync;
    jest.spyOn(nodeFs, 'fsyncSync').mockImplementation((fd) => {
      synced.push(fd);
      fsyncSync(fd);
    });
    renameFileDurably(from, join(dir, 'tls.key'));
    expect(fs.readdirSync(dir)).toEqual(['tls.key']);
    expect(synced).toHaveLength(1);
  });

  it('refuses a symbolic link at the destination', () => {
    const from = join(dir, 'tls.key.pending');
    fs.writeFileSync(from, 'KEY');
    fs.writeFileSync(join(dir, 'elsewhere'), 'PRECIOUS');
    fs.symlinkSync(join(dir, 'elsewhere'), join(dir, 'tls.key'));
    const err = failure(() => renameFileDurably(from, join(dir, 'tls.key')));
    expect(err.code).toBe('ERR_FILE_UNWRITABLE');
    expect(fs.readFileSync(join(dir, 'elsewhere'), 'utf8')).toBe('PRECIOUS');
    expect(fs.readFileSync(from, 'utf8')).toBe('KEY');
  });
});
