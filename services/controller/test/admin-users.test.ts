// Console users, roles and per-user API tokens on a real controller over loopback HTTP
// (SQLite), and the audit trail naming the user, source address and user agent of each action.
import { adminHttp, signIn } from './support/admin-http';
import type { AdminHttpInit } from './support/admin-http';
import { ADMIN_TOKEN, enrollNew, startController } from './support/fixtures';
import type { ControllerFixture } from './support/fixtures';

jest.setTimeout(60_000);

const PASSWORD = 'first-admin-password-1';

describe('admin users and API tokens', () => {
  let fixture: ControllerFixture;
  let base: string;
  let admin: { session: string; csrf: string };
  const call = (path: string, init: AdminHttpInit = {}) => adminHttp(base, path, init);
  const asAdmin = (path: string, init: AdminHttpInit = {}) => call(path, { ...admin, ...init });
  const auditOf = async (action: string) =>
    (await call(`/api/admin/audit?action=${action}`, { bearer: ADMIN_TOKEN })).json as Array<{
      actor: string;
      subject: string;
      details: Record<string, unknown>;
    }>;

  beforeAll(async () => {
    fixture = await startController({ adminPassword: PASSWORD });
    base = fixture.controller.adminUrl;
    admin = await signIn(base, 'admin', PASSWORD);
  });
  afterAll(() => fixture.cleanup());

  it('creates a viewer with a generated password shown once, and lists users for admins only', async () => {
    const created = await asAdmin('/api/admin/users', {
      method: 'POST',
      body: { name: 'vera', role: 'viewer' },
    });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({ name: 'vera', role: 'viewer', password: expect.any(String) });
    const vera = await signIn(base, 'vera', created.json.password);
    expect(vera.response.json.role).toBe('viewer');

    const listed = await asAdmin('/api/admin/users');
    expect(listed.json.map((u: { name: string }) => u.name)).toEqual(['admin', 'vera']);
    expect(listed.json[1]).toEqual({
      name: 'vera',
      role: 'viewer',
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(listed.text).not.toMatch(/scrypt|password/);
    const refused = await call('/api/admin/users', vera);
    expect(refused.status).toBe(403);
    expect(refused.json.code).toBe('ERR_ADMIN_FORBIDDEN');
    // A viewer reads everything else, and changes nothing: no revoke.
    await enrollNew(fixture.controller, 'connector', 'c-viewer');
    expect((await call('/api/admin/connectors', vera)).status).toBe(200);
    const revoke = await call('/api/admin/connectors/c-viewer/revoke', {
      ...vera,
      method: 'POST',
      body: { reason: 'test' },
    });
    expect(revoke.status).toBe(403);
    expect(revoke.json.code).toBe('ERR_ADMIN_FORBIDDEN');
    expect(fixture.controller.listConnectors()[0]!.status).not.toBe('REVOKED');
    expect(
      (
        await call('/api/admin/users', {
          ...vera,
          method: 'POST',
          body: { name: 'x', role: 'admin' },
        })
      ).status,
    ).toBe(403);
  });

  it('refuses a taken name, a bad name and a short password, naming the field', async () => {
    const taken = await asAdmin('/api/admin/users', {
      method: 'POST',
      body: { name: 'vera', role: 'admin', password: 'long-enough-password' },
    });
    expect(taken.status).toBe(409);
    expect(taken.json.code).toBe('ERR_ADMIN_USER_EXISTS');
    const bad = await asAdmin('/api/admin/users', {
      method: 'POST',
      body: { name: '../x', role: 'viewer' },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.field).toBe('name');
    const short = await asAdmin('/api/admin/users', {
      method: 'POST',
      body: { name: 'sam', role: 'viewer', password: 'short' },
    });
    expect(short.status).toBe(400);
    expect(short.json.field).toBe('password');
    const role = await asAdmin('/api/admin/users', {
      method: 'POST',
      body: { name: 'sam', role: 'root' },
    });
    expect(role.status).toBe(400);
  });

  it('API tokens: created once, work with the user role, listed per user, revoked at once', async () => {
    await asAdmin('/api/admin/users', {
      method: 'POST',
      body: { name: 'tom', role: 'viewer', password: 'tom-password-123' },
    });
    const tom = await signIn(base, 'tom', 'tom-password-123');
    const created = await call('/api/admin/api-tokens', {
      ...tom,
      method: 'POST',
      body: { name: 'ci', expires_in_seconds: 3600 },
    });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({
      id: expect.any(String),
      name: 'ci',
      user: 'tom',
      token: expect.stringMatching(/^sigil_at_[A-Za-z0-9_-]{43}$/),
      expires_at: expect.any(String),
    });
    const token: string = created.json.token;
    const whoami = await call('/api/admin/session', { bearer: token });
    expect(whoami.json).toEqual({ user: 'tom', role: 'viewer', via: 'api-token' });
    expect((await call('/api/admin/connectors', { bearer: token })).status).toBe(200);
    expect(
      (
        await call('/api/admin/tokens', {
          bearer: token,
          method: 'POST',
          body: { kind: 'connector', id: 'x' },
        })
      ).status,
    ).toBe(403);

    const adminToken = await asAdmin('/api/admin/api-tokens', {
      method: 'POST',
      body: { name: 'ops', expires_in_seconds: 600 },
    });
    const own = await call('/api/admin/api-tokens', tom);
    expect(own.json).toEqual([
      {
        id: created.json.id,
        name: 'ci',
        user: 'tom',
        created_at: expect.any(String),
        expires_at: created.json.expires_at,
        last_used_at: expect.any(String),
        revoked_at: null,
      },
    ]);
    const all = await asAdmin('/api/admin/api-tokens');
    expect(all.json.map((t: { name: string }) => t.name).sort()).toEqual(['ci', 'ops']);
    expect(all.text).not.toContain('sigil_at_');
    // Not tom's to revoke.
    const foreign = await call(`/api/admin/api-tokens/${adminToken.json.id}`, {
      ...tom,
      method: 'DELETE',
    });
    expect(foreign.status).toBe(404);

    expect(
      (await call(`/api/admin/api-tokens/${created.json.id}`, { ...tom, method: 'DELETE' })).status,
    ).toBe(204);
    const after = await call('/api/admin/connectors', { bearer: token });
    expect(after.status).toBe(401);
    expect(after.json.code).toBe('ERR_ADMIN_UNAUTHORIZED');
    expect((await call('/api/admin/api-tokens', tom)).json[0].revoked_at).toEqual(
      expect.any(String),
    );
    expect(
      (
        await call('/api/admin/api-tokens', {
          ...tom,
          method: 'POST',
          body: { name: 'y', expires_in_seconds: 1 },
        })
      ).status,
    ).toBe(400);
    expect((await call('/api/admin/session', { bearer: 'sigil_at_nope' })).status).toBe(401);
    // Tokens are never written out in full.
    expect(fixture.lines.join('\n')).not.toContain(token);
    expect(JSON.stringify(await auditOf('admin.api_token_created'))).not.toContain(token);
  });

  it('a password change ends the sessions; a user changes only their own; removal ends everything', async () => {
    await asAdmin('/api/admin/users', {
      method: 'POST',
      body: { name: 'una', role: 'viewer', password: 'una-password-123' },
    });
    const una = await signIn(base, 'una', 'una-password-123');
    const token = (
      await call('/api/admin/api-tokens', {
        ...una,
        method: 'POST',
        body: { name: 'script', expires_in_seconds: 3600 },
      })
    ).json.token as string;
    const generated = await asAdmin('/api/admin/users/una/password', { method: 'PUT', body: {} });
    expect(generated.status).toBe(200);
    expect(generated.json.password).toEqual(expect.any(String));
    expect((await call('/api/admin/session', una)).status).toBe(401);
    const again = await signIn(base, 'una', generated.json.password);
    const own = await call('/api/admin/users/una/password', {
      ...again,
      method: 'PUT',
      body: { password: 'una-new-password-1' },
    });
    expect(own.status).toBe(200);
    expect(own.json).toEqual({});
    const other = await call('/api/admin/users/admin/password', {
      ...(await signIn(base, 'una', 'una-new-password-1')),
      method: 'PUT',
      body: { password: 'stolen-password-1' },
    });
    expect(other.status).toBe(403);
    expect((await call('/api/admin/session', { bearer: token })).status).toBe(200);

    const last = await signIn(base, 'una', 'una-new-password-1');
    expect((await asAdmin('/api/admin/users/una', { method: 'DELETE' })).status).toBe(204);
    expect((await call('/api/admin/session', last)).status).toBe(401);
    expect((await call('/api/admin/session', { bearer: token })).status).toBe(401);
    expect((await asAdmin('/api/admin/users/una', { method: 'DELETE' })).status).toBe(404);
    expect(
      (await asAdmin('/api/admin/users/nobody/password', { method: 'PUT', body: {} })).status,
    ).toBe(404);
  });

  it('audits every admin action with the user, source address and user agent', async () => {
    await asAdmin('/api/admin/users', {
      method: 'POST',
      body: { name: 'alice', role: 'admin', password: 'alice-password-1' },
    });
    const alice = await signIn(base, 'alice', 'alice-password-1', { userAgent: 'console-test/1' });
    const init = { ...alice, userAgent: 'console-test/1' };
    const created = await call('/api/admin/tokens', {
      ...init,
      method: 'POST',
      body: { kind: 'connector', id: 'c-audit' },
    });
    expect(created.status).toBe(201);
    await enrollNew(fixture.controller, 'connector', 'c-revoke');
    expect(
      (
        await call('/api/admin/connectors/c-revoke/revoke', {
          ...init,
          method: 'POST',
          body: { reason: 'audit test' },
        })
      ).status,
    ).toBe(201);
    const byAlice = {
      actor: 'alice',
      details: expect.objectContaining({
        address: '127.0.0.1',
        user_agent: 'console-test/1',
        via: 'session',
      }),
    };
    expect(
      (await auditOf('admin.token_created')).find((r) => r.subject.includes('c-audit')),
    ).toMatchObject(byAlice);
    expect((await auditOf('admin.agent_revoked'))[0]).toMatchObject(byAlice);
    expect((await auditOf('admin.signed_in')).find((r) => r.actor === 'alice')).toMatchObject(
      byAlice,
    );
    expect((await auditOf('admin.user_created')).find((r) => r.subject === 'alice')).toMatchObject({
      actor: 'admin',
      details: expect.objectContaining({ via: 'session', address: '127.0.0.1' }),
    });
    const revocations = await call('/api/admin/revocations', init);
    expect(revocations.json[0]).toMatchObject({ agent_id: 'c-revoke', actor: 'alice' });
    // The SIGIL_ADMIN_TOKEN bearer is `admin`, via admin-token.
    await call('/api/admin/tokens', {
      bearer: ADMIN_TOKEN,
      method: 'POST',
      body: { kind: 'connector', id: 'c-bearer' },
    });
    expect(
      (await auditOf('admin.token_created')).find((r) => r.subject.includes('c-bearer')),
    ).toMatchObject({
      actor: 'admin',
      details: expect.objectContaining({ via: 'admin-token' }),
    });
  });

  it('describes the user and API token endpoints in the OpenAPI description', async () => {
    const doc = (await call('/api/admin/openapi.json')).json;
    for (const path of [
      '/api/admin/users',
      '/api/admin/users/{name}',
      '/api/admin/users/{name}/password',
      '/api/admin/api-tokens',
      '/api/admin/api-tokens/{id}',
    ])
      expect(doc.paths[path]).toBeDefined();
  });
});
