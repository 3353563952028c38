import type { Browser, Page } from 'playwright-core';
import {
  adminRequest,
  type ControlPlaneFixture,
} from '../../control-plane/test/support/control-plane';
import {
  agentRow,
  describeInChromium,
  goTo,
  ADMIN,
  openConsole,
  startConsoleControlPlane,
  screenshot,
  sessionCookie,
  signIn,
  submitSignIn,
  waitForStatus,
  withCookie,
} from './support/browser';

// Who may do what in the console: refused and throttled sign-ins, CSRF on state-changing requests
// made with the session cookie, and the viewer role, each against a real controller in Chromium.
jest.setTimeout(90_000);

const VIEWER = { name: 'watcher', password: 'watcher-password-0123456789' };

/** `fetch` from inside the console's page (same origin, so the browser sends the session cookie). */
function fetchInPage(
  page: Page,
  route: string,
  init: { method: string; body?: unknown; csrf?: string },
): Promise<{ status: number; body: { code?: string } }> {
  return page.evaluate(
    async ({ route, init }) => {
      const response = await fetch(`/api/admin/${route}`, {
        method: init.method,
        headers: {
          'content-type': 'application/json',
          ...(init.csrf === undefined ? {} : { 'x-csrf-token': init.csrf }),
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
      const text = await response.text();
      return { status: response.status, body: text === '' ? {} : JSON.parse(text) };
    },
    { route, init },
  );
}

async function csrfToken(page: Page): Promise<string> {
  const session = await page.evaluate(async () => (await fetch('/api/admin/session')).json());
  expect(session).toMatchObject({ user: expect.any(String), via: 'session' });
  return (session as { csrf_token: string }).csrf_token;
}

describeInChromium('the admin console in Chromium: sign-in refusals', () => {
  let fx: ControlPlaneFixture;
  let browser: Browser;

  beforeAll(async () => {
    ({ fx, browser } = await startConsoleControlPlane());
  });
  afterAll(async () => {
    await browser?.close();
    await fx?.cleanup();
  });

  it('refuses a wrong password, then throttles the user and address even with the right one', async () => {
    const { page } = await openConsole(browser, fx.controller.adminUrl);
    expect(await submitSignIn(page, ADMIN.name, 'not-the-password')).toBe(401);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    await screenshot(page, 'sign-in-refused');

    const statuses = [401];
    while (statuses.at(-1) !== 429 && statuses.length < 30)
      statuses.push(await submitSignIn(page, ADMIN.name, `wrong-${statuses.length}`));
    expect(statuses.at(-1)).toBe(429);
    expect(new Set(statuses.slice(0, -1))).toEqual(new Set([401]));

    // Throttled means throttled: the right password is refused too, with a time to come back.
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/admin/session')),
      submitSignIn(page, ADMIN.name, ADMIN.password),
    ]);
    expect(response.status()).toBe(429);
    expect(Number(response.headers()['retry-after'])).toBeGreaterThan(0);
    expect(await response.json()).toMatchObject({ code: 'ERR_RATE_LIMITED' });
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    await page.context().close();
  });
});

describeInChromium('the admin console in Chromium: CSRF and roles', () => {
  let fx: ControlPlaneFixture;
  let browser: Browser;
  const CONNECTOR = 'viewer-sees-01';

  beforeAll(async () => {
    ({ fx, browser } = await startConsoleControlPlane());
    await fx.startConnector(await fx.enrollEnv('connector', CONNECTOR), true);
  });
  afterAll(async () => {
    await browser?.close();
    await fx?.cleanup();
  });

  it('refuses a state-changing request with the session cookie but without X-CSRF-Token', async () => {
    const { page } = await openConsole(browser, fx.controller.adminUrl);
    await signIn(page, ADMIN.name, ADMIN.password);
    const token = { kind: 'connector', id: 'csrf-probe-01' };

    const refused = await fetchInPage(page, 'tokens', { method: 'POST', body: token });
    expect(refused).toEqual({
      status: 403,
      body: expect.objectContaining({ code: 'ERR_ADMIN_CSRF' }),
    });
    const wrong = await fetchInPage(page, 'tokens', {
      method: 'POST',
      body: token,
      csrf: 'forged',
    });
    expect(wrong).toEqual({
      status: 403,
      body: expect.objectContaining({ code: 'ERR_ADMIN_CSRF' }),
    });
    // From outside the browser too, and for sign-out: the cookie alone changes nothing.
    const cookie = await sessionCookie(page.context());
    const signOut = await withCookie(`${fx.controller.adminUrl}/api/admin/session`, cookie, {
      method: 'DELETE',
    });
    expect(signOut.status).toBe(403);
    expect(
      await withCookie(`${fx.controller.adminUrl}/api/admin/session`, cookie).then((r) => r.status),
    ).toBe(200);
    const tokens = await adminRequest<{ id: string }[]>(fx, 'GET', 'tokens');
    expect(tokens.body.filter((t) => t.id === token.id)).toEqual([]);

    // The same request with the session's CSRF token goes through.
    const allowed = await fetchInPage(page, 'tokens', {
      method: 'POST',
      body: token,
      csrf: await csrfToken(page),
    });
    expect(allowed.status).toBe(201);
    await page.context().close();
  });

  it('lets a viewer see the connectors but not revoke one', async () => {
    const viewer = await adminRequest(fx, 'POST', 'users', { ...VIEWER, role: 'viewer' });
    expect(viewer).toEqual({ status: 201, body: { name: VIEWER.name, role: 'viewer' } });
    const { page } = await openConsole(browser, fx.controller.adminUrl);
    await signIn(page, VIEWER.name, VIEWER.password);
    await goTo(page, 'Connectors');
    await waitForStatus(page, CONNECTOR, 'ONLINE');
    await screenshot(page, 'connectors-viewer');

    // The console either offers no Revoke to a viewer, or shows the refusal.
    const revoke = agentRow(page, CONNECTOR).getByRole('button', { name: 'Revoke' });
    if ((await revoke.count()) > 0) {
      await revoke.click();
      const dialog = page.getByRole('dialog');
      const reason = dialog.getByRole('textbox');
      if ((await reason.count()) > 0) await reason.first().fill('e2e: a viewer tries');
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith(`/api/admin/connectors/${CONNECTOR}/revoke`)),
        dialog.getByRole('button', { name: 'Revoke', exact: true }).click(),
      ]);
      expect(response.status()).toBe(403);
      // The dialog shows the controller's refusal.
      await dialog.getByRole('alert').waitFor();
      expect((await dialog.getByRole('alert').textContent())?.trim()).not.toBe('');
      await screenshot(page, 'revoke-refused');
    }

    // The API refuses the viewer's session too, CSRF token or not.
    const refused = await fetchInPage(page, `connectors/${CONNECTOR}/revoke`, {
      method: 'POST',
      body: { reason: 'e2e: a viewer tries' },
      csrf: await csrfToken(page),
    });
    expect(refused).toEqual({
      status: 403,
      body: expect.objectContaining({ code: 'ERR_ADMIN_FORBIDDEN' }),
    });
    const listed = await adminRequest<{ id: string; status: string }[]>(fx, 'GET', 'connectors');
    expect(listed.body.find((c) => c.id === CONNECTOR)?.status).toBe('ONLINE');
    await waitForStatus(page, CONNECTOR, 'ONLINE');
    await page.context().close();
  });
});

describeInChromium('the admin console in Chromium over HTTPS (ADMIN_TLS=on)', () => {
  let fx: ControlPlaneFixture;
  let browser: Browser;

  beforeAll(async () => {
    ({ fx, browser } = await startConsoleControlPlane({ adminTls: 'on' }));
  });
  afterAll(async () => {
    await browser?.close();
    await fx?.cleanup();
  });

  it('signs in with a Secure cookie, under a CSP without inline scripts and with frames denied', async () => {
    expect(fx.controller.adminUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const { page, errors } = await openConsole(browser, fx.controller.adminUrl, {
      ignoreHTTPSErrors: true,
    });
    const headers = (await page.request.get(`${fx.controller.adminUrl}/`)).headers();
    const csp = headers['content-security-policy'] ?? '';
    const scripts =
      /(?:^|;)\s*script-src ([^;]*)/.exec(csp)?.[1] ?? /default-src ([^;]*)/.exec(csp)?.[1];
    expect(scripts).toBeDefined();
    expect(scripts).not.toContain("'unsafe-inline'");
    expect(`${headers['x-frame-options'] ?? ''} ${csp}`).toMatch(/DENY|frame-ancestors 'none'/i);

    await signIn(page, ADMIN.name, ADMIN.password);
    expect(await sessionCookie(page.context())).toMatchObject({
      secure: true,
      httpOnly: true,
      sameSite: 'Strict',
    });
    await goTo(page, 'Connectors');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
