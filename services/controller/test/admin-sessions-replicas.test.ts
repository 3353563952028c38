// Console sessions and API tokens across two controller replicas on the real PostgreSQL: both
// live in the store, so signing out, a password change, removing a user and revoking a token on
// replica A take effect on replica B at once. The first admin user is created once.
import { adminHttp, signIn } from './support/admin-http';
import { startReplicaPair } from './support/replicas';
import type { ReplicaPair } from './support/replicas';

jest.setTimeout(90_000);

const PASSWORD = 'replica-admin-password';

describe('admin sessions across replicas (PostgreSQL)', () => {
  let pair: ReplicaPair;
  let a: string;
  let b: string;
  beforeAll(async () => {
    pair = await startReplicaPair('admin_sessions', { controller: { adminPassword: PASSWORD } });
    a = pair.a.controller.adminUrl;
    b = pair.b.controller.adminUrl;
  });
  afterAll(() => pair.close());

  it('creates user admin once, on the first replica', async () => {
    expect(pair.a.controller.adminPassword).toBe(PASSWORD);
    expect(pair.b.controller.adminPassword).toBeUndefined();
    expect((await pair.storeB.adminAuth.listUsers()).map((u) => u.name)).toEqual(['admin']);
  });

  it('a session signed in on A works on B; signed out on A, B refuses the cookie', async () => {
    const session = await signIn(a, 'admin', PASSWORD);
    const onB = await adminHttp(b, '/api/admin/session', session);
    expect(onB.status).toBe(200);
    expect(onB.json).toMatchObject({ user: 'admin', via: 'session', csrf_token: session.csrf });
    // CSRF holds on B too.
    const noCsrf = await adminHttp(b, '/api/admin/tokens', {
      session: session.session,
      method: 'POST',
      body: { kind: 'connector', id: 'c-1' },
    });
    expect(noCsrf.json.code).toBe('ERR_ADMIN_CSRF');

    expect(
      (await adminHttp(a, '/api/admin/session', { ...session, method: 'DELETE' })).status,
    ).toBe(204);
    const refused = await adminHttp(b, '/api/admin/session', session);
    expect(refused.status).toBe(401);
    expect(refused.json.code).toBe('ERR_ADMIN_UNAUTHORIZED');
  });

  it('a password change and a removal on A end the sessions on B; a token revoked on A fails on B', async () => {
    const admin = await signIn(a, 'admin', PASSWORD);
    await adminHttp(a, '/api/admin/users', {
      ...admin,
      method: 'POST',
      body: { name: 'rita', role: 'viewer', password: 'rita-password-1' },
    });
    const rita = await signIn(b, 'rita', 'rita-password-1');
    expect(
      (
        await adminHttp(a, '/api/admin/users/rita/password', {
          ...admin,
          method: 'PUT',
          body: { password: 'rita-password-2' },
        })
      ).status,
    ).toBe(200);
    expect((await adminHttp(b, '/api/admin/session', rita)).status).toBe(401);

    const again = await signIn(b, 'rita', 'rita-password-2');
    const token = await adminHttp(b, '/api/admin/api-tokens', {
      ...again,
      method: 'POST',
      body: { name: 'ci', expires_in_seconds: 600 },
    });
    expect((await adminHttp(a, '/api/admin/session', { bearer: token.json.token })).status).toBe(
      200,
    );
    expect(
      (await adminHttp(a, `/api/admin/api-tokens/${token.json.id}`, { ...admin, method: 'DELETE' }))
        .status,
    ).toBe(204);
    expect((await adminHttp(b, '/api/admin/session', { bearer: token.json.token })).status).toBe(
      401,
    );

    expect(
      (await adminHttp(a, '/api/admin/users/rita', { ...admin, method: 'DELETE' })).status,
    ).toBe(204);
    expect((await adminHttp(b, '/api/admin/session', again)).status).toBe(401);
  });
});
