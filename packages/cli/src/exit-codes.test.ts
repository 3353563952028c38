import { SigilError } from '@sigil/errors';
import { ExitCode, exitCodeOfError } from './exit-codes';

describe('exit codes of sigil', () => {
  it('keeps the documented numbers (docs/cli.md)', () => {
    expect(ExitCode).toEqual({
      Ok: 0,
      Attention: 1,
      Failure: 2,
      Unreachable: 3,
      Usage: 64,
      Internal: 70,
    });
  });

  it("exits with an error's catalogue code, the general failure as 2, never as Attention", () => {
    expect(exitCodeOfError(new SigilError('ERR_USAGE', 'unknown flag --nope'))).toBe(64);
    expect(exitCodeOfError(new SigilError('ERR_FILE_UNREADABLE', 'tls.crt: ENOENT'))).toBe(2);
    expect(exitCodeOfError(new SigilError('ERR_SVID_INVALID', 'rule'))).toBe(2);
    expect(exitCodeOfError(new SigilError('ERR_INTERNAL', 'bug'))).toBe(70);
    expect(exitCodeOfError(new SigilError('ERR_CONTROLLER_UNREACHABLE', 'refused'))).toBe(3);
    expect(exitCodeOfError(new SigilError('ERR_ADMIN_API_FAILED', 'HTTP 500'))).toBe(3);
    expect(exitCodeOfError(new SigilError('ERR_ADMIN_UNAUTHORIZED', 'invalid admin token'))).toBe(
      2,
    );
    expect(exitCodeOfError(new TypeError('boom'))).toBe(70);
  });
});
