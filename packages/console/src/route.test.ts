import { parseRoute, visiblePages } from './route';

describe('parseRoute', () => {
  it('reads the page from the hash', () => {
    expect(parseRoute('#/connectors', 'viewer')).toBe('connectors');
    expect(parseRoute('#/audit?x=1', 'admin')).toBe('audit');
    expect(parseRoute('', 'admin')).toBe('overview');
    expect(parseRoute('#/nope', 'admin')).toBe('overview');
  });
  it('keeps viewers off the admin-only Users page', () => {
    expect(parseRoute('#/users', 'admin')).toBe('users');
    expect(parseRoute('#/users', 'viewer')).toBe('overview');
  });
});

describe('visiblePages', () => {
  it('lists the navigation in order, Users for admins only', () => {
    expect(visiblePages('viewer').map((p) => p.label)).toEqual([
      'Overview',
      'Connectors',
      'Tunnelers',
      'Tokens',
      'Audit log',
      'Certificate authority',
      'Entries',
      'Resources',
      'Grants',
    ]);
    expect(visiblePages('admin').map((p) => p.label)).toContain('Users');
  });
});
