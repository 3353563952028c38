import * as grpc from '@grpc/grpc-js';
import { createUserStore } from './user-store';

describe('createUserStore', () => {
  const now = (): number => 42;

  it('creates users with random ids in their tenant', () => {
    const users = createUserStore({ now });
    const ada = users.create({ tenantId: 'acme', displayName: ' Ada ', email: 'ada@acme.test' });
    expect(ada).toEqual({
      id: expect.stringMatching(/^usr_[0-9a-f]{16}$/),
      tenantId: 'acme',
      displayName: 'Ada',
      email: 'ada@acme.test',
      createdAt: 42,
    });
    expect(users.get(ada.id)).toBe(ada);
    expect(users.get('usr_missing')).toBeUndefined();
  });

  it('keeps emails unique per tenant, case-insensitively, but not across tenants', () => {
    const users = createUserStore({ now });
    users.create({ tenantId: 'acme', displayName: 'Ada', email: 'ada@acme.test' });
    expect(() =>
      users.create({ tenantId: 'acme', displayName: 'Ada 2', email: 'ADA@acme.test' }),
    ).toThrow(expect.objectContaining({ code: grpc.status.ALREADY_EXISTS }));
    expect(
      users.create({ tenantId: 'globex', displayName: 'Ada', email: 'ada@acme.test' }).tenantId,
    ).toBe('globex');
  });

  it.each([
    [{ tenantId: '', displayName: 'A', email: 'a@b.c' }, 'tenant_id is required'],
    [{ tenantId: 't', displayName: '', email: 'a@b.c' }, 'display_name is required'],
    [
      { tenantId: 't', displayName: 'x'.repeat(101), email: 'a@b.c' },
      'display_name must be at most 100',
    ],
    [{ tenantId: 't', displayName: 'A', email: 'not-an-email' }, 'is not an email address'],
  ])('refuses %j with INVALID_ARGUMENT', (request, message) => {
    expect(() => createUserStore({ now }).create(request)).toThrow(
      expect.objectContaining({
        code: grpc.status.INVALID_ARGUMENT,
        details: expect.stringContaining(message),
      }),
    );
  });

  it('lists only the tenant’s users, page by page', () => {
    const users = createUserStore({ now });
    const acme = ['a', 'b', 'c'].map((n) =>
      users.create({ tenantId: 'acme', displayName: n, email: `${n}@acme.test` }),
    );
    users.create({ tenantId: 'globex', displayName: 'g', email: 'g@globex.test' });
    const first = users.list('acme', { pageSize: 2, pageToken: '' });
    expect(first.items).toEqual(acme.slice(0, 2));
    expect(users.list('acme', { pageSize: 2, pageToken: first.nextPageToken })).toEqual({
      items: acme.slice(2),
      nextPageToken: '',
    });
    expect(() => users.list('globex', { pageSize: 2, pageToken: first.nextPageToken })).toThrow(
      expect.objectContaining({ code: grpc.status.INVALID_ARGUMENT }),
    );
    expect(() => users.list('', { pageSize: 0, pageToken: '' })).toThrow(
      expect.objectContaining({ code: grpc.status.INVALID_ARGUMENT }),
    );
  });
});
