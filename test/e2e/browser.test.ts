/**
 * A person browsing ocni in a real browser: headless Chromium (Debian's, via playwright-core) walks
 * the HTML pages of a real server — categories, a kind's collection, an entity with a hostile
 * title, its link's target — and triggers actions through the pages' forms. Screenshots of every
 * step go to `test-artifacts/screenshots/`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page, Response } from 'playwright-core';
import type { RunningServer } from '../../src/server.ts';
import { CONTENT_SECURITY_POLICY } from '../../src/render/html.ts';
import { call, dropDatabases, freshPrefix, startTestServer } from '../support/harness.ts';
import { chromiumMissing, cspViolations, launchChromium, screenshot, watch, type PageReport } from './browser.ts';

const INFRA = 'http://schemas.ogf.org/occi/infrastructure#';
const HOSTILE_TITLE = '<script>alert(1)</script>';

const prefix = freshPrefix('browser');
let server: RunningServer;
let base: string;
let browser: Browser | undefined;

beforeAll(async () => {
  server = await startTestServer({ prefix });
  base = server.url;
  const disk = await call(base, 'POST', '/storage/', { body: { kind: `${INFRA}storage`, id: 'disk1', title: 'Disk one', attributes: { 'occi.storage.size': 10 } } });
  expect(disk.status, disk.text).toBe(201);
  const vm = await call(base, 'POST', '/compute/', {
    body: {
      kind: `${INFRA}compute`,
      id: 'vm1',
      title: HOSTILE_TITLE,
      summary: `"><img src=x onerror=alert(2)> & 'quotes'`,
      links: [{ kind: `${INFRA}storagelink`, id: 'sl1', target: { location: '/storage/disk1', kind: `${INFRA}storage` }, attributes: { 'occi.storagelink.deviceid': 'ide:0:1' } }],
    },
  });
  expect(vm.status, vm.text).toBe(201);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await dropDatabases(prefix);
});

/** Checks a page response: 200, HTML, and the strict policy with its companion headers. */
function expectHtmlPage(response: Response | null): void {
  expect(response, 'the navigation has a response').not.toBeNull();
  expect(response!.status()).toBe(200);
  const headers = response!.headers();
  expect(headers['content-type']).toMatch(/^text\/html/);
  expect(headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['referrer-policy']).toBe('no-referrer');
}

/** Clicks a link and waits for the page it leads to. */
async function follow(page: Page, selector: string): Promise<Response | null> {
  const link = page.locator(selector).first();
  await expect.poll(() => link.count(), { message: `a link ${selector} on ${page.url()}` }).toBeGreaterThan(0);
  const [response] = await Promise.all([page.waitForEvent('response', (r) => r.request().isNavigationRequest() && r.request().method() === 'GET'), link.click()]);
  await page.waitForLoadState('load');
  return response;
}

/** The displayed value of an attribute in the entity page's attribute table. */
function attributeCell(page: Page, name: string) {
  return page
    .locator('tr', { has: page.locator(`td:first-child code:text-is("${name}")`) })
    .locator('td')
    .nth(1);
}

describe('browsing ocni in Chromium', () => {
  it(`finds Debian's Chromium at /usr/bin/chromium`, () => {
    expect(chromiumMissing(), chromiumMissing()).toBeUndefined();
  });

  it('walks categories → collection → entity → link target, and acts through forms', { timeout: 120_000 }, async () => {
    browser = await launchChromium();
    const page = await browser.newPage();
    const report: PageReport = watch(page);

    // 1. The category page: the compute kind, with a link to its collection.
    const categories = await page.goto(`${base}/-/`);
    expectHtmlPage(categories);
    await expect.poll(() => page.title()).toContain('Categories');
    const computeKind = page.locator(`[id="c-${encodeURIComponent(`${INFRA}compute`)}"]`);
    expect(await computeKind.locator('h3').innerText()).toContain('Compute Resource');
    expect(await computeKind.locator('a[href="/compute/"]').count()).toBe(1);
    await screenshot(page, '01-categories-top', { fullPage: false });
    await screenshot(computeKind, '01-categories-compute');

    // 2. The compute collection lists vm1 (its hostile title as text).
    expectHtmlPage(await follow(page, 'a[href="/compute/"]'));
    expect(new URL(page.url()).pathname).toBe('/compute/');
    expect(await page.locator('table').innerText()).toContain(HOSTILE_TITLE);
    await screenshot(page, '02-compute-collection');

    // 3. The entity: the title is shown as text, nothing ran, the storage link is listed.
    expectHtmlPage(await follow(page, `a[href="${base}/compute/vm1"]`));
    expect(new URL(page.url()).pathname).toBe('/compute/vm1');
    expect(await page.locator('h1').innerText()).toContain(HOSTILE_TITLE);
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('body').innerText()).toContain(`"><img src=x onerror=alert(2)> & 'quotes'`);
    expect(await attributeCell(page, 'occi.compute.state').innerText()).toBe('inactive');
    await screenshot(page, '03-entity-inactive');

    // 4. Follow the link to its target, the storage, and come back.
    expectHtmlPage(await follow(page, `a[href="${base}/storage/disk1"]`));
    expect(new URL(page.url()).pathname).toBe('/storage/disk1');
    expect(await page.locator('h1').innerText()).toContain('Disk one');
    await screenshot(page, '04-storage');
    await page.goBack();
    expect(new URL(page.url()).pathname).toBe('/compute/vm1');

    // 5. Start it with the form: POST answered 303, then the entity page shows it active with a stop form.
    const start = page.locator('form[action="/compute/vm1?action=start"]');
    expect(await start.getAttribute('method')).toBe('post');
    const [posted] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), start.locator('button[type="submit"]').click()]);
    expect(posted.status()).toBe(303);
    await page.waitForURL(`${base}/compute/vm1`);
    await page.waitForLoadState('load');
    expect(await attributeCell(page, 'occi.compute.state').innerText()).toBe('active');
    const stop = page.locator('form[action="/compute/vm1?action=stop"]');
    expect(await stop.count()).toBe(1);
    expect(await stop.locator('select[name="method"]').inputValue()).toBe('poweroff');
    expect(await page.locator('form[action="/compute/vm1?action=start"]').count()).toBe(0);
    await screenshot(page, '05-entity-active');

    // 6. Stop it, choosing a parameter value: the form's fields are the action's parameters.
    await stop.locator('select[name="method"]').selectOption('graceful');
    const [stopped] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), stop.locator('button[type="submit"]').click()]);
    expect(stopped.status()).toBe(303);
    expect(stopped.request().postData()).toBe('method=graceful');
    await page.waitForURL(`${base}/compute/vm1`);
    await page.waitForLoadState('load');
    expect(await attributeCell(page, 'occi.compute.state').innerText()).toBe('inactive');
    await screenshot(page, '06-entity-stopped');

    // 7. Paging: everything below / one per page, with a next-page link that works.
    expectHtmlPage(await page.goto(`${base}/?number=1`));
    const firstPage = await page.locator('tbody').innerText();
    expectHtmlPage(await follow(page, 'a[rel="next"]'));
    expect(new URL(page.url()).searchParams.get('page')).toBe('2');
    expect(await page.locator('tbody tr').count()).toBe(1);
    expect(await page.locator('tbody').innerText()).not.toBe(firstPage);
    await screenshot(page, '07-next-page');

    // 8. A missing entity: the problem page, in HTML, under the same policy.
    const missing = await page.goto(`${base}/compute/missing`);
    expect(missing!.status()).toBe(404);
    expect(missing!.headers()['content-type']).toMatch(/^text\/html/);
    expect(missing!.headers()['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(await page.locator('h1').innerText()).toMatch(/^404 /);
    await screenshot(page, '08-problem');

    // Nothing was injected and the policy blocked nothing the pages need.
    expect(report.dialogs).toEqual([]);
    expect(report.errors).toEqual([]);
    expect(cspViolations(report)).toEqual([]);
    // The one error Chromium logs is the deliberate 404 of step 8.
    expect(report.console.filter((m) => m.type === 'error' && !/status of 404/.test(m.text))).toEqual([]);
  });
});
