import { createHash } from 'node:crypto';
import { tokenFingerprint, tokenHash } from './token-fingerprint';

describe('tokenHash', () => {
  it('is the lowercase hex SHA-256 of the UTF-8 token', () => {
    expect(tokenHash('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(tokenHash('jeton-é')).toBe(
      createHash('sha256').update(Buffer.from('jeton-é', 'utf8')).digest('hex'),
    );
  });
});

describe('tokenFingerprint', () => {
  it('is the first 12 hex digits of the hash and never contains the token', () => {
    const token = 'sigil_et_' + 'a'.repeat(43);
    const fingerprint = tokenFingerprint(token);
    expect(fingerprint).toMatch(/^[0-9a-f]{12}$/);
    expect(tokenHash(token).startsWith(fingerprint)).toBe(true);
    expect(token).not.toContain(fingerprint);
  });

  it('gives the same fingerprint from a stored hash', () => {
    expect(tokenFingerprint({ hash: tokenHash('abc') })).toBe(tokenFingerprint('abc'));
    expect(tokenFingerprint('abc')).toBe('ba7816bf8f01');
  });
});
