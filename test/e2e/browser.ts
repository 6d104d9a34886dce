/**
 * Helpers for the real-browser tests: Debian's Chromium driven by playwright-core (never a
 * downloaded browser), screenshots into the git-ignored `test-artifacts/screenshots/`, and a record
 * of what the browser reported (console messages, dialogs, page errors).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

/** Where Debian's `chromium` package puts the browser; CI installs it. */
export const CHROMIUM = '/usr/bin/chromium';

/** The git-ignored folder screenshots go to. */
export const SCREENSHOTS = fileURLToPath(new URL('../../test-artifacts/screenshots/', import.meta.url));

/** Why the browser tests cannot run, or undefined when they can. */
export function chromiumMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  return `Chromium is not installed at ${CHROMIUM}: install Debian's "chromium" package (apt-get install chromium). The browser tests never download a browser and do not skip.`;
}

/**
 * Launches headless Chromium.
 *
 * @throws Error naming the missing browser, so the test fails rather than skips
 */
export async function launchChromium(): Promise<Browser> {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** What a page reported while the test drove it. */
export interface PageReport {
  console: { type: string; text: string }[];
  dialogs: string[];
  errors: string[];
}

/** Records console messages, dialogs (dismissed: an `alert` would mean injected script ran) and page errors. */
export function watch(page: Page): PageReport {
  const report: PageReport = { console: [], dialogs: [], errors: [] };
  page.on('console', (message) => report.console.push({ type: message.type(), text: message.text() }));
  page.on('dialog', (dialog) => {
    report.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('pageerror', (error) => report.errors.push(error.message));
  return report;
}

/** The console messages that are Content-Security-Policy violations. */
export function cspViolations(report: PageReport): string[] {
  return report.console.filter((m) => /content security policy|refused to/i.test(m.text)).map((m) => m.text);
}

/**
 * Saves a screenshot as `test-artifacts/screenshots/<step>.png`: the whole page (or its first screen
 * with `fullPage: false`), or only what a locator shows (why: the category page is many screens tall).
 */
export async function screenshot(page: Page | Locator, step: string, options: { fullPage?: boolean } = {}): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = `${SCREENSHOTS}${step}.png`;
  if ('goto' in page) await page.screenshot({ path, fullPage: options.fullPage ?? true });
  else await page.screenshot({ path });
  return path;
}
