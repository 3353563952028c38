// Console sessions on a real controller over loopback HTTP(S) (SQLite): sign-in, the cookie's
// attributes, CSRF, sign-out, idle and absolute expiry, sign-in throttling per address and per
// user name, the first admin user.
import { createMemoryLogger } from '@sigil/testing';
import { hashPassword } from '../src/admin-auth/password';
import { createController } from '../src/controller';
import { adminHttp, sessionCookie, signIn } from './support/admin-http';
import { ADMIN_TOKEN, startController, testClock } from './support/fixtures';
import type { ControllerFixture } from './support/fixtures';

jest.setTimeout(60_000);

const PASSWORD = 'first-admin-password-1';

describe('admin sessions', () => {
  let fixture: ControllerFixture;
  let base: string;
  const clock = testClock();
  beforeAll(async () => {
    fixture = await startController({
      adminPassword: PASSWORD,
      clock: clock.now,
      adminSessionIdleTimeoutSeconds: 600,
      adminSessionMaxAgeSeconds: 3600,
    });
    base = fixture.controller.adminUrl;
  });
  afterAll(() => fixture.cleanup());

  it('creates user admin from SIGIL_ADMIN_PASSWORD and logs it without the password', () => {
    expect(fixture.controller.adminPassword).toBe(PASSWORD);
    expect(fixture.controller.adminPasswordGenerated).toBe(false);
    const created = fixture.lines.find((l) => l.includes('"admin_user.created"'));
    expect(created).toBeDefined();
    expect(fixture.lines.join('\n')).not.toContain(PASSWORD);
  });

  it('signs in, sets a strict HttpOnly cookie, answers whoami, and signs out for good', async () => {
    const { session, csrf, response } = await signIn(base, 'admin', PASSWORD);
    expect(response.json).toEqual({
      user: 'admin',
      role: 'admin',
      csrf_token: csrf,
      idle_expires_at: new Date(clock.now().getTime() + 600_000).toISOString(),
      expires_at: new Date(clock.now().getTime() + 3_600_000).toISOString(),
    });
    const setCookie = response.headers['set-cookie']![0]!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).not.toMatch(/Secure/); // plain HTTP on loopback
    expect(session).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Stored hashed: the cookie value is nowhere in the store.
    const stored = await fixture.controller.store.adminAuth.touchSession(session, 0, 0);
    expect(stored).toBeUndefined();

    const whoami = await adminHttp(base, '/api/admin/session', { session });
    expect(whoami.status).toBe(200);
    expect(whoami.json).toMatchObject({
      user: 'admin',
      role: 'admin',
      via: 'session',
      csrf_token: csrf,
    });
    // The existing endpoints accept the session too.
    expect((await adminHttp(base, '/api/admin/connectors', { session })).status).toBe(200);

    // A state-changing request needs the CSRF token: missing or wrong, 403.
    const body = { kind: 'connector', id: 'c-csrf' };
    for (const bad of [undefined, `${csrf}x`]) {
      const refused = await adminHttp(base, '/api/admin/tokens', {
        method: 'POST',
        body,
        session,
        ...(bad === undefined ? {} : { csrf: bad }),
      });
      expect(refused.status).toBe(403);
      expect(refused.json.code).toBe('ERR_ADMIN_CSRF');
    }
    const created = await adminHttp(base, '/api/admin/tokens', {
      method: 'POST',
      body,
      session,
      csrf,
    });
    expect(created.status).toBe(201);
    // A bearer needs none.
    expect(
      (
        await adminHttp(base, '/api/admin/tokens', {
          method: 'POST',
          body: { kind: 'connector', id: 'c-b' },
          bearer: ADMIN_TOKEN,
        })
      ).status,
    ).toBe(201);

    expect(
      (await adminHttp(base, '/api/admin/session', { method: 'DELETE', session })).status,
    ).toBe(403);
    const out = await adminHttp(base, '/api/admin/session', { method: 'DELETE', session, csrf });
    expect(out.status).toBe(204);
    expect(sessionCookie(out)).toBe('');
    const after = await adminHttp(base, '/api/admin/session', { session });
    expect(after.status).toBe(401);
    expect(after.json.code).toBe('ERR_ADMIN_UNAUTHORIZED');
    expect((await adminHttp(base, '/api/admin/connectors', { session })).status).toBe(401);
  });

  it('authenticates a session on a path fastify cannot decode (the legacy 400 naming the segment)', async () => {
    const { session, csrf } = await signIn(base, 'admin', PASSWORD);
    const path = '/api/admin/connectors/%E0%A4%A/renew';
    const bad = await adminHttp(base, path, { method: 'POST', session, csrf });
    expect(bad.status).toBe(400);
    expect(bad.json.field).toBe('id');
    expect((await adminHttp(base, path, { method: 'POST', session })).json.code).toBe(
      'ERR_ADMIN_CSRF',
    );
  });

  it('answers 401 without credentials and reports the SIGIL_ADMIN_TOKEN bearer as before', async () => {
    expect((await adminHttp(base, '/api/admin/session')).status).toBe(401);
    const bearer = await adminHttp(base, '/api/admin/session', { bearer: ADMIN_TOKEN });
    expect(bearer.json).toEqual({ user: 'admin', role: 'admin', via: 'admin-token' });
  });

  it('ends a session unused for the idle timeout, and any session at its maximum age', async () => {
    const idle = await signIn(base, 'admin', PASSWORD);
    clock.advance(599_000);
    expect((await adminHttp(base, '/api/admin/session', { session: idle.session })).status).toBe(
      200,
    );
    clock.advance(599_000); // used 599 s ago: still on
    expect((await adminHttp(base, '/api/admin/session', { session: idle.session })).status).toBe(
      200,
    );
    clock.advance(601_000);
    expect((await adminHttp(base, '/api/admin/session', { session: idle.session })).status).toBe(
      401,
    );

    const busy = await signIn(base, 'admin', PASSWORD);
    for (let used = 0; used < 6; used += 1) {
      clock.advance(590_000);
      expect((await adminHttp(base, '/api/admin/session', { session: busy.session })).status).toBe(
        200,
      );
    }
    clock.advance(60_000); // 3600 s after sign-in, though used 60 s ago
    const ended = await adminHttp(base, '/api/admin/session', { session: busy.session });
    expect(ended.status).toBe(401);
    expect(sessionCookie(ended)).toBe('');
    // What the periodic sweep deletes: both sessions have expired.
    expect(
      await fixture.controller.store.adminAuth.deleteExpiredSessions(clock.now().getTime()),
    ).toBeGreaterThanOrEqual(2);
  });

  it('refuses a wrong password and an unknown user alike, then throttles the user name from any address', async () => {
    await fixture.controller.store.adminAuth.createUser({
      name: 'target',
      role: 'viewer',
      passwordHash: await hashPassword('target-password-1'),
      createdAt: 0,
      updatedAt: 0,
    });
    const attempt = (username: string, password: string, localAddress: string) =>
      adminHttp(base, '/api/admin/session', {
        method: 'POST',
        body: { username, password },
        localAddress,
      });
    const wrong = await attempt('target', 'nope', '127.0.0.2');
    const unknown = await attempt('nobody', 'nope', '127.0.0.3');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.json.detail ?? wrong.json.reason).toBe(unknown.json.detail ?? unknown.json.reason);
    expect(sessionCookie(wrong)).toBeUndefined();
    // 5 failures per minute per user name (default), each from its own address.
    for (let i = 3; i < 7; i += 1)
      expect((await attempt('target', 'nope', `127.0.0.${i + 1}`)).status).toBe(401);
    const throttled = await attempt('target', 'target-password-1', '127.0.0.20');
    expect(throttled.status).toBe(429);
    expect(throttled.json.code).toBe('ERR_RATE_LIMITED');
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
    clock.advance(60_000);
    expect((await attempt('target', 'target-password-1', '127.0.0.20')).status).toBe(200);
  });

  it('throttles one address whatever the user names it tries', async () => {
    const from = '127.0.0.30';
    for (let i = 0; i < 10; i += 1) {
      const res = await adminHttp(base, '/api/admin/session', {
        method: 'POST',
        body: { username: `u${i}`, password: 'nope' },
        localAddress: from,
      });
      expect(res.status).toBe(401);
    }
    const throttled = await adminHttp(base, '/api/admin/session', {
      method: 'POST',
      body: { username: 'admin', password: PASSWORD },
      localAddress: from,
    });
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBeDefined();
    // Another address still signs in.
    await signIn(base, 'admin', PASSWORD, { localAddress: '127.0.0.31' });
    clock.advance(60_000);
  });

  it('checks at most a few passwords at once: a flood of sign-ins gets 429, never a 500', async () => {
    const flood = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        adminHttp(base, '/api/admin/session', {
          method: 'POST',
          body: { username: `flood${i}`, password: 'nope' },
          localAddress: `127.0.1.${i + 1}`,
        }),
      ),
    );
    const statuses = flood.map((r) => r.status);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    const busy = flood.filter((r) => r.status === 429);
    expect(busy.length).toBeGreaterThan(0);
    expect(busy[0]!.headers['retry-after']).toBe('1');
  });

  it('refuses a malformed sign-in body with 400 naming the field', async () => {
    const res = await adminHttp(base, '/api/admin/session', {
      method: 'POST',
      body: { username: 'admin' },
    });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('ERR_REQUEST_INVALID');
    expect(res.text).toMatch(/password/);
  });

  it('sends the security headers on sign-in, refusals and the existing endpoints', async () => {
    const { session } = await signIn(base, 'admin', PASSWORD);
    for (const res of [
      await adminHttp(base, '/api/admin/session', {
        method: 'POST',
        body: { username: 'admin', password: PASSWORD },
      }),
      await adminHttp(base, '/api/admin/session'),
      await adminHttp(base, '/api/admin/connectors', { session }),
      await adminHttp(base, '/'),
    ]) {
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toMatch(/script-src 'self'/);
      expect(csp).toMatch(/frame-ancestors 'none'/);
      expect(csp).not.toMatch(/unsafe-inline/);
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('describes the session endpoints in the OpenAPI description', async () => {
    const doc = await adminHttp(base, '/api/admin/openapi.json');
    expect(Object.keys(doc.json.paths['/api/admin/session'])).toEqual(
      expect.arrayContaining(['post', 'get', 'delete']),
    );
  });
});

describe('the first admin user', () => {
  it('gets a generated password once, on the first start only', async () => {
    const first = await startController();
    try {
      expect(first.controller.adminPasswordGenerated).toBe(true);
      const password = first.controller.adminPassword!;
      expect(first.lines.join('\n')).not.toContain(password);
      await signIn(first.controller.adminUrl, 'admin', password);
      await first.controller.stop();
      const again = createController({
        dataDir: first.dataDir,
        trustDomain: 'test.sigil',
        controllerListenAddress: '127.0.0.1:0',
        adminListenAddress: '127.0.0.1:0',
        adminToken: ADMIN_TOKEN,
        adminPassword: 'another-password-1',
        logger: createMemoryLogger().logger,
      });
      await again.start();
      try {
        expect(again.adminPassword).toBeUndefined();
        await signIn(again.adminUrl, 'admin', password);
      } finally {
        await again.stop();
      }
    } finally {
      await first.cleanup();
    }
  });

  it('marks the cookie Secure over HTTPS', async () => {
    const tls = await startController({ adminTls: 'on', adminPassword: PASSWORD });
    try {
      expect(tls.controller.adminUrl).toMatch(/^https:/);
      const { response } = await signIn(tls.controller.adminUrl, 'admin', PASSWORD, {
        ca: tls.controller.bootstrapCaPem,
      });
      expect(response.headers['set-cookie']![0]).toMatch(/; Secure/);
    } finally {
      await tls.cleanup();
    }
  });
});
