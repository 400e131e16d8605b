/**
 * The web dashboard's download size and first load (docs/performance.md, "Dashboard").
 *
 *   node --import tsx bench/dashboard.ts [--runs 3]
 *
 * Bundles the pages as `opsdeck serve` does and prints each file's size plain, gzip and
 * brotli; then starts the real app on an in-memory PGlite database with one node's hour
 * of system metrics, and loads the dashboard in headless Chromium (CHROMIUM_PATH, default
 * /usr/bin/chromium) with an empty cache in a fresh browser context per run: bytes
 * transferred until the login form shows, first contentful paint, time to the login
 * form, and time from submitting the login to the overview with every figure loaded.
 */
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import puppeteer from 'puppeteer-core';
import { loadConfig } from '../src/config.ts';
import { memoryPGlite } from '../src/db/connect.ts';
import { createRuntime } from '../src/runtime.ts';
import { loadDashboard } from '../src/web/dashboard.ts';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;
const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

const t0 = performance.now();
const dashboard = await loadDashboard();
console.log(`bundled in ${Math.round(performance.now() - t0)} ms`);
for (const [name, a] of [['index.html', dashboard.page] as const, ...dashboard.assets]) console.log(`${name.padEnd(22)} ${kb(a.identity.length).padStart(10)} plain ${kb(a.gzip.length).padStart(10)} gzip ${kb(a.br.length).padStart(10)} br`);

const password = 'bench-dashboard-password-1';
const config = loadConfig({}, { logLevel: 'silent', selfMonitor: false, jobs: false, adminPassword: password, jwtSecret: 'bench-jwt-secret-0123456789abcdef0123456789', secretKey: 'bench-secret-key-0123456789abcdef0123456789' });
const rt = await createRuntime(config, { db: await memoryPGlite(), logger: pino({ level: 'silent' }) });
await rt.auth.seed();
await rt.app.listen({ port: 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${(rt.app.server.address() as AddressInfo).port}`;
const login = (await (await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) })).json()) as { accessToken: string };
const now = Date.now();
const data = Array.from({ length: 240 }, (_, i) => ({ nodeId: 'bench-1', timestamp: new Date(now - i * 15_000).toISOString(), cpuPercent: (i * 7) % 100, ramPercent: 40 }));
await fetch(`${base}/api/v1/metrics`, { method: 'POST', headers: { authorization: `Bearer ${login.accessToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'system', data }) });

const browser = await puppeteer.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
try {
  for (let run = 1; run <= runs; run++) {
    const ctx = await browser.createBrowserContext();
    const page = await ctx.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    const cdp = await page.createCDPSession();
    await cdp.send('Network.enable');
    let bytes = 0;
    cdp.on('Network.loadingFinished', (e) => (bytes += e.encodedDataLength));
    const start = performance.now();
    await page.goto(`${base}/`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('input[name=username]');
    const toLogin = performance.now() - start;
    const transferred = bytes;
    const fcp = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null);
    await page.type('input[name=username]', 'admin');
    await page.type('input[name=password]', password);
    const submitted = performance.now();
    await page.click('button[type=submit]');
    await page.waitForFunction(() => !!document.querySelector('.health-grid .cell') && !document.querySelector('.stats')?.textContent?.includes('…'));
    const toOverview = performance.now() - submitted;
    console.log(`run ${run}: ${kb(transferred)} transferred to the login form; first contentful paint ${Math.round(fcp ?? NaN)} ms; login form ${Math.round(toLogin)} ms; overview loaded ${Math.round(toOverview)} ms after logging in`);
    await ctx.close();
  }
} finally {
  await browser.close();
  await rt.close();
  await rt.db.close();
}
