import { generatePassword, hashPassword, verifyPassword } from './password';

describe('admin password hashing', () => {
  it('stores scrypt with its parameters and a per-hash salt, never the password', async () => {
    const a = await hashPassword('s3cret-password');
    const b = await hashPassword('s3cret-password');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(a).not.toContain('s3cret-password');
    expect(a).not.toBe(b);
  });

  it('accepts the right password and refuses a wrong one or an unknown user', async () => {
    const stored = await hashPassword('s3cret-password');
    expect(await verifyPassword('s3cret-password', stored)).toBe(true);
    expect(await verifyPassword('wrong', stored)).toBe(false);
    expect(await verifyPassword('s3cret-password', undefined)).toBe(false);
  });

  it('generates distinct 24-character passwords', () => {
    expect(generatePassword()).toHaveLength(24);
    expect(generatePassword()).not.toBe(generatePassword());
  });
});
