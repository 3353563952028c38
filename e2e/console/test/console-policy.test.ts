import type { Browser, Page } from 'playwright-core';
import {
  adminRequest,
  type ControlPlaneFixture,
} from '../../control-plane/test/support/control-plane';
import {
  describeInChromium,
  goTo,
  ADMIN,
  openConsole,
  startConsoleControlPlane,
  screenshot,
  signIn,
} from './support/browser';

// The configuration pages in a real browser: registration entries (issue: the Workload API) and
// data-plane resources and grants, created and deleted through the console's forms, checked
// against what the admin API then holds.
jest.setTimeout(120_000);

const ENTRY = {
  spiffeId: 'spiffe://e2e.sigil/workload/billing',
  parentId: 'spiffe://e2e.sigil/connector/edge-entries',
};

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The table row holding `text` in one of its cells. */
const rowWith = (page: Page, text: string) =>
  page.getByRole('row').filter({ has: page.getByRole('cell', { name: text, exact: true }) });

/** Clicks the row's Delete and confirms in the dialog. */
async function deleteRow(page: Page, text: string): Promise<void> {
  await rowWith(page, text).getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await rowWith(page, text).waitFor({ state: 'detached' });
}

describeInChromium('the admin console in Chromium: entries, resources and grants', () => {
  let fx: ControlPlaneFixture;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    ({ fx, browser } = await startConsoleControlPlane());
    ({ page, errors } = await openConsole(browser, fx.controller.adminUrl));
    await signIn(page, ADMIN.name, ADMIN.password);
  });
  afterAll(async () => {
    await browser?.close();
    await fx?.cleanup();
  });

  it('creates and deletes a registration entry on the Entries page', async () => {
    await goTo(page, 'Entries');
    await page.getByLabel('SPIFFE ID', { exact: true }).fill(ENTRY.spiffeId);
    await page.getByLabel('Parent ID', { exact: true }).fill(ENTRY.parentId);
    await page
      .getByLabel('Selectors', { exact: true })
      .fill('unix:uid:1000\nunix:path:/usr/bin/node');
    await page.getByLabel('X.509 TTL (seconds)', { exact: true }).fill('600');
    await page.getByRole('button', { name: 'Create entry' }).click();
    await rowWith(page, ENTRY.spiffeId).waitFor();
    await screenshot(page, 'entries');

    const listed = (await adminRequest<Json[]>(fx, 'GET', 'entries')).body;
    expect(listed).toEqual([
      expect.objectContaining({
        spiffe_id: ENTRY.spiffeId,
        parent_id: ENTRY.parentId,
        selectors: expect.arrayContaining(['unix:uid:1000', 'unix:path:/usr/bin/node']),
        x509_ttl_seconds: 600,
      }),
    ]);

    // The API's refusal reaches the page: the same entry again is a duplicate.
    await page.getByLabel('SPIFFE ID', { exact: true }).fill(ENTRY.spiffeId);
    await page.getByLabel('Parent ID', { exact: true }).fill(ENTRY.parentId);
    await page
      .getByLabel('Selectors', { exact: true })
      .fill('unix:uid:1000\nunix:path:/usr/bin/node');
    await page.getByRole('button', { name: 'Create entry' }).click();
    await expect(
      page.getByRole('alert').filter({ hasText: /./ }).first().textContent(),
    ).resolves.toMatch(/exist|duplicate|same/i);

    await deleteRow(page, ENTRY.spiffeId);
    expect((await adminRequest<Json[]>(fx, 'GET', 'entries')).body).toEqual([]);
  });

  it('creates a resource and a grant on it, and deleting the resource takes its grant', async () => {
    await goTo(page, 'Resources');
    await page.getByLabel('Name', { exact: true }).fill('pg-main');
    await page.getByLabel('Address', { exact: true }).fill('127.0.0.1:5432');
    await page.getByLabel('Connector ID', { exact: true }).fill('edge-1');
    await page.getByRole('button', { name: 'Create resource' }).click();
    await rowWith(page, 'pg-main').waitFor();
    expect((await adminRequest<Json[]>(fx, 'GET', 'resources')).body).toEqual([
      expect.objectContaining({
        name: 'pg-main',
        address: '127.0.0.1:5432',
        connector_id: 'edge-1',
      }),
    ]);

    await goTo(page, 'Grants');
    await page.getByLabel('Resource', { exact: true }).selectOption('pg-main');
    await page.getByLabel('Tunneler ID', { exact: true }).fill('laptop-1');
    await page.getByRole('button', { name: 'Create grant' }).click();
    await rowWith(page, 'laptop-1').waitFor();
    await screenshot(page, 'grants');
    expect((await adminRequest<Json[]>(fx, 'GET', 'grants')).body).toEqual([
      expect.objectContaining({ resource: 'pg-main', tunneler_id: 'laptop-1' }),
    ]);

    await goTo(page, 'Resources');
    await deleteRow(page, 'pg-main');
    expect((await adminRequest<Json[]>(fx, 'GET', 'resources')).body).toEqual([]);
    expect((await adminRequest<Json[]>(fx, 'GET', 'grants')).body).toEqual([]);
    expect(errors).toEqual([]);
  });
});
