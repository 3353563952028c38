import { randomBytes } from 'node:crypto';
import { adminTokenWeakness, parseRequestTarget } from './admin-guard';
import { generateAdminToken } from './secrets';

describe('adminTokenWeakness', () => {
  it.each([
    ['openssl rand -hex 32', randomBytes(32).toString('hex')],
    ['openssl rand -hex 16', randomBytes(16).toString('hex')],
    ['openssl rand -base64 24', randomBytes(24).toString('base64')],
    ['a generated token', generateAdminToken()],
  ])('accepts %s', (_what, token) => expect(adminTokenWeakness(token)).toBeUndefined());

  it.each([
    ['one letter 16 times', 'a'.repeat(16)],
    ['one letter 64 times', 'a'.repeat(64)],
    ['two letters alternating', 'ab'.repeat(20)],
    ['the alphabet', 'abcdefghijklmnopqrstuvwxyz'],
  ])('refuses %s', (_what, token) => expect(adminTokenWeakness(token)).toMatch(/too predictable/));
});

describe('parseRequestTarget', () => {
  it('parses origin and absolute forms, and answers ERR_REQUEST_INVALID for what is no URL', () => {
    expect(parseRequestTarget('/api/admin/audit?limit=1').pathname).toBe('/api/admin/audit');
    expect(parseRequestTarget('http://host/api/admin/x').pathname).toBe('/api/admin/x');
    expect(() => parseRequestTarget('http://[bad/')).toThrow(
      expect.objectContaining({ code: 'ERR_REQUEST_INVALID' }),
    );
  });
});
