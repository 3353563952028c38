import type { Browser, Page } from 'playwright-core';
import {
  adminRequest,
  type ControlPlaneFixture,
} from '../../control-plane/test/support/control-plane';
import { killAll, runAgent, spawnAgent } from '../../control-plane/test/support/processes';
import {
  agentRow,
  describeInChromium,
  goTo,
  labelledText,
  ADMIN,
  openConsole,
  startConsoleControlPlane,
  screenshot,
  sessionCookie,
  signIn,
  waitForStatus,
  withCookie,
} from './support/browser';

// The operator's main job in the console, end to end: a real controller, a real connector process
// enrolled with the token the console showed, and Chromium watching the live tables.
jest.setTimeout(120_000);

const CONNECTOR = 'console-connector-01';

describeInChromium('the admin console in Chromium: a connector from token to revocation', () => {
  let fx: ControlPlaneFixture;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    ({ fx, browser } = await startConsoleControlPlane());
    ({ page, errors } = await openConsole(browser, fx.controller.adminUrl));
  });
  afterAll(async () => {
    await browser?.close();
    await killAll();
    await fx?.cleanup();
  });

  it('signs in, creates a connector token, watches the enrolled connector go ONLINE and then REVOKED, and signs out', async () => {
    await page.getByLabel('Username').waitFor();
    await screenshot(page, 'sign-in');
    await signIn(page, ADMIN.name, ADMIN.password);
    const cookie = await sessionCookie(page.context());
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    // A reload would lose this mark: the tables must change in place.
    await page.evaluate(() => Object.assign(window, { sigilNoReload: true }));
    await screenshot(page, 'overview');

    // The token page shows the token once and the command that uses it.
    await goTo(page, 'Tokens');
    await page.getByRole('button', { name: 'Create connector token' }).click();
    await page.getByLabel('Connector ID', { exact: true }).fill(CONNECTOR);
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByLabel('Enrollment token', { exact: true }).waitFor();
    const token = await labelledText(page, 'Enrollment token');
    expect(token).toMatch(/^sigil_et_\S+$/);
    // The install one-liner names this controller's gRPC address; the bootstrap CA's path on the
    // agent host is the operator's to fill in.
    expect(await page.getByLabel('Controller address', { exact: true }).inputValue()).toBe(
      fx.controller.grpcAddress,
    );
    await page.getByLabel('Bootstrap CA path', { exact: true }).fill(fx.controller.bootstrapCaPath);
    const command = await labelledText(page, 'Install command');
    expect(command).toMatch(/ bash scripts\/setup\.sh$/);
    const settings = Object.fromEntries(
      command.split(' ').flatMap((word) => {
        const setting = /^([A-Z_]+)=(.+)$/.exec(word);
        return setting === null ? [] : [[setting[1]!, setting[2]!]];
      }),
    );
    expect(settings).toEqual({
      CONTROLLER_ADDR: fx.controller.grpcAddress,
      CONNECTOR_ID: CONNECTOR,
      ENROLLMENT_TOKEN: token,
      CONTROLLER_CA_PATH: fx.controller.bootstrapCaPath,
    });
    await screenshot(page, 'token');

    // The real connector process, enrolled with that token, then running.
    await goTo(page, 'Connectors');
    // The settings of the install command are what the real connector process enrolls with.
    const env = { ...fx.agentEnv('connector', CONNECTOR, token), ...settings };
    const enrolled = await runAgent('connector', ['enroll'], env);
    expect({ code: enrolled.code, stderr: enrolled.stderr }).toEqual({ code: 0, stderr: [] });
    const connector = spawnAgent('connector', ['run'], env);
    await waitForStatus(page, CONNECTOR, 'ONLINE');
    expect(await agentRow(page, CONNECTOR).count()).toBe(1);
    await screenshot(page, 'connectors');

    // Revoke, confirmed in the dialog: the row turns REVOKED and the process stops for good.
    await agentRow(page, CONNECTOR).getByRole('button', { name: 'Revoke' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    const reason = dialog.getByRole('textbox');
    if ((await reason.count()) > 0) await reason.first().fill('e2e: console revocation');
    await screenshot(page, 'revoke-dialog');
    await dialog.getByRole('button', { name: 'Revoke', exact: true }).click();
    await waitForStatus(page, CONNECTOR, 'REVOKED');
    expect(await connector.exited).toEqual({ code: 4, signal: null });
    expect(connector.stderr.join('\n')).toContain('ERR_AGENT_REVOKED');
    const listed = await adminRequest<{ id: string; status: string }[]>(fx, 'GET', 'connectors');
    expect(listed.body.find((c) => c.id === CONNECTOR)?.status).toBe('REVOKED');
    await screenshot(page, 'connectors-revoked');
    expect(await page.evaluate(() => 'sigilNoReload' in window)).toBe(true);

    // The other pages, for the record.
    for (const name of ['Tunnelers', 'Audit log', 'Certificate authority', 'Overview']) {
      await goTo(page, name);
      await screenshot(page, name.toLowerCase().replace(/ /g, '-'));
    }

    // Signing out ends the session on the server: the old cookie no longer works.
    const sessionUrl = `${fx.controller.adminUrl}/api/admin/session`;
    expect((await withCookie(sessionUrl, cookie)).status).toBe(200);
    const [signedOut] = await Promise.all([
      page.waitForResponse((r) => r.url() === sessionUrl && r.request().method() === 'DELETE'),
      page.getByRole('button', { name: 'Sign out' }).click(),
    ]);
    expect(signedOut.status()).toBe(204);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect((await withCookie(sessionUrl, cookie)).status).toBe(401);
    // Nothing broke on the way: no uncaught exception, nothing blocked by the CSP.
    expect(errors).toEqual([]);
    expect(
      (await withCookie(`${fx.controller.adminUrl}/api/admin/connectors`, cookie)).status,
    ).toBe(401);
  });
});
