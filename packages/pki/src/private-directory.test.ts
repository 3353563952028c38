import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePrivateDirectory } from './private-directory';

const options = { variable: 'DATA_DIR', code: 'ERR_DATA_DIR_UNUSABLE' } as const;
const modeOf = (path: string): number => fs.statSync(path).mode & 0o777;

describe('ensurePrivateDirectory', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(join(tmpdir(), 'sigil-private-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('creates a missing directory (and its parents) with mode 0700', () => {
    const dir = join(root, 'a', 'b');
    ensurePrivateDirectory(dir, options);
    expect(modeOf(dir)).toBe(0o700);
    ensurePrivateDirectory(dir, options); // an existing private directory is fine
  });

  it.each([0o777, 0o770, 0o707, 0o750, 0o701])(
    'refuses an existing directory with mode %o, naming the variable and the chmod',
    (mode) => {
      const dir = join(root, 'data');
      fs.mkdirSync(dir);
      fs.chmodSync(dir, mode);
      expect(() => ensurePrivateDirectory(dir, options)).toThrow(
        expect.objectContaining({
          code: 'ERR_DATA_DIR_UNUSABLE',
          message: `DATA_DIR ${dir} is open to other users (mode ${mode.toString(8)}): they could read or replace the keys written there; run: chmod 700 ${dir}`,
          details: { variable: 'DATA_DIR', file: dir },
        }),
      );
    },
  );

  it('refuses a directory that belongs to another user, naming the chown', () => {
    const dir = join(root, 'data');
    fs.mkdirSync(dir, { mode: 0o700 });
    const me = process.geteuid!();
    const other = me === 0 ? 4242 : me;
    if (me === 0) fs.chownSync(dir, other, other);
    expect(() =>
      ensurePrivateDirectory(dir, { ...options, ...(me === 0 ? {} : { uid: me + 1 }) }),
    ).toThrow(
      expect.objectContaining({
        message: expect.stringMatching(
          new RegExp(
            `^DATA_DIR ${dir} belongs to user \\d+, not to the user this process runs as \\(\\d+\\); run: chown \\d+ ${dir}`,
          ),
        ),
      }),
    );
  });

  it('judges a symbolic link by its target, and refuses a file', () => {
    const target = join(root, 'open');
    fs.mkdirSync(target);
    fs.chmodSync(target, 0o777);
    const link = join(root, 'link');
    fs.symlinkSync(target, link);
    expect(() => ensurePrivateDirectory(link, options)).toThrow(/is open to other users/);
    const file = join(root, 'file');
    fs.writeFileSync(file, '');
    expect(() =>
      ensurePrivateDirectory(file, {
        ...options,
        variable: 'STATE_DIR',
        code: 'ERR_STATE_UNWRITABLE',
      }),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_STATE_UNWRITABLE',
        message: expect.stringMatching(/^STATE_DIR .* (is not a directory|cannot be created)/),
      }),
    );
  });
});
