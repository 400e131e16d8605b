/**
 * The browser-test harness of the web dashboard: the real app listening on loopback on a
 * real database (the PostgreSQL server when TEST_BACKENDS has it, else the first backend
 * named), Debian's Chromium driven by puppeteer-core (headless), and the helpers every
 * dashboard test file uses. Each test file calls `useBrowserApp()` once at top level: it
 * registers the before/after hooks and returns the handle the tests read after `before`.
 *
 * Screenshots (1280×800 PNG): with UPDATE_SCREENSHOTS=1 written to docs/screenshots/
 * (referenced from the README), otherwise to a temporary folder, so a test run leaves the
 * working tree alone.
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { buildTestRuntime, TEST_ADMIN_PASSWORD, type TestRuntime } from './app.ts';
import { login } from './auth.ts';
import { enabledBackends } from './backends.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(process.cwd(), 'docs', 'screenshots') : mkdtempSync(join(tmpdir(), 'opsdeck-shots-'));
/** Bounds a wait in the browser: only against a hang, generous for a busy 2-core machine. */
export const WAIT = 60_000;

export interface Opened {
  page: Page;
  /** Console errors and CSP reports seen so far. */
  problems: string[];
}

export interface BrowserApp {
  rt: TestRuntime;
  /** http://127.0.0.1:port */
  base: string;
  browser: Browser;
  /** `Bearer …` of the first admin. */
  adminAuth: string;
  /** One API call with a bearer token; the parsed JSON answer. */
  apiCall(method: string, url: string, auth: string, body?: unknown): Promise<{ status: number; json: unknown }>;
  /** A new browser page (1280×800, the colour scheme given) at `path`, collecting console errors and page errors. */
  openPage(path: string, theme?: 'light' | 'dark'): Promise<Opened>;
}

/** Registers the hooks that start the app and the browser for this test file (and stop them). */
export function useBrowserApp(): BrowserApp {
  const h = {} as BrowserApp;
  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`the browser tests need Chromium at ${CHROMIUM}: apt-get install chromium fonts-dejavu-core (.ci/run does), or set CHROMIUM_PATH`);
    h.rt = await buildTestRuntime(enabledBackends().includes('postgres') ? 'postgres' : (enabledBackends()[0] ?? 'postgres'));
    await h.rt.app.listen({ port: 0, host: '127.0.0.1' });
    h.base = `http://127.0.0.1:${(h.rt.app.server.address() as AddressInfo).port}`;
    h.browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      // Chromium's sandbox cannot start as root (containers, CI); as any other user it stays on.
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-dev-shm-usage', '--font-render-hinting=none'],
    });
    h.adminAuth = (await login(h.rt, 'admin', TEST_ADMIN_PASSWORD)).authorization;
  });
  after(async () => {
    await h.browser?.close();
    await h.rt?.destroy();
  });
  h.apiCall = async (method, url, auth, body) => {
    const res = await fetch(`${h.base}${url}`, { method, headers: { authorization: auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  };
  h.openPage = async (path, theme = 'light') => {
    const page = await h.browser.newPage();
    page.setDefaultTimeout(WAIT);
    await page.setViewport({ width: 1280, height: 800 });
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: theme }]);
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 40[13]/.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(String(e)));
    await page.goto(`${h.base}${path}`, { waitUntil: 'domcontentloaded' });
    return { page, problems };
  };
  return h;
}

export async function logIn(page: Page, username: string, password: string): Promise<void> {
  await page.waitForSelector('input[name=username]');
  await page.type('input[name=username]', username);
  await page.type('input[name=password]', password);
  await page.click('button[type=submit]');
}

/** The page's main heading, once shown. */
export async function heading(page: Page): Promise<string> {
  await page.waitForSelector('main h1');
  return page.$eval('main h1', (h) => h.textContent ?? '');
}

/**
 * Asserts the page's main heading. A page may show a generic heading ("Probe") until its data
 * has arrived, so this waits up to WAIT for the expected text before it compares.
 */
export async function expectHeading(page: Page, expected: string): Promise<void> {
  await page.waitForFunction((t) => document.querySelector('main h1')?.textContent === t, { timeout: WAIT }, expected).catch(() => undefined);
  assert.equal(await heading(page), expected);
}

/**
 * At a phone's width (390 px unless given) the page does not scroll sideways: wide tables
 * scroll inside their box, charts redraw at the new width. A chart resizes on its
 * ResizeObserver in a later frame than the one that changed the window, so this waits up to
 * WAIT for the page to fit; when it never does, the failure names what reaches past the window.
 */
export async function fitsPhone(page: Page, width = 390, label = 'page'): Promise<void> {
  await page.setViewport({ width, height: 844 });
  await page.waitForFunction((w) => window.innerWidth === w, { timeout: WAIT }, width);
  const fits = await page
    .waitForFunction(() => document.documentElement.scrollWidth <= window.innerWidth, { timeout: WAIT })
    .then(() => true, () => false);
  if (fits) return;
  const found = await page.evaluate(() => {
    const past = (e: Element | null) => !!e && e.getBoundingClientRect().right > window.innerWidth + 0.5;
    const wide = [...document.querySelectorAll('body *')].filter((e) => past(e) && !past(e.parentElement));
    return {
      scroll: document.documentElement.scrollWidth,
      wide: wide.slice(0, 5).map((e) => `${e.tagName.toLowerCase()}${typeof e.className === 'string' && e.className ? `.${e.className.trim().replace(/\s+/g, '.')}` : ''} to ${Math.round(e.getBoundingClientRect().right)} px: ${(e.textContent ?? '').slice(0, 60)}`),
    };
  });
  assert.fail(`${label}: ${found.scroll} px wide in a ${width} px window; reaching past it: ${found.wide.join(' | ')}`);
}

/** Waits until the chart titled `title` is drawn with data; returns its number of points (all series). */
export async function chartPoints(page: Page, title: string): Promise<number> {
  const sel = `figure[data-chart="${title}"]`;
  await page.waitForFunction((s) => {
    const f = document.querySelector(s);
    return !!f && Number(f.getAttribute('data-points')) > 0 && !!f.querySelector('canvas');
  }, { timeout: WAIT }, sel);
  return page.$eval(sel, (f) => Number(f.getAttribute('data-points')));
}

/** A 1280×800 PNG of the page under `name` (see the file comment for where). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, type: 'png' });
  const png = readFileSync(path);
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
  // IHDR: width and height, big-endian, at bytes 16 and 20.
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [1280, 800]);
}
