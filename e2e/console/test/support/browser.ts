// The admin console in a real browser: Debian's headless Chromium (`/usr/bin/chromium`, installed
// by `bash scripts/ci-tools.sh`) driven by playwright-core, which never downloads a browser of its
// own. Pages are found by the console's accessible names (public interface, docs/console.md).
import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Cookie, Locator, Page } from 'playwright-core';
import type { ControllerOptions } from '@sigil/controller';
import {
  startControlPlane,
  type ControlPlaneFixture,
} from '../../../control-plane/test/support/control-plane';

export const CHROMIUM = '/usr/bin/chromium';

/** Where the suites keep a screenshot of each page they visit (gitignored, kept by CI as artefacts). */
export const ARTIFACTS = path.resolve(__dirname, '../../artifacts');

/** The console's session cookie (docs/console.md). */
export const SESSION_COOKIE = 'sigil_session';

/** How long the console may take to show a change pushed by the controller (server-sent events). */
export const LIVE_MS = 30_000;

/**
 * `describe` when Chromium is installed; otherwise `describe.skip` with a notice, except on CI
 * (`CI=true`), where a missing browser is a failing test rather than a silently skipped suite.
 */
export function describeInChromium(name: string, suite: () => void): void {
  if (existsSync(CHROMIUM)) {
    describe(name, suite);
    return;
  }
  if (process.env.CI === 'true') {
    test(`${CHROMIUM} is installed (bash scripts/ci-tools.sh installs Debian chromium)`, () => {
      expect(existsSync(CHROMIUM)).toBe(true);
    });
    return;
  }
  console.warn(`skipping "${name}": no ${CHROMIUM} (bash scripts/ci-tools.sh installs it)`);
  describe.skip(name, suite);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}

/** User `admin` and the password it gets at the controller's first start (SIGIL_ADMIN_PASSWORD). */
export const ADMIN = { name: 'admin', password: 'admin-password-0123456789' };

/**
 * A real controller whose user `admin` has {@link ADMIN}'s password, and Chromium to drive its
 * console; the suite closes both (`browser.close()`, `fx.cleanup()`).
 */
export async function startConsoleControlPlane(
  options: Partial<ControllerOptions> = {},
): Promise<{ fx: ControlPlaneFixture; browser: Browser }> {
  const fx = await startControlPlane({ adminPassword: ADMIN.password, ...options });
  return { fx, browser: await launchChromium() };
}

/** The console open in a browser tab, and what the tab reported as broken so far. */
export interface ConsoleTab {
  page: Page;
  /**
   * Uncaught exceptions and console errors (a script or style the Content-Security-Policy
   * blocked, say), except the browser's notes on API answers that are not 2xx: refusals are
   * part of the tests.
   */
  errors: string[];
}

/**
 * A fresh browser context (no cookies) at 1280x800 with the console open at `url`.
 * `ignoreHTTPSErrors`: accept the admin server's certificate (issued by the controller's own CA,
 * which this browser does not trust).
 */
export async function openConsole(
  browser: Browser,
  url: string,
  options: { ignoreHTTPSErrors?: boolean } = {},
): Promise<ConsoleTab> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    ignoreHTTPSErrors: options.ignoreHTTPSErrors ?? false,
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
      errors.push(`console: ${message.text()}`);
  });
  await page.goto(`${url}/`);
  return { page, errors };
}

/** Fills the sign-in form and submits it; resolves with the status of `POST /api/admin/session`. */
export async function submitSignIn(
  page: Page,
  username: string,
  password: string,
): Promise<number> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  const [response] = await Promise.all([
    page.waitForResponse(
      (r) => r.url().endsWith('/api/admin/session') && r.request().method() === 'POST',
    ),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  return response.status();
}

/** Signs in and waits for the console's navigation. */
export async function signIn(page: Page, username: string, password: string): Promise<void> {
  const status = await submitSignIn(page, username, password);
  if (status !== 200) throw new Error(`sign-in as ${username} answered ${status}`);
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Follows the navigation link `name` and waits for the page's heading of that name. */
export async function goTo(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation').getByRole('link', { name, exact: true }).click();
  await page.getByRole('heading', { name, exact: true }).first().waitFor();
}

/** The row of the agent table whose first cell is `id`. */
export function agentRow(page: Page, id: string): Locator {
  return page
    .getByRole('row')
    .filter({ has: page.locator('td:first-child, th:first-child').getByText(id, { exact: true }) });
}

/** Waits until the status cell of `id`'s row reads `status` (ONLINE, OFFLINE or REVOKED). */
export async function waitForStatus(page: Page, id: string, status: string): Promise<void> {
  await agentRow(page, id)
    .getByRole('cell', { name: status, exact: true })
    .waitFor({ timeout: LIVE_MS });
}

/** The text of the element labelled `label`: an input's value, or an element's text. */
export function labelledText(page: Page, label: string): Promise<string> {
  return page
    .getByLabel(label, { exact: true })
    .evaluate((el) =>
      el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement
        ? el.value
        : (el.textContent ?? ''),
    )
    .then((text) => text.trim());
}

/** Saves a 1280x800 screenshot of the page as artifacts/console-<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `console-${name}.png`) });
}

/** The session cookie the console's context holds, or fails naming the cookies it has. */
export async function sessionCookie(context: BrowserContext): Promise<Cookie> {
  const cookies = await context.cookies();
  const cookie = cookies.find((c) => c.name === SESSION_COOKIE);
  if (cookie === undefined)
    throw new Error(
      `no ${SESSION_COOKIE} cookie (cookies: ${cookies.map((c) => c.name).join(', ')})`,
    );
  return cookie;
}

/** `fetch` of the admin API from Node with only `cookie` as credentials. */
export function withCookie(
  url: string,
  cookie: Cookie,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<Response> {
  return fetch(url, {
    method: init.method ?? 'GET',
    headers: {
      cookie: `${cookie.name}=${cookie.value}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}
