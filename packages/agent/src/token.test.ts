import { createHash } from 'node:crypto';
import { tokenFingerprint } from './token';

describe('tokenFingerprint', () => {
  it('is the 12-digit SHA-256 prefix the controller shows in its audit log, never the token', () => {
    const token = 'sgl_enroll_5f2d0c7e9b1a4c36a8e1';
    const fingerprint = tokenFingerprint(token);
    expect(fingerprint).toBe(createHash('sha256').update(token).digest('hex').slice(0, 12));
    expect(fingerprint).toMatch(/^[0-9a-f]{12}$/);
    expect(fingerprint).not.toContain(token.slice(0, 6));
  });
});
