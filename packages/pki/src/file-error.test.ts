import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFileError } from './index';

function failureOf(read: () => unknown): unknown {
  try {
    read();
  } catch (err) {
    return err;
  }
  throw new Error('expected the read to fail');
}

describe('describeFileError', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-file-error-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the real failures of a read in a few words', () => {
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    expect(describeFileError(failureOf(() => readFileSync(join(dir, 'missing'))))).toBe(
      'no such file',
    );
    expect(describeFileError(failureOf(() => readFileSync(dir)))).toBe('is a directory');
    expect(describeFileError(failureOf(() => readFileSync(join(file, 'child'))))).toBe(
      'a parent is not a directory',
    );
  });

  it('keeps any other errno code, or the message of an error without one', () => {
    expect(describeFileError(Object.assign(new Error('loop'), { code: 'ELOOP' }))).toBe('ELOOP');
    expect(describeFileError(new Error('disk on fire'))).toBe('disk on fire');
    expect(describeFileError('odd')).toBe('odd');
  });
});
